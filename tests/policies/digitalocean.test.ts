/** DigitalOcean rules: one compliant fixture each, then one failing case per broken property. */
import { describe, expect, it } from "vitest";
import { UNKNOWN, messages, violations, withPath, type Planned } from "./support";

const GATEWAY = { gatewayCidrs: ["203.0.113.0/24"] };
const SSH_ACCESS = { sshAccess: { publicKey: "ssh-ed25519 AAAA test", cidrs: ["198.51.100.0/24"] } };

const DROPLET: Planned = {
  type: "digitalocean:index/droplet:Droplet",
  name: "openclaw-droplet",
  inputs: { image: "ubuntu-24-04-x64", region: "fra1", size: "s-1vcpu-2gb", backups: true, tags: ["ManagedBy:claw-cloud", "clawstack-snapshots"] },
};
const VOLUME: Planned = { type: "digitalocean:index/volume:Volume", name: "openclaw-state", inputs: { region: "fra1", size: 20, tags: ["ManagedBy:claw-cloud"] } };

function firewall(inboundRules: Array<Record<string, unknown>>): Planned {
  return { type: "digitalocean:index/firewall:Firewall", name: "openclaw-fw", inputs: { tags: ["ManagedBy:claw-cloud"], inboundRules } };
}
const TLS = { protocol: "tcp", portRange: "3000", sourceAddresses: ["203.0.113.0/24"] };

describe("digitalocean-droplet-backups", () => {
  const id = "digitalocean-droplet-backups";
  it("accepts backups on", async () => {
    expect(await messages(id, [DROPLET])).toEqual([]);
  });
  it("catches backups off", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.backups", false)])).toEqual(["`backups` must be true; got false"]);
  });
  it("catches backups left out", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.backups", undefined)])).toEqual(["`backups` must be true; got null"]);
  });
  it("fails closed (mandatory) on a backups value not known yet", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.backups", UNKNOWN)])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
  it("accepts backups off when the stack says snapshots: {enabled: false}", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.backups", false)], { snapshots: { enabled: false } })).toEqual([]);
  });
  it("does not take a snapshots block without enabled: false as an opt-out, and reports backups off as mandatory", async () => {
    const found = await violations(id, [withPath(DROPLET, "inputs.backups", false)], { snapshots: { frequency: "daily" } });
    expect(found.map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
  });
});

describe("digitalocean-droplet-no-ssh-keys-without-ssh", () => {
  const id = "digitalocean-droplet-no-ssh-keys-without-ssh";
  const sshKey: Planned = { type: "digitalocean:index/sshKey:SshKey", inputs: { name: "k", publicKey: "ssh-ed25519 AAAA test" } };
  it("accepts a droplet without SSH keys", async () => {
    expect(await messages(id, [DROPLET])).toEqual([]);
  });
  it("accepts SSH keys when the stack configures SSH access", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.sshKeys", ["123"]), sshKey], SSH_ACCESS)).toEqual([]);
  });
  it("catches sshKeys without SSH access", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.sshKeys", ["123"])])).toEqual([expect.stringContaining("`sshKeys` is not empty")]);
  });
  it("catches an SshKey resource without SSH access", async () => {
    expect(await messages(id, [sshKey])).toEqual([expect.stringContaining("`digitalocean.SshKey` is registered")]);
  });
  it("fails closed on sshKeys not known yet", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.sshKeys", UNKNOWN)])).toHaveLength(1);
  });
});

describe("digitalocean-firewall-no-world-admin-ports", () => {
  const id = "digitalocean-firewall-no-world-admin-ports";
  it("accepts TLS from the gateway CIDRs and SSH from a narrow CIDR", async () => {
    expect(await messages(id, [firewall([TLS, { protocol: "tcp", portRange: "22", sourceAddresses: ["198.51.100.0/24"] }])])).toEqual([]);
  });
  it("catches SSH from the world", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0", "::/0"] }])])).toEqual([
      "`inboundRules[0]` opens TCP 22 (SSH) to 0.0.0.0/0, ::/0",
    ]);
  });
  it('catches portRange "all" from the world', async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", portRange: "all", sourceAddresses: ["0.0.0.0/0"] }])])).toHaveLength(3);
  });
  it("catches a range covering 18789", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", portRange: "10000-20000", sourceAddresses: ["::/0"] }])])).toEqual([
      expect.stringContaining("18789"),
    ]);
  });
});

describe("digitalocean-firewall-gateway-port-restricted", () => {
  const id = "digitalocean-firewall-gateway-port-restricted";
  it("accepts TCP 3000 from the configured gateway CIDRs", async () => {
    expect(await messages(id, [firewall([TLS])], GATEWAY)).toEqual([]);
  });
  it("catches TCP 3000 from the world", async () => {
    expect(await messages(id, [firewall([{ ...TLS, sourceAddresses: ["0.0.0.0/0"] }])], GATEWAY)).toHaveLength(1);
  });
  it("catches TCP 3000 from tagged droplets", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", portRange: "3000", sourceTags: ["web"] }])], GATEWAY)).toEqual([
      expect.stringContaining("source:sourceTags"),
    ]);
  });
});

