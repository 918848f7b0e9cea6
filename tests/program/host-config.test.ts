import { describe, expect, it } from "vitest";
import { ConfigError } from "../../core/errors.js";
import { parseHostConfig } from "../../program/host-config.js";
import { selectStack } from "../../program/run-stack.js";
import { decodeConfigValue } from "../../program/pulumi-config.js";

const VALID: Record<string, unknown> = {
  cloud: "aws",
  region: "eu-west-1",
  gatewayCidrs: ["203.0.113.0/24"],
  versions: { openclaw: "2026.1.29", node: "24.15.0" },
};
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl owner@laptop";

/** Parses `VALID` with `change` applied and returns the ConfigError it must throw. */
function refusal(change: Record<string, unknown>): ConfigError {
  try {
    parseHostConfig({ ...VALID, ...change });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(change)}`);
}

describe("host config validation: every refusal names the key, what is allowed and what was given", () => {
  const cases: { name: string; change: Record<string, unknown>; key: string; message: RegExp }[] = [
    { name: "unknown cloud", change: { cloud: "azure" }, key: "cloud", message: /^`cloud` must be one of digitalocean, aws, gcp; got "azure"$/ },
    { name: "missing cloud", change: { cloud: undefined }, key: "cloud", message: /got nothing$/ },
    { name: "unknown region", change: { region: "mars-1" }, key: "region", message: /^`region` must be one of us-east-1, .*; got "mars-1"$/ },
    { name: "a region of another cloud", change: { region: "fra1" }, key: "region", message: /got "fra1"$/ },
    { name: "unknown size preset", change: { size: "xl" }, key: "size", message: /^`size` must be one of small, medium, large; got "xl"$/ },
    { name: "empty gateway CIDR list", change: { gatewayCidrs: [] }, key: "gatewayCidrs", message: /at least one CIDR block \(opening to everyone must be written out as 0\.0\.0\.0\/0 and ::\/0\); got \[\]$/ },
    { name: "missing gateway CIDRs", change: { gatewayCidrs: undefined }, key: "gatewayCidrs", message: /must be a list of CIDR blocks; got nothing$/ },
    { name: "a CIDR that is an empty string", change: { gatewayCidrs: [""] }, key: "gatewayCidrs[0]", message: /must be an IPv4 or IPv6 CIDR block .*; got ""$/ },
    { name: "a malformed CIDR (no prefix)", change: { gatewayCidrs: ["203.0.113.0"] }, key: "gatewayCidrs[0]", message: /\(address\/prefix\); got "203\.0\.113\.0"$/ },
    { name: "an IPv4 prefix over 32", change: { gatewayCidrs: ["203.0.113.0/33"] }, key: "gatewayCidrs[0]", message: /prefix length from 0 to 32; got "203\.0\.113\.0\/33"$/ },
    { name: "a CIDR with host bits set", change: { gatewayCidrs: ["10.0.0.1/8"] }, key: "gatewayCidrs[0]", message: /no host bits set for its \/8 prefix; got "10\.0\.0\.1\/8"$/ },
    { name: "an invalid IPv6 CIDR", change: { clawchatClientCidrs: ["2001:db8::g/32"] }, key: "clawchatClientCidrs[0]", message: /"2001:db8::g" is not a valid IPv4 or IPv6 address/ },
    { name: "an IPv6 CIDR with too many groups", change: { gatewayCidrs: ["2001:db8:1:2:3:4:5:6:7/64"] }, key: "gatewayCidrs[0]", message: /not a valid IPv4 or IPv6 address/ },
    { name: "an IPv6 prefix over 128", change: { gatewayCidrs: ["2001:db8::/129"] }, key: "gatewayCidrs[0]", message: /IPv6 prefix length from 0 to 128/ },
    { name: "an IPv6 CIDR with host bits", change: { gatewayCidrs: ["2001:db8::1/32"] }, key: "gatewayCidrs[0]", message: /no host bits set for its \/32 prefix/ },
    { name: "an SSH key of an unknown type", change: { sshAccess: { publicKey: "ssh-dss AAAAB3NzaC1kc3M= x", cidrs: ["192.0.2.0/24"] } }, key: "sshAccess.publicKey", message: /must be an OpenSSH public key line .*; got "ssh-dss/ },
    { name: "a truncated SSH key", change: { sshAccess: { publicKey: ED25519.replace("AAAAC3NzaC1lZDI1NTE5", "AAAAC3NzaC1lZDI1"), cidrs: ["192.0.2.0/24"] } }, key: "sshAccess.publicKey", message: /is malformed: its base64 blob does not encode a `ssh-ed25519` key/ },
    { name: "an SSH private key (not echoed)", change: { sshAccess: { publicKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", cidrs: ["192.0.2.0/24"] } }, key: "sshAccess.publicKey", message: /looks like a PRIVATE key \(not shown\)/ },
    { name: "SSH with no source CIDRs", change: { sshAccess: { publicKey: ED25519, cidrs: [] } }, key: "sshAccess.cidrs", message: /at least one CIDR block/ },
    { name: "an OpenClaw version range", change: { versions: { openclaw: "^2026.1.0", node: "24.15.0" } }, key: "versions.openclaw", message: /must be an exact pinned version .*; got "\^2026\.1\.0"$/ },
    { name: "an OpenClaw tag", change: { versions: { openclaw: "latest", node: "24.15.0" } }, key: "versions.openclaw", message: /got "latest"$/ },
    { name: "a Node.js wildcard", change: { versions: { openclaw: "2026.1.29", node: "24.x" } }, key: "versions.node", message: /got "24\.x"$/ },
    { name: "a Node.js major only", change: { versions: { openclaw: "2026.1.29", node: 24 } }, key: "versions.node", message: /got 24$/ },
    { name: "an unknown key (a typo)", change: { gatewayCidr: ["203.0.113.0/24"] }, key: "gatewayCidr", message: /is not a known key; allowed here: / },
    { name: "a state disk too small", change: { stateDiskGiB: 5 }, key: "stateDiskGiB", message: /whole number from 10 to 1024; got 5$/ },
    { name: "a zone of another region", change: { zone: "us-east-1a" }, key: "zone", message: /availability zone of eu-west-1 .*got "us-east-1a"$/ },
    { name: "a ManagedBy tag override", change: { tags: { ManagedBy: "me" } }, key: "tags.ManagedBy", message: /set by ClawStack itself/ },
    { name: "a short gateway token (not echoed)", change: { gatewayToken: "short-token" }, key: "gatewayToken", message: /not shown/ },
    { name: "a GCP key on AWS", change: { gcpProject: "my-project-1" }, key: "gcpProject", message: /applies to gcp only/ },
    { name: "an unknown ClawChat install mode", change: { clawchat: { install: "sideload" } }, key: "clawchat.install", message: /must be one of auto, embedded, fetch, none; got "sideload"$/ },
    { name: "a ClawChat bundle URL over http", change: { clawchat: { bundleUrl: "http://example.com/clawchat.js" } }, key: "clawchat.bundleUrl", message: /must be an https:\/\/ URL/ },
    { name: "a forced ClawChat server with no clients", change: { clawchat: { install: "embedded" } }, key: "clawchat.install", message: /no client may reach/ },
    { name: "ClawChat fetch without a URL", change: { clawchatClientCidrs: ["198.51.100.0/24"], clawchat: { install: "fetch" } }, key: "clawchat.bundleUrl", message: /required with `clawchat.install: fetch`/ },
    { name: "UDP opened with no ClawChat server", change: { clawchatClientCidrs: ["198.51.100.0/24"], clawchat: { install: "none" } }, key: "clawchatClientCidrs", message: /opens UDP 49152-65535 but `clawchat.install` is none/ },
    { name: "a snapshot hour no cloud accepts", change: { snapshots: { hourUtc: 3 } }, key: "snapshots.hourUtc", message: /must be one of 0, 4, 8, 12, 16, 20; got "3"$/ },
  ];
  for (const { name, change, key, message } of cases) {
    it(`refuses ${name}, naming \`${key}\``, () => {
      const error = refusal(change);
      expect(error.key).toBe(key);
      expect(error.message).toContain(`\`${key}\``);
      expect(error.message).toMatch(message);
    });
  }

  it("never echoes a secret it refuses", () => {
    const token = "s3cret token with spaces that is long enough to pass length";
    expect(refusal({ gatewayToken: token }).message).not.toContain("s3cret");
  });

  it("refuses a gateway token on DigitalOcean (the host generates it)", () => {
    const error = refusal({ cloud: "digitalocean", region: "fra1", gatewayToken: "x".repeat(40) });
    expect(error.key).toBe("gatewayToken");
    expect(error.message).toMatch(/cannot be used on digitalocean/);
  });

  it("accepts the minimal config and resolves the closed defaults", () => {
    const config = parseHostConfig(VALID);
    expect(config).toMatchObject({
      name: "openclaw",
      size: "small",
      zone: "eu-west-1a",
      clawchatClientCidrs: [],
      clawchat: { install: "auto" },
      sshAccess: null,
      stateDiskGiB: 20,
      gatewayToken: undefined,
      snapshots: { enabled: true, frequency: "daily", hourUtc: 4, retain: 7 },
    });
  });

  it("accepts 0.0.0.0/0 and ::/0 when written out", () => {
    expect(parseHostConfig({ ...VALID, gatewayCidrs: ["0.0.0.0/0", "::/0"] }).gatewayCidrs).toEqual(["0.0.0.0/0", "::/0"]);
  });

  it("refuses an unknown stack kind, naming `kind`", () => {
    expect(() => selectStack({ ...VALID, kind: "mainframe" })).toThrow(/^`kind` must be one of .*host.*; got "mainframe"$/);
  });
});

describe("decodeConfigValue (Pulumi passes every config value as a string)", () => {
  it("decodes JSON maps and lists, booleans and whole numbers, and keeps every other string", () => {
    expect(decodeConfigValue('["203.0.113.0/24"]')).toEqual(["203.0.113.0/24"]);
    expect(decodeConfigValue('{"openclaw":"2026.1.29","node":"24.15.0"}')).toEqual({ openclaw: "2026.1.29", node: "24.15.0" });
    expect(decodeConfigValue("20")).toBe(20);
    expect(decodeConfigValue("true")).toBe(true);
    expect(decodeConfigValue("fra1")).toBe("fra1");
    expect(decodeConfigValue("24.15.0")).toBe("24.15.0");
    expect(decodeConfigValue("1.0")).toBe("1.0");
    expect(decodeConfigValue("0123")).toBe("0123");
    expect(decodeConfigValue("[not json")).toBe("[not json");
  });
});
