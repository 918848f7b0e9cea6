import { beforeAll, describe, expect, it } from "vitest";
import { GCP_STATE_DEVICE_NAME } from "../../../components/host/gcp.js";
import { USER_DATA_LIMITS } from "../../../cloud-init/index.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { allOfType, CLIENTS, cloudConfigOf, oneOfType, SSH_KEY, synthHost } from "./support.js";

const INSTANCE = "gcp:compute/instance:Instance";
const DISK = "gcp:compute/disk:Disk";
const ATTACHED = "gcp:compute/attachedDisk:AttachedDisk";
const FIREWALL = "gcp:compute/firewall:Firewall";
const ACCOUNT = "gcp:serviceaccount/account:Account";
const TOKEN = "a-gateway-token-given-as-a-pulumi-secret-0123456789";

type Firewall = { name: string; allows: { protocol: string; ports: string[] }[]; sourceRanges: string[]; targetTags: string[]; direction: string };

function firewalls(result: SynthResult): Firewall[] {
  return allOfType(result, FIREWALL).map((resource) => resource.inputs as unknown as Firewall);
}

describe("GcpHost, closed by default", () => {
  let closed: SynthResult;
  let open: SynthResult;
  beforeAll(async () => {
    closed = await synthHost("gcp");
    open = await synthHost("gcp", { clawchatClientCidrs: CLIENTS, sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] }, gatewayToken: TOKEN });
  });

  it("admits only TCP 3000 from the gateway CIDRs, by the host's target tag, one rule per address family", () => {
    const tag = (oneOfType(closed, INSTANCE).inputs.tags as string[])[0];
    expect(tag).toBe("claw-openclaw");
    expect(firewalls(closed).map(({ name, allows, sourceRanges, targetTags, direction }) => ({ name, allows, sourceRanges, targetTags, direction }))).toEqual([
      { name: "claw-gateway-v4", allows: [{ protocol: "tcp", ports: ["3000"] }], sourceRanges: ["203.0.113.0/24"], targetTags: [tag], direction: "INGRESS" },
      { name: "claw-gateway-v6", allows: [{ protocol: "tcp", ports: ["3000"] }], sourceRanges: ["2001:db8:1::/48"], targetTags: [tag], direction: "INGRESS" },
    ]);
  });

  it("opens UDP 49152-65535 to ClawChat clients and 22 to sshAccess sources only", () => {
    const byName = Object.fromEntries(firewalls(open).map((rule) => [rule.name, rule]));
    expect(byName["claw-clawchat-v4"]).toMatchObject({ allows: [{ protocol: "udp", ports: ["49152-65535"] }], sourceRanges: CLIENTS });
    expect(byName["claw-ssh-v4"]).toMatchObject({ allows: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: ["192.0.2.7/32"] });
    expect(Object.keys(byName).sort()).toEqual(["claw-clawchat-v4", "claw-gateway-v4", "claw-gateway-v6", "claw-ssh-v4"]);
  });

  it("is a Shielded VM that blocks project-wide SSH keys and carries a key only with sshAccess", () => {
    const instance = oneOfType(closed, INSTANCE).inputs;
    expect(instance.shieldedInstanceConfig).toEqual({ enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true });
    const metadata = instance.metadata as Record<string, string>;
    expect(metadata["block-project-ssh-keys"]).toBe("TRUE");
    expect(metadata["ssh-keys"]).toBeUndefined();
    expect((oneOfType(open, INSTANCE).inputs.metadata as Record<string, string>)["ssh-keys"]).toBe(`debian:${SSH_KEY}`);
    expect(instance.labels).toMatchObject({ "managed-by": "claw-cloud" });
    expect(oneOfType(closed, DISK).inputs.labels).toMatchObject({ "managed-by": "claw-cloud" });
  });

  it("boots the debian-12 image family by default, ubuntu-2404-lts-amd64 when chosen (and its login user)", async () => {
    const lookup = (result: SynthResult) => result.invokes?.find((invoke) => invoke.token === "gcp:compute/getImage:getImage")?.args;
    expect(lookup(closed)).toMatchObject({ project: "debian-cloud", family: "debian-12" });
    const ubuntu = await synthHost("gcp", { image: "ubuntu-24.04", sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] } });
    expect(lookup(ubuntu)).toMatchObject({ project: "ubuntu-os-cloud", family: "ubuntu-2404-lts-amd64" });
    expect((oneOfType(ubuntu, INSTANCE).inputs.metadata as Record<string, string>)["ssh-keys"]).toBe(`ubuntu:${SSH_KEY}`);
  });

  it("runs as its own service account granted no project roles; with a token, only accessor on that one secret", () => {
    const account = oneOfType(closed, ACCOUNT);
    expect(account.inputs.accountId).toBe("claw-host");
    expect((oneOfType(closed, INSTANCE).inputs.serviceAccount as { email: string }).email).toBe("claw-host@claw-test-project.iam.gserviceaccount.com");
    const grants = (result: SynthResult) => result.resources.filter((resource) => /Iam(Member|Binding|Policy)/.test(resource.type));
    expect(grants(closed)).toEqual([]);
    expect(grants(open).map((grant) => [grant.type, grant.inputs.role, grant.inputs.member])).toEqual([
      ["gcp:secretmanager/secretIamMember:SecretIamMember", "roles/secretmanager.secretAccessor", "serviceAccount:claw-host@claw-test-project.iam.gserviceaccount.com"],
    ]);
    expect(oneOfType(open, "gcp:secretmanager/secretVersion:SecretVersion").inputs.secretData).toBe("[secret]");
    expect(JSON.stringify(open)).not.toContain(TOKEN);
  });

  it("keeps state on a separate disk: attached by its own resource, unchanged when user-data changes", async () => {
    const instance = oneOfType(closed, INSTANCE);
    expect(instance.options?.ignoreChanges).toEqual(["attachedDisks"]);
    const attached = oneOfType(closed, ATTACHED);
    expect(attached.inputs).toMatchObject({ deviceName: GCP_STATE_DEVICE_NAME, mode: "READ_WRITE", disk: closed.outputs.stateDiskId });
    expect(attached.options?.deleteBeforeReplace).toBe(true);
    // The disk's name is fixed, so a replacement (restore in place) deletes the old one first.
    expect(oneOfType(closed, DISK).inputs.name).toBe("claw-state");
    expect(oneOfType(closed, DISK).options?.deleteBeforeReplace).toBe(true);
    const upgraded = await synthHost("gcp", { versions: { openclaw: "2026.2.1", node: "24.15.0" } });
    const userData = (result: SynthResult) => (oneOfType(result, INSTANCE).inputs.metadata as Record<string, string>)["user-data"];
    expect(userData(upgraded)).not.toEqual(userData(closed));
    expect(oneOfType(upgraded, DISK).inputs).toEqual(oneOfType(closed, DISK).inputs);
  });

  it("carries gzip+base64 user-data within 256 KiB, the gateway on loopback, the state disk by its device name", () => {
    const metadata = oneOfType(open, INSTANCE).inputs.metadata as Record<string, string>;
    expect(metadata["user-data-encoding"]).toBe("base64");
    expect(Buffer.byteLength(metadata["user-data"]!)).toBeLessThanOrEqual(USER_DATA_LIMITS.gcp);
    const text = cloudConfigOf(metadata["user-data"]);
    expect(text).toContain(`STATE_DEVICE='/dev/disk/by-id/google-${GCP_STATE_DEVICE_NAME}'`);
    expect(text).toContain("gateway run --port 18789 --bind loopback");
    expect(text).toContain("TOKEN_SOURCE='gcp-secret-manager'");
    expect(text).toContain("CLAWCHAT_MODE='embedded'");
  });

  it("exports the addresses, gateway URL, instance id and state disk id", () => {
    expect(closed.outputs).toMatchObject({
      publicIpv4: expect.stringMatching(/^203\.0\.113\.\d+$/),
      publicIpv6: null,
      gatewayUrl: expect.stringMatching(/^https:\/\/203\.0\.113\.\d+:3000$/),
      instanceId: expect.stringMatching(/^\d+$/),
      stateDiskId: "projects/claw-test-project/zones/europe-west1-a/disks/claw-state",
    });
  });
});

describe("GcpHost: the network and tag a support grant's firewall targets", () => {
  it("exports the network and the network tag the host's own rules and instance use", async () => {
    for (const [overrides, network] of [
      [{}, "default"],
      [{ network: "projects/shared-vpc-1/global/networks/vpc" }, "projects/shared-vpc-1/global/networks/vpc"],
    ] as const) {
      const result = await synthHost("gcp", overrides);
      expect(result.outputs).toMatchObject({ network, networkTag: "claw-openclaw" });
      expect(oneOfType(result, INSTANCE).inputs.tags).toEqual([result.outputs.networkTag]);
      for (const rule of allOfType(result, FIREWALL)) {
        expect(rule.inputs).toMatchObject({ network, targetTags: [result.outputs.networkTag] });
      }
    }
  });
});
