import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../core/errors.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { synthConfig } from "../../../program/synth.js";
import { allOfType, BASE, cloudConfigOf, oneOfType, SSH_KEY, synthHost } from "./support.js";

/**
 * What keeps a host reachable and its state across stop/start, replacement and
 * upgrades (issue 14): a stable address per cloud that `gatewayUrl` uses, the
 * network it launches into, and a changed user-data replacing the instance
 * while the state disk and the address move to the new one.
 */

const TOKEN = "a-gateway-token-given-as-a-pulumi-secret-0123456789";
const UPGRADE = { versions: { openclaw: "2026.2.1", node: "24.15.0" } };

function hostRole(result: SynthResult) {
  return allOfType(result, "aws:iam/role:Role").find((role) => role.name === "claw-host");
}

describe("stable addresses by default", () => {
  const results: Record<string, SynthResult> = {};
  beforeAll(async () => {
    for (const cloud of ["aws", "gcp", "digitalocean"] as const) results[cloud] = await synthHost(cloud);
  });

  it("AWS: an Elastic IP tagged ManagedBy, associated with the instance (removed before a replacement's); gatewayUrl uses it", () => {
    const result = results.aws!;
    const eip = oneOfType(result, "aws:ec2/eip:Eip");
    expect(eip.inputs).toMatchObject({ domain: "vpc", tags: { ManagedBy: "claw-cloud", Name: "claw-ip" } });
    const association = oneOfType(result, "aws:ec2/eipAssociation:EipAssociation");
    expect(association.inputs.allocationId).toMatch(/^eipalloc-/);
    expect(association.inputs.instanceId).toMatch(/^i-/);
    expect(association.options?.deleteBeforeReplace).toBe(true);
    // The mocks give the instance's own ephemeral address another value than the Elastic IP's.
    expect(result.outputs.publicIpv4).not.toBe(oneOfType(result, "aws:ec2/instance:Instance").inputs.publicIp);
    expect(result.outputs.gatewayUrl).toBe(`https://${String(result.outputs.publicIpv4)}:3000`);
  });

  it("GCP: a static external address labelled managed-by, used as the instance's NAT IP; gatewayUrl uses it", () => {
    const result = results.gcp!;
    const address = oneOfType(result, "gcp:compute/address:Address");
    expect(address.inputs).toMatchObject({ name: "claw-ip", region: "europe-west1", addressType: "EXTERNAL", labels: { "managed-by": "claw-cloud" } });
    const nic = (oneOfType(result, "gcp:compute/instance:Instance").inputs.networkInterfaces as { accessConfigs: { natIp: string }[] }[])[0]!;
    expect(nic.accessConfigs[0]!.natIp).toBe(result.outputs.publicIpv4);
    expect(result.outputs.gatewayUrl).toBe(`https://${String(result.outputs.publicIpv4)}:3000`);
  });

  it("DigitalOcean: a reserved IP of the region assigned to the droplet (removed before a replacement's); gatewayUrl uses it", () => {
    const result = results.digitalocean!;
    const reserved = oneOfType(result, "digitalocean:index/reservedIp:ReservedIp");
    expect(reserved.inputs.region).toBe("fra1");
    const assignment = oneOfType(result, "digitalocean:index/reservedIpAssignment:ReservedIpAssignment");
    expect(assignment.options?.deleteBeforeReplace).toBe(true);
    expect(assignment.inputs.ipAddress).toBe(result.outputs.publicIpv4);
    expect(result.outputs.gatewayUrl).toBe(`https://${String(result.outputs.publicIpv4)}:3000`);
  });
});