describe("digitalocean-spaces-bucket-private", () => {
  const id = "digitalocean-spaces-bucket-private";
  const bucket: Planned = { type: "digitalocean:index/spacesBucket:SpacesBucket", inputs: { region: "fra1", acl: "private", versioning: { enabled: true } } };
  it("accepts a private bucket and an unset ACL", async () => {
    expect(await messages(id, [bucket, withPath(bucket, "inputs.acl", undefined)])).toEqual([]);
  });
  it("catches a public-read bucket", async () => {
    expect(await messages(id, [withPath(bucket, "inputs.acl", "public-read")])).toEqual(['`acl` must be "private"; got "public-read"']);
  });
  it("catches a public-read object", async () => {
    const object: Planned = { type: "digitalocean:index/spacesBucketObject:SpacesBucketObject", inputs: { bucket: "b", key: "fw.bin", acl: "public-read" } };
    expect(await messages(id, [object])).toHaveLength(1);
  });
});

describe("digitalocean-spaces-bucket-versioning", () => {
  const id = "digitalocean-spaces-bucket-versioning";
  const bucket: Planned = { type: "digitalocean:index/spacesBucket:SpacesBucket", inputs: { region: "fra1", acl: "private", versioning: { enabled: true } } };
  it("accepts versioning on", async () => {
    expect(await messages(id, [bucket])).toEqual([]);
  });
  it("catches versioning missing", async () => {
    expect(await messages(id, [withPath(bucket, "inputs.versioning", undefined)])).toEqual(["`versioning.enabled` must be true"]);
  });
});

describe("digitalocean-tags-present", () => {
  const id = "digitalocean-tags-present";
  it("accepts droplets and volumes tagged ManagedBy:claw-cloud", async () => {
    expect(await messages(id, [DROPLET, VOLUME])).toEqual([]);
  });
  it("catches an untagged droplet", async () => {
    expect(await messages(id, [withPath(DROPLET, "inputs.tags", ["web"])])).toEqual(['`tags` must include "ManagedBy:claw-cloud"']);
  });
  it("catches a volume without tags", async () => {
    expect(await messages(id, [withPath(VOLUME, "inputs.tags", undefined)])).toHaveLength(1);
  });
});

/** Issue 19, class 6: a droplet no Cloud Firewall selects is open to the world. */
describe("digitalocean-droplet-behind-firewall", () => {
  const id = "digitalocean-droplet-behind-firewall";
  const STACK = "urn:pulumi:test::clawstack::pulumi:pulumi:Stack::clawstack-test";
  const HOST = "urn:pulumi:test::clawstack::clawstack:host:DigitalOceanHost::openclaw";
  const host: Planned = { type: "clawstack:host:DigitalOceanHost", name: "openclaw", parent: STACK, inputs: {} };
  const droplet: Planned = { ...DROPLET, parent: HOST };
  const dropletUrn = `urn:pulumi:test::clawstack::clawstack:host:DigitalOceanHost$digitalocean:index/droplet:Droplet::${DROPLET.name}`;
  const byId: Planned = { type: "digitalocean:index/firewall:Firewall", name: "openclaw-fw", parent: HOST, inputs: { dropletIds: [3033963026], inboundRules: [TLS] } };
  it("accepts a droplet whose firewall lists its ID (same host component, the synth's shape)", async () => {
    expect(await messages(id, [host, droplet, byId])).toEqual([]);
  });
  it("accepts a droplet selected by a firewall tag", async () => {
    const byTag: Planned = { type: "digitalocean:index/firewall:Firewall", inputs: { tags: ["clawstack-snapshots"], inboundRules: [TLS] } };
    expect(await messages(id, [DROPLET, byTag])).toEqual([]);
  });
  it("accepts a droplet its firewall's dropletIds depend on (pulumi preview --json)", async () => {
    const dependent: Planned = { ...byId, parent: undefined, inputs: { dropletIds: [UNKNOWN], inboundRules: [TLS] }, propertyDependencies: { dropletIds: [dropletUrn] } };
    expect(await messages(id, [{ ...DROPLET, urn: dropletUrn }, dependent])).toEqual([]);
  });
  it("catches a droplet with no firewall at all", async () => {
    expect(await messages(id, [host, droplet])).toEqual([expect.stringContaining("no Cloud Firewall selects this droplet")]);
  });
  it("catches a firewall whose tags the droplet does not carry", async () => {
    const otherTag: Planned = { type: "digitalocean:index/firewall:Firewall", inputs: { tags: ["web"], inboundRules: [TLS] } };
    expect(await messages(id, [DROPLET, otherTag])).toHaveLength(1);
  });
  it("catches a firewall with no droplet IDs beside the droplet", async () => {
    expect(await messages(id, [host, droplet, withPath(byId, "inputs.dropletIds", [])])).toHaveLength(1);
  });
  it("catches the second droplet of a component whose firewall names one ID (which one is not provable)", async () => {
    const second: Planned = { ...droplet, name: "openclaw-second" };
    expect(await messages(id, [host, droplet, second, byId])).toHaveLength(2);
  });
  it("outbound-only world rules are no reason to flag a firewalled droplet", async () => {
    const egress = withPath(byId, "inputs.outboundRules", [{ protocol: "tcp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] }]);
    expect(await messages(id, [host, droplet, egress])).toEqual([]);
    expect(await messages("digitalocean-firewall-no-world-admin-ports", [egress])).toEqual([]);
  });
});
