import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireTool } from "../harness/tools.js";

/**
 * Boots the DigitalOcean host for real (boot/: QEMU under software emulation,
 * the real openclaw gateway from the npm registry through a mirror) and
 * requires every check of the summary to be true. Such a boot takes tens of
 * minutes under TCG, so it runs in its own CI step (`.ci/run`:
 * `CLAWSTACK_BOOT=1 npx vitest run tests/boot/boot.test.ts`), not in `npm test`.
 */
const BOOT_REQUESTED = process.env.CLAWSTACK_BOOT === "1";
if (!BOOT_REQUESTED) {
  console.warn("[skip] tests/boot/boot.test.ts: the VM boot runs in its own CI step; set CLAWSTACK_BOOT=1 to run it (about 30 minutes under TCG)");
}

describe.skipIf(!BOOT_REQUESTED)("a DigitalOcean host, booted under QEMU", () => {
  it("finishes first boot, serves only TLS on 3000, chats through the real gateway and keeps its state across a replacement", () => {
    if (!requireTool("qemu-system-x86_64", "booting the rendered host under QEMU")) return;
    if (!requireTool("debootstrap", "building the Debian 12 root disk")) return;
    if (!requireTool("genisoimage", "making the NoCloud seed disk")) return;
    const started = Date.now();
    const result = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "..", "..", "boot", "cli.ts"), "--cloud", "do", "--json"], {
      encoding: "utf8",
      timeout: 90 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    console.log(`[boot] DigitalOcean boot test wall time: ${Math.round((Date.now() - started) / 1000)} s`);
    if (result.stderr) console.log(result.stderr.split("\n").filter((line) => /^\[boot\] (ok|FAIL)/.test(line)).join("\n"));
    if (result.status === 2 || !result.stdout.trim().startsWith("{")) {
      throw new Error(`the boot did not produce a summary (exit ${result.status}): ${result.stderr.trim().split("\n").slice(-5).join(" | ")}`);
    }
    const summary = JSON.parse(result.stdout) as { ok: boolean; checks: Record<string, boolean> };
    const failed = Object.entries(summary.checks).filter(([, ok]) => !ok).map(([name]) => name);
    expect(failed).toEqual([]);
    expect(Object.keys(summary.checks).length).toBeGreaterThan(20);
    expect(summary.ok).toBe(true);
    expect(result.status).toBe(0);
  }, 95 * 60_000);
});