describe("first boot names the stable address in the ClawChat security file, not the instance's own", () => {
  const clawchat = { clawchatClientCidrs: ["198.51.100.0/24"], clawchat: { install: "fetch", bundleUrl: "https://artifacts.example.com/clawchat.js" } };

  it("AWS: user data carries PUBLIC_IPV4 = the Elastic IP", async () => {
    const result = await synthHost("aws", clawchat);
    const text = cloudConfigOf(oneOfType(result, "aws:ec2/instance:Instance").inputs.userDataBase64);
    expect(text).toContain(`PUBLIC_IPV4='${String(result.outputs.publicIpv4)}'`);
    expect(text).not.toContain("255.255.255.255");
  });

  it("DigitalOcean: user data carries PUBLIC_IPV4 = the reserved IP, not the droplet's address", async () => {
    const result = await synthHost("digitalocean", clawchat);
    const text = String(oneOfType(result, "digitalocean:index/droplet:Droplet").inputs.userData);
    expect(text).toContain(`PUBLIC_IPV4='${String(result.outputs.publicIpv4)}'`);
  });

  it("GCP: the static address is the instance's access config from creation on, so first boot reads it from the metadata", async () => {
    const result = await synthHost("gcp", clawchat);
    const metadata = oneOfType(result, "gcp:compute/instance:Instance").inputs.metadata as Record<string, string>;
    expect(cloudConfigOf(metadata["user-data"])).toContain("PUBLIC_IPV4=''");
  });
});

describe("upgrades replace the instance; the state disk and the address move to the new one", () => {
  it("AWS: a version bump replaces the instance (boot fingerprint); the volume attachment and the EIP association go first, the volume is untouched", async () => {
    const [before, after] = [await synthHost("aws"), await synthHost("aws", UPGRADE)];
    const instance = oneOfType(before, "aws:ec2/instance:Instance");
    expect(instance.options?.replacementTrigger).toMatch(/^[0-9a-f]{64}$/);
    expect(oneOfType(after, "aws:ec2/instance:Instance").options?.replacementTrigger).not.toEqual(instance.options?.replacementTrigger);
    expect(oneOfType(after, "aws:ec2/instance:Instance").inputs.userDataBase64).not.toEqual(instance.inputs.userDataBase64);
    expect(oneOfType(before, "aws:ec2/volumeAttachment:VolumeAttachment").options?.deleteBeforeReplace).toBe(true);
    expect(oneOfType(after, "aws:ebs/volume:Volume").inputs).toEqual(oneOfType(before, "aws:ebs/volume:Volume").inputs);
    expect(oneOfType(after, "aws:ec2/eip:Eip").inputs).toEqual(oneOfType(before, "aws:ec2/eip:Eip").inputs);
  });

  it("GCP: a version bump replaces the fixed-name instance delete-first; the disk and the address are untouched", async () => {
    const [before, after] = [await synthHost("gcp"), await synthHost("gcp", UPGRADE)];
    const instance = oneOfType(before, "gcp:compute/instance:Instance");
    expect(instance.options?.replacementTrigger).toMatch(/^[0-9a-f]{64}$/);
    expect(oneOfType(after, "gcp:compute/instance:Instance").options?.replacementTrigger).not.toEqual(instance.options?.replacementTrigger);
    expect(instance.options?.deleteBeforeReplace).toBe(true);
    const metadataOf = (result: SynthResult) => oneOfType(result, "gcp:compute/instance:Instance").inputs.metadata as Record<string, string>;
    expect(metadataOf(after)["user-data"]).not.toEqual(metadataOf(before)["user-data"]);
    expect(oneOfType(before, "gcp:compute/attachedDisk:AttachedDisk").options?.deleteBeforeReplace).toBe(true);
    expect(oneOfType(after, "gcp:compute/disk:Disk").inputs).toEqual(oneOfType(before, "gcp:compute/disk:Disk").inputs);
    expect(oneOfType(after, "gcp:compute/address:Address").inputs).toEqual(oneOfType(before, "gcp:compute/address:Address").inputs);
  });

  it("DigitalOcean: a version bump replaces the droplet by its boot fingerprint; the volume and the reserved IP are untouched", async () => {
    const [before, after] = [await synthHost("digitalocean"), await synthHost("digitalocean", UPGRADE)];
    const droplet = oneOfType(before, "digitalocean:index/droplet:Droplet");
    expect(droplet.options?.ignoreChanges).toEqual(["userData"]);
    expect(droplet.options?.replacementTrigger).toMatch(/^[0-9a-f]{64}$/);
    expect(oneOfType(after, "digitalocean:index/droplet:Droplet").options?.replacementTrigger).not.toEqual(droplet.options?.replacementTrigger);
    expect(oneOfType(after, "digitalocean:index/droplet:Droplet").inputs.userData).not.toEqual(oneOfType(before, "digitalocean:index/droplet:Droplet").inputs.userData);
    expect(oneOfType(before, "digitalocean:index/volumeAttachment:VolumeAttachment").options?.deleteBeforeReplace).toBe(true);
    expect(oneOfType(after, "digitalocean:index/volume:Volume").inputs).toEqual(oneOfType(before, "digitalocean:index/volume:Volume").inputs);
    expect(oneOfType(after, "digitalocean:index/reservedIp:ReservedIp").inputs).toEqual(oneOfType(before, "digitalocean:index/reservedIp:ReservedIp").inputs);
  });
});

