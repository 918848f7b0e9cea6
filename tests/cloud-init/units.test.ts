import { describe, expect, it } from "vitest";
import { clawchatUnit, GATEWAY_COMPILE_CACHE, GATEWAY_START_LIMIT, gatewayUnit } from "../../cloud-init/units.js";

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

describe("the gateway unit's sandbox lets OpenClaw's state locks work (docs/cloud-init.md finding 7)", () => {
  const memory = { gatewayMemoryMaxMiB: 1024, gatewayHeapMiB: 700, clawchatMemoryMaxMiB: 128, clawchatHeapMiB: 64, swapMiB: 2048 };
  const gateway = sections(gatewayUnit(memory)).get("Service")!;
  const clawchat = sections(clawchatUnit(memory)).get("Service")!;

  it("does not set RestrictSUIDSGID, under which systemd answers every openat2() with ENOSYS", () => {
    expect(gateway.filter((line) => line.startsWith("RestrictSUIDSGID"))).toEqual([]);
    // What makes a set-user-ID bit harmless without it.
    expect(gateway).toEqual(expect.arrayContaining(["NoNewPrivileges=yes", "CapabilityBoundingSet=", "ProtectSystem=strict"]));
  });

  it("keeps it on the ClawChat server, whose Node fs never calls openat2", () => {
    expect(clawchat).toContain("RestrictSUIDSGID=yes");
  });

  it("keeps the compile cache in systemd's CacheDirectory, which outlives PrivateTmp, and restarts in-process", () => {
    expect(gateway).toEqual(expect.arrayContaining(["CacheDirectory=openclaw", `Environment=NODE_COMPILE_CACHE=${GATEWAY_COMPILE_CACHE}`, "Environment=OPENCLAW_NO_RESPAWN=1"]));
    expect(GATEWAY_COMPILE_CACHE.startsWith("/var/cache/openclaw/")).toBe(true);
  });
});
