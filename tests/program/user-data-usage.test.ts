import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { USER_DATA_HEADROOM_BYTES, USER_DATA_LIMITS } from "../../cloud-init/index.js";
import { synthStack } from "../../program/synth.js";
import { formatUserDataUsage, userDataUsage } from "../../program/user-data-usage.js";

const ROOT = join(__dirname, "../..");

describe("user-data size of each instance, against its cloud's limit", () => {
  it("measures each example host as its cloud does, and the DigitalOcean example keeps an eighth of the limit free", async () => {
    const expected = { "do-example": USER_DATA_LIMITS.digitalocean, "aws-example": USER_DATA_LIMITS.aws, "gcp-example": USER_DATA_LIMITS.gcp } as const;
    for (const [stack, limit] of Object.entries(expected)) {
      const usage = userDataUsage(await synthStack(stack));
      expect(usage, stack).toHaveLength(1);
      expect(usage[0]!.limit, stack).toBe(limit);
      expect(usage[0]!.bytes, stack).toBeGreaterThan(1000);
      expect(usage[0]!.bytes!, stack).toBeLessThanOrEqual(limit);
    }
    // Issue 14: the embedded bundle made it 64,891 of 65,536 bytes; now `auto` fetches it rather than leave < 8 KiB.
    const [droplet] = userDataUsage(await synthStack("do-example"));
    expect(USER_DATA_LIMITS.digitalocean - droplet!.bytes!).toBeGreaterThanOrEqual(USER_DATA_HEADROOM_BYTES.digitalocean);
    expect(formatUserDataUsage(droplet!)).toBe(`user data: ${droplet!.bytes} of 65536 bytes (openclaw-do)`);
  });

  it("says a secret user-data (carrying a registration token) is not measured, rather than measuring the placeholder", () => {
    const usage = userDataUsage({
      stack: "s",
      outputs: {},
      resources: [{ type: "digitalocean:index/droplet:Droplet", name: "d", parent: "", urn: "", inputs: { userData: "[secret]" } }],
    });
    expect(usage).toEqual([{ resource: "d", type: "digitalocean:index/droplet:Droplet", limit: 65536, bytes: undefined }]);
    expect(formatUserDataUsage(usage[0]!)).toMatch(/^user data: not measured, a secret/);
  });

  it("npm run synth prints it in text mode, never in --json (whose shape is fixed)", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "program/synth-cli.ts"), "--stack", "do-example", ...args], { cwd: ROOT, encoding: "utf8" });
    const text = run([]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^user data: \d+ of 65536 bytes \(openclaw-do\)$/m);
    expect(text.stdout).toMatch(/^preflight: 0 finding\(s\)/m);
    const json = run(["--json"]);
    expect(json.status).toBe(0);
    expect(json.stdout).not.toMatch(/user data:|preflight/);
    expect(Object.keys(JSON.parse(json.stdout) as object)).toEqual(["stack", "resources", "outputs"]);
  });
});
