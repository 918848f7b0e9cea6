/**
 * `supportAccess` through the real host program (stack config -> the one parser -> the components ->
 * cloud-init), read back from the instance's user-data under the synth's mocks, as the boot harness does.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderStackUserData } from "../../boot/user-data.js";
import { resolveHostArgs, type KnownHostArgs } from "../../components/host/args.js";
import { hostUserData } from "../../components/host/boot.js";
import { exportUserPublicKey, generateUserKeyPair } from "../../core/zero-access/user-keys.js";

const ID = "inst_0123456789abcdef0123456789abcdef";
const REGISTRATION = { apiUrl: `https://api.example.com/v1/instances/${ID}/register`, instanceId: ID, token: `csreg_${"Zz9_-y".repeat(7)}k` };
const BASE = { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "2026.1.29", node: "24.15.0" }, registration: REGISTRATION };

describe("a host stack with supportAccess", () => {
  it("carries the pinned keys, the agent and its setup in the droplet's user-data (DigitalOcean)", async () => {
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const text = await renderStackUserData("support-do", { ...BASE, cloud: "digitalocean", region: "fra1", supportAccess: { pinnedKeys: [key], apiUrl: "https://api.example.com/v1" } });
    const config = parse(text) as { write_files: { path: string; content: string }[]; runcmd: string[][] };
    const file = (path: string) => config.write_files.find((entry) => entry.path === path);
    expect(JSON.parse(file("/etc/clawstack/user-keys.json")!.content)).toEqual({ instanceId: ID, keys: [key] });
    expect(file("/usr/local/lib/clawstack/clawstack-support.js")).toBeDefined();
    expect(config.runcmd[0]).toEqual(["/usr/local/lib/clawstack/support.sh", "setup"]);
    expect(file("/etc/clawstack/nftables.conf")!.content).toContain("ip saddr @support_v4 tcp dport 22 accept");
  }, 120_000);

  it("on AWS (the embedded agent does not fit 16 KiB of user-data) is left out with a warning, never a silent half", async () => {
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const resolved = resolveHostArgs({
      name: "claw",
      region: "eu-west-1",
      gatewayCidrs: ["203.0.113.0/24"],
      versions: { openclaw: "2026.1.29", node: "24.15.0" },
      registration: REGISTRATION,
      supportAccess: { pinnedKeys: [key], apiUrl: "https://api.example.com/v1" },
    });
    const args = { ...resolved, gatewayCidrs: ["203.0.113.0/24"], clawchatClientCidrs: [] } as KnownHostArgs;
    const device = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0";
    const warnings: string[] = [];
    const withSupport = hostUserData("aws", args, device, { source: "generate" }, { warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([expect.stringMatching(/^no support agent on aws host claw: .*16384 bytes/)]);
    expect(withSupport.cloudConfig).not.toMatch(/user-keys\.json|clawstack-support|support_v4/);
    expect(withSupport.userData.bytes).toBeLessThanOrEqual(16384);
    // Exactly the host without support access.
    expect(withSupport.cloudConfig).toBe(hostUserData("aws", { ...args, supportAccess: undefined }, device, { source: "generate" }).cloudConfig);
  });
});