describe("a fresh registration token alone replaces nothing on any cloud", () => {
  // What the API's job runner adds to every `up` (api/registration/prepare.ts): a new single-use token each time.
  const registration = (token: string) => ({
    registration: {
      apiUrl: "https://api.example.com/v1/instances/inst_0123456789abcdef0123456789abcdef/register",
      instanceId: "inst_0123456789abcdef0123456789abcdef",
      token,
    },
  });
  const FIRST = `csreg_${"A".repeat(43)}`;
  const SECOND = `csreg_${"B".repeat(43)}`;

  it.each([["aws"], ["gcp"], ["digitalocean"]] as const)("%s: same boot fingerprint for two tokens, a new one for a version bump", async (cloud) => {
    const type = { aws: "aws:ec2/instance:Instance", gcp: "gcp:compute/instance:Instance", digitalocean: "digitalocean:index/droplet:Droplet" }[cloud];
    const trigger = async (overrides: Record<string, unknown>) =>
      oneOfType(await synthConfig(`host-${cloud}`, { ...BASE[cloud], ...overrides }), type).options?.replacementTrigger;
    const first = await trigger(registration(FIRST));
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await trigger(registration(SECOND))).toBe(first);
    expect(await trigger({ ...registration(SECOND), ...UPGRADE })).not.toBe(first);
  });
});

