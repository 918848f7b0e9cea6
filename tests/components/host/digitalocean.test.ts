import { beforeAll, describe, expect, it } from "vitest";
import { ingressRules } from "../../../components/host/firewall.js";
import { USER_DATA_LIMITS } from "../../../cloud-init/index.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { allOfType, CLIENTS, cloudConfigOf, GATEWAY, oneOfType, SSH_KEY, synthHost } from "./support.js";

const DROPLET = "digitalocean:index/droplet:Droplet";
const VOLUME = "digitalocean:index/volume:Volume";
const ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment";
const FIREWALL = "digitalocean:index/firewall:Firewall";
const SSH_KEY_TYPE = "digitalocean:index/sshKey:SshKey";

type Rule = { protocol: string; portRange?: string; sourceAddresses?: string[] };

describe("DigitalOceanHost, closed by default", () => {
  let closed: SynthResult;
  let withClients: SynthResult;
  let withSsh: SynthResult;
  beforeAll(async () => {
    closed = await synthHost("digitalocean");
    withClients = await synthHost("digitalocean", { clawchatClientCidrs: CLIENTS });
    withSsh = await synthHost("digitalocean", { sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] } });
  });

  it("admits only TCP 3000 from the gateway CIDRs: no UDP, no 22, no SSH key", () => {
    const rules = oneOfType(closed, FIREWALL).inputs.inboundRules as Rule[];
    expect(rules).toEqual([{ protocol: "tcp", portRange: "3000", sourceAddresses: GATEWAY }]);
    expect(allOfType(closed, SSH_KEY_TYPE)).toEqual([]);
    expect(oneOfType(closed, DROPLET).inputs.sshKeys).toEqual([]);
  });

  it("opens UDP 49152-65535 to the ClawChat client CIDRs only", () => {
    const rules = oneOfType(withClients, FIREWALL).inputs.inboundRules as Rule[];
    expect(rules).toEqual([
      { protocol: "tcp", portRange: "3000", sourceAddresses: GATEWAY },
      { protocol: "udp", portRange: "49152-65535", sourceAddresses: CLIENTS },
    ]);
  });

  it("opens 22 and installs the key only with sshAccess, from its CIDRs only", () => {
    const rules = oneOfType(withSsh, FIREWALL).inputs.inboundRules as Rule[];
    expect(rules).toContainEqual({ protocol: "tcp", portRange: "22", sourceAddresses: ["192.0.2.7/32"] });
    const key = oneOfType(withSsh, SSH_KEY_TYPE);
    expect(key.inputs.publicKey).toBe(SSH_KEY);
    expect((oneOfType(withSsh, DROPLET).inputs.sshKeys as unknown[]).length).toBe(1);
  });

  it("leaves egress open", () => {
    const outbound = oneOfType(closed, FIREWALL).inputs.outboundRules as { protocol: string; destinationAddresses: string[] }[];
    expect(outbound.map((rule) => rule.protocol)).toEqual(["tcp", "udp", "icmp"]);
    for (const rule of outbound) expect(rule.destinationAddresses).toEqual(["0.0.0.0/0", "::/0"]);
  });

  it("refuses an empty gateway list even when the component is used directly", () => {
    expect(() => ingressRules({ gatewayCidrs: [], clawchatClientCidrs: [], sshAccess: null })).toThrow(/`gatewayCidrs` must list at least one/);
  });

  it("runs Debian 12 by default (Ubuntu 24.04 when chosen)", async () => {
    expect(oneOfType(closed, DROPLET).inputs.image).toBe("debian-12-x64");
    const ubuntu = await synthHost("digitalocean", { image: "ubuntu-24.04" });
    expect(oneOfType(ubuntu, DROPLET).inputs.image).toBe("ubuntu-24-04-x64");
  });

  it("runs with monitoring, IPv6 and the ManagedBy tag; the firewall applies by droplet id, not by tag", () => {
    const droplet = oneOfType(closed, DROPLET).inputs;
    expect(droplet.monitoring).toBe(true);
    expect(droplet.ipv6).toBe(true);
    expect(droplet.tags).toContain("ManagedBy:claw-cloud");
    expect(oneOfType(closed, VOLUME).inputs.tags).toContain("ManagedBy:claw-cloud");
    const firewall = oneOfType(closed, FIREWALL).inputs;
    expect(firewall.tags).toBeUndefined();
    expect(firewall.dropletIds).toEqual([Number(closed.outputs.instanceId)]);
  });

  it("keeps the gateway on loopback behind TLS on 3000, in the rendered user-data", () => {
    const text = cloudConfigOf(oneOfType(closed, DROPLET).inputs.userData);
    expect(text).toContain("gateway run --port 18789 --bind loopback");
    expect(text).toContain("proxy_pass http://127.0.0.1:18789;");
    expect(text).toMatch(/listen 3000 ssl;/);
    expect(text).toContain("tcp dport 3000 accept");
    expect(text).not.toContain("tcp dport 22");
    expect(text).not.toMatch(/udp dport 49152/);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_LIMITS.digitalocean);
  });

  it("keeps state on a separate volume whose inputs do not change when user-data does", async () => {
    const upgraded = await synthHost("digitalocean", { versions: { openclaw: "2026.2.1", node: "24.15.0" } });
    expect(oneOfType(upgraded, DROPLET).inputs.userData).not.toEqual(oneOfType(closed, DROPLET).inputs.userData);
    expect(oneOfType(upgraded, VOLUME).inputs).toEqual(oneOfType(closed, VOLUME).inputs);
    // The volume never depends on the droplet; only the attachment does, and it is removed before a replacement attaches.
    const volume = oneOfType(closed, VOLUME);
    expect(volume.options?.dependencies ?? []).not.toContain(oneOfType(closed, DROPLET).urn);
    const attachment = oneOfType(closed, ATTACHMENT);
    expect(attachment.options?.deleteBeforeReplace).toBe(true);
    expect(attachment.inputs.volumeId).toBe(closed.outputs.stateDiskId);
    expect(oneOfType(closed, VOLUME).inputs.size).toBe(20);
    // The volume's name is fixed, so a replacement (restore in place) deletes the old one first.
    expect(volume.inputs.name).toBe("claw-state");
    expect(volume.options?.deleteBeforeReplace).toBe(true);
  });

  it("exports public IPv4 and IPv6, the gateway URL, the instance id and the state disk id", () => {
    expect(closed.outputs).toMatchObject({
      publicIpv4: expect.stringMatching(/^203\.0\.113\.\d+$/),
      publicIpv6: expect.stringMatching(/^2001:db8::/),
      gatewayUrl: expect.stringMatching(/^https:\/\/203\.0\.113\.\d+:3000$/),
      instanceId: expect.stringMatching(/^\d+$/),
      stateDiskId: expect.any(String),
      gatewayTokenSource: "generated on the host at first boot",
    });
  });
});

describe("DigitalOceanHost: the firewall a support grant opens", () => {
  it("exports the Cloud Firewall's id (the API adds a grant's SSH rule to it), and it is the firewall guarding the droplet", async () => {
    const result = await synthHost("digitalocean");
    expect(result.outputs.firewallId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(result.outputs).not.toHaveProperty("securityGroupId");
    const firewall = oneOfType(result, FIREWALL);
    expect(firewall.inputs.dropletIds).toEqual([Number(result.outputs.instanceId)]);
  });
});
