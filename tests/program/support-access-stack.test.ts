/**
 * `supportAccess` through the real host program (stack config -> the one parser -> the components ->
 * cloud-init), read back from the instance's user-data under the synth's mocks, as the boot harness does.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderStackUserData } from "../../boot/user-data.js";
import { resolveHostArgs, type KnownHostArgs } from "../../components/host/args.js";
import { hostUserData } from "../../components/host/boot.js";
import { loadSupportBundle } from "../../cloud-init/index.js";
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

  it("on AWS (the embedded agent does not fit 16 KiB of user-data) fetches it at first boot: the fetch step and the pinned SHA-256, not the bundle", async () => {
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const bundle = loadSupportBundle();
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
    const rendered = hostUserData("aws", args, device, { source: "generate" }, { warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([]);
    expect(rendered.userData.bytes).toBeLessThanOrEqual(16384);
    const config = parse(rendered.cloudConfig) as { write_files: { path: string; content: string; encoding?: string }[]; runcmd: string[][] };
    const file = (path: string) => config.write_files.find((entry) => entry.path === path);
    // Not the bundle: no embedded agent, and none of its bytes (its gzip's base64 start) anywhere.
    expect(file("/usr/local/lib/clawstack/clawstack-support.js")).toBeUndefined();
    expect(rendered.cloudConfig).not.toContain(gzipSync(bundle, { level: 9 }).toString("base64").slice(0, 64));
    // The fetch step, the API's agent route and the pinned SHA-256 of exactly the bundle ClawStack builds.
    const sha256 = createHash("sha256").update(bundle).digest("hex");
    expect(file("/etc/clawstack/support/agent-source.conf")!.content).toContain(
      `SUPPORT_AGENT_URL='https://api.example.com/v1/support/agent.js'\nSUPPORT_AGENT_SHA256='${sha256}'\n`,
    );
    expect(file("/usr/local/lib/clawstack/support-agent-fetch.sh")).toBeDefined();
    expect(config.runcmd.slice(0, 3)).toEqual([
      ["/usr/local/lib/clawstack/support-agent-fetch.sh", "setup"],
      ["/usr/local/lib/clawstack/first-boot.sh"],
      ["/usr/local/lib/clawstack/support-agent-fetch.sh", "start"],
    ]);
    expect(JSON.parse(file("/etc/clawstack/user-keys.json")!.content)).toEqual({ instanceId: ID, keys: [key] });
    expect(file("/etc/clawstack/nftables.conf")!.content).toContain("ip saddr @support_v4 tcp dport 22 accept");

    // An explicit bundleUrl (a self-hosted mirror) overrides the API's route; `embedded` is refused naming the key.
    const mirrored = hostUserData("aws", { ...args, supportAccess: { ...args.supportAccess!, agent: { install: "auto", bundleUrl: "https://mirror.example.com/clawstack-support.js" } } }, device, { source: "generate" });
    expect(mirrored.cloudConfig).toContain("SUPPORT_AGENT_URL='https://mirror.example.com/clawstack-support.js'");
    expect(() => hostUserData("aws", { ...args, supportAccess: { ...args.supportAccess!, agent: { install: "embedded" } } }, device, { source: "generate" })).toThrow(
      /`supportAccess.agent.install` cannot be embedded on aws/,
    );
  }, 120_000);

  it("DigitalOcean and GCP still embed the agent under `auto`; `fetch` fetches it there too", async () => {
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const supportAccess = { pinnedKeys: [key], apiUrl: "https://api.example.com/v1" };
    const base = { name: "claw", gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "2026.1.29", node: "24.15.0" }, registration: REGISTRATION };
    for (const [cloud, region, device] of [
      ["digitalocean", "fra1", "/dev/disk/by-id/scsi-0DO_Volume_claw-state"],
      ["gcp", "europe-west1", "/dev/disk/by-id/google-claw-state"],
    ] as const) {
      const args = (agent?: { install: "auto" | "fetch" }) =>
        ({ ...resolveHostArgs({ ...base, region, supportAccess: { ...supportAccess, ...(agent ? { agent } : {}) } }), gatewayCidrs: ["203.0.113.0/24"], clawchatClientCidrs: [] }) as KnownHostArgs;
      const auto = hostUserData(cloud, args(), device, { source: "generate" });
      expect(auto.cloudConfig, cloud).toContain("path: /usr/local/lib/clawstack/clawstack-support.js");
      expect(auto.cloudConfig, cloud).not.toContain("support-agent-fetch.sh");
      expect(hostUserData(cloud, args({ install: "auto" }), device, { source: "generate" }).cloudConfig, cloud).toBe(auto.cloudConfig);
      const fetched = hostUserData(cloud, args({ install: "fetch" }), device, { source: "generate" });
      expect(fetched.cloudConfig, cloud).not.toContain("path: /usr/local/lib/clawstack/clawstack-support.js");
      expect(fetched.cloudConfig, cloud).toContain("SUPPORT_AGENT_URL='https://api.example.com/v1/support/agent.js'");
    }
  }, 120_000);
});
