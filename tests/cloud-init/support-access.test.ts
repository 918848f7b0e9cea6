import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { renderCloudConfig, type HostBootInput } from "../../cloud-init/index.js";
import { supportShellLauncher } from "../../cloud-init/support.js";
import { ConfigError } from "../../core/errors.js";
import { parseSupportAccess } from "../../core/host-config.js";
import { exportUserPublicKey, generateUserKeyPair, type UserPublicKey } from "../../core/zero-access/user-keys.js";
import { parseHostConfig } from "../../program/host-config.js";
import { supportSetScript } from "../../support/nft.js";
import { requireTool } from "../harness/tools.js";
import { cloudInitSchema, fileAt, INPUTS, parseCloudConfig, REGISTRATION, runTool, shellcheck, STAND_IN_BUNDLE, withScratch } from "./fixtures.js";

const STAND_IN_SUPPORT_BUNDLE = Buffer.from("#!/usr/bin/env node\n// stand-in support bundle\n");
const AGENT_URL = "https://api.example.com/v1/support/agent.js";
let keys: UserPublicKey[];

function input(overrides: Partial<HostBootInput> = {}): HostBootInput {
  return {
    ...INPUTS.digitalocean,
    clawchatBundle: { kind: "embedded", bundle: STAND_IN_BUNDLE },
    registration: REGISTRATION,
    supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", bundle: STAND_IN_SUPPORT_BUNDLE },
    ...overrides,
  };
}

beforeAll(async () => {
  keys = [await exportUserPublicKey(await generateUserKeyPair({ extractable: false }))];
});