describe("networks as configuration", () => {
  it("AWS: the security group goes into vpcId and the instance into subnetId; without them, the default VPC", async () => {
    const placed = await synthHost("aws", { vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" });
    expect(oneOfType(placed, "aws:ec2/securityGroup:SecurityGroup").inputs.vpcId).toBe("vpc-0123456789abcdef0");
    expect(oneOfType(placed, "aws:ec2/instance:Instance").inputs.subnetId).toBe("subnet-0123456789abcdef0");
    const defaults = await synthHost("aws");
    expect(oneOfType(defaults, "aws:ec2/securityGroup:SecurityGroup").inputs.vpcId).toBeUndefined();
    expect(oneOfType(defaults, "aws:ec2/instance:Instance").inputs.subnetId).toBeUndefined();
  });

  it("GCP: firewall rules and the instance use network (and subnetwork); without them, `default`", async () => {
    const network = "projects/claw-test-project/global/networks/claw-vpc";
    const subnetwork = "projects/claw-test-project/regions/europe-west1/subnetworks/claw-subnet";
    const placed = await synthHost("gcp", { network, subnetwork });
    for (const rule of allOfType(placed, "gcp:compute/firewall:Firewall")) expect(rule.inputs.network).toBe(network);
    expect((oneOfType(placed, "gcp:compute/instance:Instance").inputs.networkInterfaces as object[])[0]).toMatchObject({ network, subnetwork });
    const defaults = await synthHost("gcp");
    expect((oneOfType(defaults, "gcp:compute/instance:Instance").inputs.networkInterfaces as object[])[0]).toMatchObject({ network: "default" });
  });

  it("DigitalOcean: the droplet joins vpcUuid; without it, the region's default VPC", async () => {
    const vpcUuid = "5a4981aa-9653-4bd1-bef5-d6bff52042e4";
    expect(oneOfType(await synthHost("digitalocean", { vpcUuid }), "digitalocean:index/droplet:Droplet").inputs.vpcUuid).toBe(vpcUuid);
    expect(oneOfType(await synthHost("digitalocean"), "digitalocean:index/droplet:Droplet").inputs.vpcUuid).toBeUndefined();
  });

  it.each([
    ["aws", { vpcId: "vpc-123" , subnetId: "subnet-0123456789abcdef0" }, "vpcId"],
    ["aws", { vpcId: "vpc-0123456789abcdef0" }, "subnetId"],
    ["aws", { subnetId: "subnet-0123456789abcdef0" }, "vpcId"],
    ["aws", { network: "default" }, "network"],
    ["gcp", { network: "Default" }, "network"],
    ["gcp", { network: "default", subnetwork: "projects/claw-test-project/regions/us-east1/subnetworks/a" }, "subnetwork"],
    ["gcp", { subnetwork: "claw-subnet" }, "network"],
    ["gcp", { vpcUuid: "5a4981aa-9653-4bd1-bef5-d6bff52042e4" }, "vpcUuid"],
    ["digitalocean", { vpcUuid: "default" }, "vpcUuid"],
    ["digitalocean", { vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" }, "vpcId"],
  ] as const)("%s refuses %j naming `%s`", async (cloud, overrides, key) => {
    const error = await synthHost(cloud, overrides).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
  });
});

describe("AWS host role boundary: none unless given, so an account without the aws-access stack can create it", () => {
  it("no permissionsBoundary by default; the given ARN when set; a malformed ARN is refused naming the key", async () => {
    const plain = hostRole(await synthHost("aws", { gatewayToken: TOKEN }))!;
    expect(plain.inputs.path).toBe("/claw-cloud/host/");
    expect(plain.inputs.permissionsBoundary).toBeUndefined();
    const boundary = "arn:aws:iam::123456789012:policy/claw-cloud/claw-cloud-workload-boundary";
    expect(hostRole(await synthHost("aws", { gatewayToken: TOKEN, awsPermissionsBoundaryArn: boundary }))!.inputs.permissionsBoundary).toBe(boundary);
    const error = await synthHost("aws", { awsPermissionsBoundaryArn: "claw-cloud-workload-boundary" }).catch((caught: unknown) => caught);
    expect((error as ConfigError).key).toBe("awsPermissionsBoundaryArn");
  });
});

describe("sshAccess on AWS takes only the key types EC2 ImportKeyPair imports (RSA, ED25519)", () => {
  // Real public keys: their blobs encode their types, so the generic parser accepts them.
  const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIbz9iCjZIEd/4JpuBo+llw/1917ygIDFB2u7zz7pevyavUCfc156Ue3wSWPvGRDUgjX5zPTnOBudCZc1opAuHI= you@laptop";
  const SK_ED25519 = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIG8KaB1cImT3gHDgEsRFY5Jn3+YGDjn07Twlf5koJagqAAAABHNzaDo= you@yubikey";

  it.each([["ecdsa", ECDSA], ["security key", SK_ED25519]])("refuses an %s key at config time, naming sshAccess.publicKey", async (_kind, publicKey) => {
    const error = await synthHost("aws", { sshAccess: { publicKey, cidrs: ["192.0.2.7/32"] } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("sshAccess.publicKey");
    expect((error as ConfigError).message).toMatch(/ImportKeyPair/);
  });

  it("still takes ed25519 on AWS, and ECDSA where the cloud takes it (GCP, DigitalOcean)", async () => {
    await expect(synthHost("aws", { sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] } })).resolves.toBeDefined();
    await expect(synthHost("gcp", { sshAccess: { publicKey: ECDSA, cidrs: ["192.0.2.7/32"] } })).resolves.toBeDefined();
  });
});
