import { beforeAll, describe, expect, it } from "vitest";
import { CANONICAL_OWNER_ID, DEBIAN_OWNER_ID, gatewayTokenReadPolicy } from "../../../components/host/aws.js";
import { USER_DATA_LIMITS } from "../../../cloud-init/index.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { allOfType, CLIENTS, cloudConfigOf, oneOfType, SSH_KEY, synthHost } from "./support.js";

const INSTANCE = "aws:ec2/instance:Instance";
const VOLUME = "aws:ebs/volume:Volume";
const ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment";
const GROUP = "aws:ec2/securityGroup:SecurityGroup";
const KEY_PAIR = "aws:ec2/keyPair:KeyPair";
/** AWS resource types that take no tags. */
const UNTAGGABLE = new Set([ATTACHMENT, "aws:ec2/eipAssociation:EipAssociation", "aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]);
const TOKEN = "a-gateway-token-given-as-a-pulumi-secret-0123456789";

type Ingress = { protocol: string; fromPort: number; toPort: number; cidrBlocks: string[]; ipv6CidrBlocks: string[] };

describe("AwsHost, closed by default", () => {
  let closed: SynthResult;
  let open: SynthResult;
  beforeAll(async () => {
    closed = await synthHost("aws");
    open = await synthHost("aws", {
      clawchatClientCidrs: CLIENTS,
      clawchat: { install: "auto", bundleUrl: "https://artifacts.example.com/clawchat.js" },
      sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] },
      gatewayToken: TOKEN,
    });
  });

  it("admits only TCP 3000 from the gateway CIDRs (IPv4 and IPv6 kept apart): no UDP, no 22", () => {
    const ingress = oneOfType(closed, GROUP).inputs.ingress as Ingress[];
    expect(ingress.map(({ protocol, fromPort, toPort, cidrBlocks, ipv6CidrBlocks }) => ({ protocol, fromPort, toPort, cidrBlocks, ipv6CidrBlocks }))).toEqual([
      { protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["203.0.113.0/24"], ipv6CidrBlocks: ["2001:db8:1::/48"] },
    ]);
    expect(oneOfType(closed, GROUP).inputs.egress).toEqual([
      { description: "Open egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
    ]);
  });

  it("opens UDP 49152-65535 to ClawChat clients and 22 to sshAccess sources only, with a key pair only then", () => {
    const ingress = oneOfType(open, GROUP).inputs.ingress as Ingress[];
    expect(ingress.map((rule) => [rule.protocol, rule.fromPort, rule.toPort, rule.cidrBlocks])).toEqual([
      ["tcp", 3000, 3000, ["203.0.113.0/24"]],
      ["udp", 49152, 65535, CLIENTS],
      ["tcp", 22, 22, ["192.0.2.7/32"]],
    ]);
    expect(allOfType(closed, KEY_PAIR)).toEqual([]);
    expect(oneOfType(closed, INSTANCE).inputs.keyName).toBeUndefined();
    expect(oneOfType(open, KEY_PAIR).inputs.publicKey).toBe(SSH_KEY);
    expect(oneOfType(open, INSTANCE).inputs.keyName).toEqual(expect.any(String));
  });

  it("requires IMDSv2 with hop limit 1 and boots Debian's own Debian 12 AMI by default", () => {
    const instance = oneOfType(closed, INSTANCE).inputs;
    expect(instance.metadataOptions).toMatchObject({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    const lookup = closed.invokes?.find((invoke) => invoke.token === "aws:ec2/getAmi:getAmi");
    expect(lookup?.args.owners).toEqual([DEBIAN_OWNER_ID]);
    expect(DEBIAN_OWNER_ID).toBe("136693071363");
    expect(JSON.stringify(lookup?.args.filters)).toContain("debian-12-amd64-");
    expect(instance.ami).toBe("ami-0a6f1c7c2e4b9d3f1");
  });

  it("boots Canonical's Ubuntu 24.04 AMI when chosen", async () => {
    const ubuntu = await synthHost("aws", { image: "ubuntu-24.04" });
    const lookup = ubuntu.invokes?.find((invoke) => invoke.token === "aws:ec2/getAmi:getAmi");
    expect(lookup?.args.owners).toEqual([CANONICAL_OWNER_ID]);
    expect(CANONICAL_OWNER_ID).toBe("099720109477");
    expect(JSON.stringify(lookup?.args.filters)).toContain("ubuntu-noble-24.04-amd64-server-");
    expect(oneOfType(ubuntu, INSTANCE).inputs.ami).toBe("ami-0e2c8caa4b6378d8c");
  });

  it("encrypts a gp3 root and a separate gp3 state volume", () => {
    expect(oneOfType(closed, INSTANCE).inputs.rootBlockDevice).toMatchObject({ volumeType: "gp3", encrypted: true, deleteOnTermination: true });
    expect(oneOfType(closed, VOLUME).inputs).toMatchObject({ type: "gp3", encrypted: true, size: 20, availabilityZone: "eu-west-1a" });
  });

  it("tags everything that takes tags ManagedBy=claw-cloud (root disk included)", () => {
    for (const result of [closed, open]) {
      for (const resource of result.resources.filter((entry) => entry.type.startsWith("aws:") && !UNTAGGABLE.has(entry.type))) {
        expect(resource.inputs.tags, `${resource.type} ${resource.name}`).toMatchObject({ ManagedBy: "claw-cloud" });
      }
      // The root volume is tagged at RunInstances through volumeTags, never through
      // rootBlockDevice.tags (applied after launch, and in conflict with volumeTags).
      const instance = oneOfType(result, INSTANCE);
      expect(instance.inputs.volumeTags).toEqual({ ManagedBy: "claw-cloud", Name: "claw-root" });
      expect((instance.inputs.rootBlockDevice as { tags?: unknown }).tags).toBeUndefined();
      // Written at launch only, so an update cannot retag the attached state volume with it.
      expect(instance.options?.ignoreChanges).toContain("volumeTags");
      expect(oneOfType(result, VOLUME).inputs.tags).toMatchObject({ ManagedBy: "claw-cloud", Name: "claw-state" });
    }
  });

  it("has no instance role unless a token is delivered; then the role reads that one parameter only, and the token stays secret", () => {
    expect(oneOfType(closed, INSTANCE).inputs.iamInstanceProfile).toBeUndefined();
    expect(allOfType(closed, "aws:iam/role:Role").map((role) => role.name)).toEqual(["claw-snapshots-dlm"]);
    expect(allOfType(closed, "aws:iam/instanceProfile:InstanceProfile")).toEqual([]);
    const parameter = oneOfType(open, "aws:ssm/parameter:Parameter");
    expect(parameter.inputs).toMatchObject({ type: "SecureString", value: "[secret]", name: "/clawstack/host-aws/claw/gateway-token" });
    expect(JSON.stringify(open)).not.toContain(TOKEN);
    const policy = JSON.parse(String(oneOfType(open, "aws:iam/rolePolicy:RolePolicy").inputs.policy)) as { Statement: { Action: string; Resource: string }[] };
    expect(policy.Statement).toEqual([{ Sid: "ReadGatewayToken", Effect: "Allow", Action: "ssm:GetParameter", Resource: expect.stringMatching(/^arn:aws:ssm:.*:parameter\/clawstack\/host-aws\/claw\/gateway-token$/) }]);
    expect(JSON.parse(gatewayTokenReadPolicy("arn:p", "arn:k")).Statement[1]).toMatchObject({ Action: "kms:Decrypt", Condition: { StringEquals: { "kms:EncryptionContext:PARAMETER_ARN": "arn:p" } } });
    expect(oneOfType(open, INSTANCE).inputs.iamInstanceProfile).toEqual(expect.any(String));
  });

  it("replaces the instance when its boot fingerprint changes and keeps the state volume: attachment removed first, volume inputs unchanged", async () => {
    const instance = oneOfType(closed, INSTANCE);
    // A version bump changes the boot fingerprint (replacementTrigger), and only a new instance runs first
    // boot again; the raw user-data, which also carries each `up`'s registration token, does not decide it.
    expect(instance.inputs.userDataReplaceOnChange).toBe(false);
    expect(instance.options?.replacementTrigger).toMatch(/^[0-9a-f]{64}$/);
    expect(instance.options?.ignoreChanges).toEqual(["ami", "volumeTags", "userData", "userDataBase64"]);
    expect(instance.options?.replaceOnChanges).toEqual([]);
    expect(oneOfType(closed, ATTACHMENT).options?.deleteBeforeReplace).toBe(true);
    // The EBS volume has no name to collide on: a replacement is created before the old one goes.
    expect(oneOfType(closed, VOLUME).options?.deleteBeforeReplace).toBe(false);
    const upgraded = await synthHost("aws", { versions: { openclaw: "2026.2.1", node: "24.15.0" } });
    expect(instance.inputs.userDataBase64).toEqual(expect.any(String));
    expect(oneOfType(upgraded, INSTANCE).inputs.userDataBase64).not.toEqual(instance.inputs.userDataBase64);
    expect(oneOfType(upgraded, VOLUME).inputs).toEqual(oneOfType(closed, VOLUME).inputs);
  });

  it("fits user-data in 16 KiB (compressed through userDataBase64) and mounts the state volume by its id", () => {
    const instance = oneOfType(open, INSTANCE).inputs;
    expect(instance.userData).toBeUndefined();
    const encoded = Buffer.from(String(instance.userDataBase64), "base64");
    expect(encoded.length).toBeLessThanOrEqual(USER_DATA_LIMITS.aws);
    const text = cloudConfigOf(instance.userDataBase64);
    expect(text).toContain(`STATE_DEVICE='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${String(open.outputs.stateDiskId).replace("-", "")}'`);
    expect(text).toContain("gateway run --port 18789 --bind loopback");
    expect(text).toContain("CLAWCHAT_MODE='fetch'");
    expect(text).toContain("TOKEN_SOURCE='aws-ssm'");
    expect(text).not.toContain(TOKEN);
  });

  it("exports the addresses, gateway URL, instance id and state volume id", () => {
    expect(closed.outputs).toMatchObject({
      publicIpv4: expect.stringMatching(/^203\.0\.113\.\d+$/),
      publicIpv6: null,
      gatewayUrl: expect.stringMatching(/^https:\/\/203\.0\.113\.\d+:3000$/),
      instanceId: expect.stringMatching(/^i-[0-9a-f]{17}$/),
      stateDiskId: expect.stringMatching(/^vol-[0-9a-f]{17}$/),
    });
  });
});

describe("AwsHost: the security group a support grant opens", () => {
  it("exports the security group's id (the API authorizes a grant's SSH rule on it), the one the instance is in, tagged ManagedBy", async () => {
    const result = await synthHost("aws");
    expect(result.outputs.securityGroupId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(oneOfType(result, INSTANCE).inputs.vpcSecurityGroupIds).toEqual([result.outputs.securityGroupId]);
    expect(oneOfType(result, GROUP).inputs.tags).toMatchObject({ ManagedBy: "claw-cloud" });
    expect(result.outputs).not.toHaveProperty("firewallId");
  });
});