describe("support access in user-data", () => {
  it("writes nothing of it without supportAccess (the example stacks' user-data is unchanged)", () => {
    const config = parseCloudConfig(renderCloudConfig({ ...input(), supportAccess: undefined }));
    expect(config.write_files.map((entry) => entry.path).filter((path) => /support|user-keys/.test(path))).toEqual([]);
    expect(config.runcmd).toEqual([["/usr/local/lib/clawstack/first-boot.sh"]]);
    expect(fileAt(config, "/etc/clawstack/nftables.conf").content).not.toMatch(/support_v4/);
  });

  it("writes the pinned keys, the agent, its settings and unit, the forced command, and runs setup before first boot", () => {
    const config = parseCloudConfig(renderCloudConfig(input()));
    expect(JSON.parse(fileAt(config, "/etc/clawstack/user-keys.json").content)).toEqual({ instanceId: REGISTRATION.instanceId, keys });
    expect(fileAt(config, "/etc/clawstack/user-keys.json").permissions).toBe("0644");
    expect(JSON.parse(fileAt(config, "/etc/clawstack/support/agent.json").content)).toEqual({
      apiUrl: "https://api.example.com/v1",
      pollSeconds: 30,
      supportUser: "clawsupport",
      sshManaged: true,
      clawchatSecurityDir: "/home/openclaw/clawchat/security",
      paths: { stateDir: "/var/lib/openclaw/support" },
    });
    expect(fileAt(config, "/usr/local/lib/clawstack/clawstack-support.js")).toMatchObject({ encoding: "gz+b64", permissions: "0755" });
    expect(fileAt(config, "/usr/local/lib/clawstack/support-shell").permissions).toBe("0755");
    const unit = fileAt(config, "/etc/systemd/system/clawstack-support.service").content;
    for (const property of ["NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_KILL CAP_CHOWN CAP_DAC_READ_SEARCH CAP_LINUX_IMMUTABLE", "--use-openssl-ca"]) {
      expect(unit).toContain(property);
    }
    expect(config.runcmd).toEqual([
      ["/usr/local/lib/clawstack/support.sh", "setup"],
      ["/usr/local/lib/clawstack/first-boot.sh"],
      ["/usr/local/lib/clawstack/support.sh", "start"],
    ]);
    const ruleset = fileAt(config, "/etc/clawstack/nftables.conf").content;
    expect(ruleset).toMatch(/set support_v4 \{\n\s+type ipv4_addr; flags interval, timeout;/);
    expect(ruleset).toContain("ip saddr @support_v4 tcp dport 22 accept");
    expect(ruleset).toContain("ip6 saddr @support_v6 tcp dport 22 accept");
  });

  it("fetch delivery: the agent's URL and pinned SHA-256 and the fetch script, not the bundle; first boot goes through the script", () => {
    const text = renderCloudConfig(input({ supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", bundle: STAND_IN_SUPPORT_BUNDLE, delivery: { kind: "fetch", url: AGENT_URL } } }));
    const config = parseCloudConfig(text);
    const paths = config.write_files.map((entry) => entry.path);
    expect(paths).not.toContain("/usr/local/lib/clawstack/clawstack-support.js");
    expect(text).not.toContain(gzipSync(STAND_IN_SUPPORT_BUNDLE, { level: 9 }).toString("base64"));
    const sha256 = createHash("sha256").update(STAND_IN_SUPPORT_BUNDLE).digest("hex");
    expect(fileAt(config, "/etc/clawstack/support/agent-source.conf").content).toBe(
      `# Rendered by ClawStack: where the support agent is fetched at first boot, and the SHA-256 it must have.\nSUPPORT_AGENT_URL='${AGENT_URL}'\nSUPPORT_AGENT_SHA256='${sha256}'\n`,
    );
    expect(fileAt(config, "/usr/local/lib/clawstack/support-agent-fetch.sh").permissions).toBe("0755");
    // The rest of support access is as with the embedded agent: keys, settings, unit, launcher, firewall sets.
    for (const path of ["/etc/clawstack/user-keys.json", "/etc/clawstack/support/agent.json", "/usr/local/lib/clawstack/support-shell", "/usr/local/lib/clawstack/support.sh", "/etc/systemd/system/clawstack-support.service"]) {
      expect(paths).toContain(path);
    }
    expect(config.runcmd).toEqual([
      ["/usr/local/lib/clawstack/support-agent-fetch.sh", "setup"],
      ["/usr/local/lib/clawstack/first-boot.sh"],
      ["/usr/local/lib/clawstack/support-agent-fetch.sh", "start"],
    ]);
  });

  it("refuses a fetch URL that is not https:// or not shell-safe, naming the field", () => {
    for (const url of ["http://api.example.com/v1/support/agent.js", "https://api.example.com/a b", "https://api.example.com/x'; id #"]) {
      expect(() => renderCloudConfig(input({ supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", bundle: STAND_IN_SUPPORT_BUNDLE, delivery: { kind: "fetch", url } } }))).toThrow(
        /`supportAccess.delivery.url` must be an https:\/\/ URL/,
      );
    }
    const bad = (agent: unknown) => () => parseSupportAccess("supportAccess", { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", agent });
    expect(bad({ install: "sideload" })).toThrow(/`supportAccess.agent.install` must be one of auto, embedded, fetch/);
    expect(bad({ install: "fetch", bundleUrl: "http://mirror.example.com/a.js" })).toThrow(/`supportAccess.agent.bundleUrl` must be an https:\/\/ URL/);
    expect(bad({ install: "fetch", url: "https://mirror.example.com/a.js" })).toThrow(/`supportAccess.agent.url` is not a known key/);
    expect(parseSupportAccess("supportAccess", { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", agent: { install: "fetch", bundleUrl: "https://mirror.example.com/a.js" } })?.agent).toEqual({
      install: "fetch",
      bundleUrl: "https://mirror.example.com/a.js",
    });
  });

  it("keeps sshd to the owner's terms when the stack opens SSH itself (sshManaged false)", () => {
    const config = parseCloudConfig(renderCloudConfig(input({ ssh: { cidrs: ["198.51.100.7/32"] } })));
    expect(JSON.parse(fileAt(config, "/etc/clawstack/support/agent.json").content).sshManaged).toBe(false);
  });

  it("refuses support access without registration, and a bad key or URL naming the field", () => {
    expect(() => renderCloudConfig(input({ registration: undefined }))).toThrow(/`supportAccess` needs `registration`/);
    const bad = (supportAccess: unknown) => () => parseSupportAccess("supportAccess", supportAccess);
    expect(bad({ pinnedKeys: [], apiUrl: "https://api.example.com/v1" })).toThrow(/`supportAccess.pinnedKeys` must list 1 to 16/);
    expect(bad({ pinnedKeys: [{ ...keys[0], sealing: "AAAA" }], apiUrl: "https://api.example.com/v1" })).toThrow(/`supportAccess.pinnedKeys\[0\].sealing` must be the base64 SPKI DER of a P-256/);
    expect(bad({ pinnedKeys: [{ ...keys[0], extra: 1 }], apiUrl: "https://api.example.com/v1" })).toThrow(/`supportAccess.pinnedKeys\[0\].extra` is not a known key/);
    expect(bad({ pinnedKeys: keys, apiUrl: "http://api.example.com/v1" })).toThrow(/`supportAccess.apiUrl` must be the API's https:\/\/ URL/);
    expect(bad({ pinnedKeys: keys, apiUrl: "https://api.example.com/v1'; id #" })).toThrow(ConfigError);
    expect(bad({ pinnedKeys: [keys[0], keys[0]], apiUrl: "https://api.example.com/v1" })).toThrow(/twice/);
  });

  it("is a key of the host config, parsed once and parsed again to the same value", () => {
    const raw = { cloud: "digitalocean", region: "fra1", gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "2026.1.29", node: "24.15.0" } };
    const parsed = parseHostConfig({ ...raw, supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1" } });
    expect(parsed.supportAccess).toEqual({ pinnedKeys: keys, apiUrl: "https://api.example.com/v1" });
    expect(parseHostConfig(parsed as unknown as Record<string, unknown>)).toEqual(parsed);
    expect(parseHostConfig(raw).supportAccess).toBeUndefined();
    expect(() => parseHostConfig({ ...raw, supportAccess: { pinnedKeys: keys } })).toThrow(/`supportAccess.apiUrl`/);
  });

  it.skipIf(!requireTool("cloud-init", "validating user-data with support access"))("passes `cloud-init schema`, with the agent embedded and fetched", () => {
    const result = cloudInitSchema(renderCloudConfig(input()));
    expect(result.valid, result.output).toBe(true);
    const fetched = cloudInitSchema(renderCloudConfig(input({ ...INPUTS.aws, registration: REGISTRATION, supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", bundle: STAND_IN_SUPPORT_BUNDLE, delivery: { kind: "fetch", url: AGENT_URL } } })));
    expect(fetched.valid, fetched.output).toBe(true);
  });

  it.skipIf(!requireTool("shellcheck", "checking support.sh and the forced-command launcher"))("support.sh, support-agent-fetch.sh and the forced-command launcher pass shellcheck", () => {
    const config = parseCloudConfig(renderCloudConfig(input({ supportAccess: { pinnedKeys: keys, apiUrl: "https://api.example.com/v1", bundle: STAND_IN_SUPPORT_BUNDLE, delivery: { kind: "fetch", url: AGENT_URL } } })));
    for (const path of ["/usr/local/lib/clawstack/support.sh", "/usr/local/lib/clawstack/support-agent-fetch.sh", "/usr/local/lib/clawstack/support-shell", "/usr/local/lib/clawstack/register.sh"]) {
      const result = shellcheck(fileAt(config, path).content);
      expect(result.output, path).toBe("");
      expect(result.status, path).toBe(0);
    }
  });

  it("the launcher hands the wrapper no environment but SSH_ORIGINAL_COMMAND (only when set) and SSH_USER_AUTH", () => {
    withScratch({ "print.js": "console.log(JSON.stringify({ argv: process.argv.slice(2), env: process.env }))\n" }, (dir) => {
      const launcher = join(dir, "launcher.sh");
      writeFileSync(launcher, supportShellLauncher({ node: process.execPath, bundle: join(dir, "print.js"), config: "/etc/x.json" }), { mode: 0o755 });
      const run = (env: Record<string, string>) => JSON.parse(execFileSync(launcher, ["g1"], { env: { PATH: "/usr/bin:/bin", ...env }, encoding: "utf8" })) as { argv: string[]; env: Record<string, string> };
      const exec = run({ SSH_ORIGINAL_COMMAND: "uptime; id", NODE_OPTIONS: "--require /nonexistent", LD_LIBRARY_PATH: "/nonexistent", LC_ALL: "C", SSH_USER_AUTH: "/run/auth" });
      expect(exec.argv).toEqual(["shell", "--config", "/etc/x.json", "g1"]);
      expect(exec.env).toEqual({ SSH_ORIGINAL_COMMAND: "uptime; id", SSH_USER_AUTH: "/run/auth" });
      const interactive = run({ NODE_OPTIONS: "--require /nonexistent" });
      expect(interactive.env).toEqual({ SSH_USER_AUTH: "" });
      expect("SSH_ORIGINAL_COMMAND" in interactive.env).toBe(false);
    });
  });
});

describe.skipIf(!requireTool("nft", "checking the support sets with `nft -c`"))("the support sets in the rendered firewall", () => {
  it("load, and take the agent's element script (nft -c: nothing is applied)", () => {
    const config = parseCloudConfig(renderCloudConfig(input()));
    const ruleset = fileAt(config, "/etc/clawstack/nftables.conf").content;
    const now = Date.now();
    const grant = (sources: string[], minutes: number) => ({
      id: "g",
      grant: { sources, notAfter: new Date(now + minutes * 60_000).toISOString() } as never,
    });
    const script = supportSetScript([grant(["198.51.100.0/24", "2001:db8::/48"], 60), grant(["198.51.100.7/32", "203.0.113.9/32"], 120)], now);
    expect(script).toContain("add element inet clawstack support_v4 { 198.51.100.0/24 timeout 3600s, 203.0.113.9/32 timeout 7200s }");
    expect(script).toContain("add element inet clawstack support_v6 { 2001:db8::/48 timeout 3600s }");
    const result = withScratch({ "rules.nft": `${ruleset}${script}` }, (dir) => runTool("nft", ["-c", "-f", join(dir, "rules.nft")]));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
    const broken = withScratch({ "rules.nft": `${ruleset}add element inet clawstack support_v4 { 2001:db8::/48 timeout 1s }\n` }, (dir) =>
      runTool("nft", ["-c", "-f", join(dir, "rules.nft")]),
    );
    expect(broken.status).not.toBe(0);
  });
});
