import { describe, expect, it } from "vitest";
import { GATEWAY_START_LIMIT, gatewayUnit } from "../../cloud-init/units.js";

/** The sections of a unit file: `[Name]` headers and their `Key=value` lines. */
function sections(text: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current = "";
  for (const line of text.split("\n")) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) result.set((current = header[1]!), []);
    else if (line.trim() !== "") result.get(current)!.push(line);
  }
  return result;
}

describe("the gateway unit's restart policy", () => {
  const unit = sections(gatewayUnit({ gatewayMemoryMaxMiB: 1024, gatewayHeapMiB: 700, clawchatMemoryMaxMiB: 128, clawchatHeapMiB: 64, swapMiB: 2048 }));

  it("retries every exit, 78 included (a slow start times out the gateway's state lease and exits 78)", () => {
    expect(unit.get("Service")).toContain("Restart=always");
    expect(unit.get("Service")).toContain(`RestartSec=${GATEWAY_START_LIMIT.restartSec}`);
    expect(unit.get("Service")!.filter((line) => line.startsWith("RestartPreventExitStatus="))).toEqual([]);
  });

  it("gives up on a config the gateway keeps refusing: a start limit in [Unit], where systemd reads it", () => {
    expect(unit.get("Unit")).toEqual(expect.arrayContaining([`StartLimitIntervalSec=${GATEWAY_START_LIMIT.intervalSec}`, `StartLimitBurst=${GATEWAY_START_LIMIT.burst}`]));
    expect(unit.get("Service")!.filter((line) => line.startsWith("StartLimit"))).toEqual([]);
    // The limit must let a slow start through: several retries fit in the window.
    expect(GATEWAY_START_LIMIT.burst * GATEWAY_START_LIMIT.restartSec).toBeLessThan(GATEWAY_START_LIMIT.intervalSec);
  });
});
