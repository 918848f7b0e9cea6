/**
 * AWS network, compute and artifact-bucket rules: one compliant fixture each,
 * then one failing case per broken property.
 */
import { describe, expect, it } from "vitest";
import { UNKNOWN, doc, messages, withPath, type Planned } from "./support";

const GATEWAY = { gatewayCidrs: ["203.0.113.0/24"] };
const TAGS = { ManagedBy: "claw-cloud", Name: "openclaw" };

const INSTANCE: Planned = {
  type: "aws:ec2/instance:Instance",
  name: "openclaw-instance",
  inputs: {
    ami: "ami-0123456789abcdef0",
    instanceType: "t3.small",
    metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
    rootBlockDevice: { encrypted: true, volumeSize: 20 },
    ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }],
    tags: TAGS,
  },
};

const VOLUME: Planned = { type: "aws:ebs/volume:Volume", name: "openclaw-state", inputs: { encrypted: true, size: 20, tags: TAGS } };

function securityGroup(ingress: Array<Record<string, unknown>>): Planned {
  return { type: "aws:ec2/securityGroup:SecurityGroup", name: "openclaw-sg", inputs: { ingress, egress: [], tags: TAGS } };
}
const TLS_FROM_GATEWAY = { protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["203.0.113.0/24"] };

describe("aws-ec2-imdsv2-required", () => {
  const id = "aws-ec2-imdsv2-required";
  it("accepts httpTokens required", async () => {
    expect(await messages(id, [INSTANCE])).toEqual([]);
  });
  it("accepts a disabled metadata endpoint", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions", { httpEndpoint: "disabled" })])).toEqual([]);
  });
  it("catches httpTokens optional (IMDSv1)", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions.httpTokens", "optional")])).toEqual([
      expect.stringContaining('must be "required" (IMDSv2); got "optional"'),
    ]);
  });
  it("catches missing metadataOptions (AWS defaults may allow IMDSv1 and the AMI picks the hop limit)", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions", undefined)])).toEqual([
      expect.stringContaining("`metadataOptions.httpTokens`"),
      expect.stringContaining("`metadataOptions.httpPutResponseHopLimit`"),
    ]);
  });
  it("catches a launch template without IMDSv2", async () => {
    expect(
      await messages(id, [{ type: "aws:ec2/launchTemplate:LaunchTemplate", inputs: { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } } }]),
    ).toEqual([expect.stringContaining('must be "required" (IMDSv2); got "optional"')]);
  });
  it("fails closed on unknown httpTokens", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions.httpTokens", UNKNOWN)])).toEqual([
      expect.stringContaining("is not known until the update runs"),
    ]);
  });
});

describe("aws-ebs-encrypted", () => {
  const id = "aws-ebs-encrypted";
  it("accepts encrypted root, block devices and volumes", async () => {
    expect(await messages(id, [INSTANCE, VOLUME])).toEqual([]);
  });
  it("catches an unencrypted root volume", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.rootBlockDevice.encrypted", false)])).toEqual([
      expect.stringContaining("`rootBlockDevice.encrypted` must be true; got false"),
    ]);
  });
  it("catches a missing root block device (AMI default, often unencrypted)", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.rootBlockDevice", undefined)])).toEqual([expect.stringContaining("rootBlockDevice")]);
  });
  it("catches an unencrypted attached block device", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.ebsBlockDevices", [{ deviceName: "/dev/sdf" }])])).toEqual([
      expect.stringContaining("`ebsBlockDevices[0].encrypted`"),
    ]);
  });
  it("catches an unencrypted EBS volume", async () => {
    expect(await messages(id, [withPath(VOLUME, "inputs.encrypted", undefined)])).toEqual([expect.stringContaining("`encrypted` must be true")]);
  });
  it("fails closed on unknown encryption", async () => {
    expect(await messages(id, [withPath(VOLUME, "inputs.encrypted", UNKNOWN)])).toHaveLength(1);
  });
});

describe("aws-ec2-no-key-pair-without-ssh", () => {
  const id = "aws-ec2-no-key-pair-without-ssh";
  const keyPair: Planned = { type: "aws:ec2/keyPair:KeyPair", inputs: { publicKey: "ssh-ed25519 AAAA test", tags: TAGS } };
  const withKey = withPath(INSTANCE, "inputs.keyName", "openclaw-ssh");
  const sshAccess = { sshAccess: { publicKey: "ssh-ed25519 AAAA test", cidrs: ["198.51.100.0/24"] } };
  it("accepts an instance without a key", async () => {
    expect(await messages(id, [INSTANCE])).toEqual([]);
  });
  it("accepts a key pair when the stack configures SSH access", async () => {
    expect(await messages(id, [withKey, keyPair], sshAccess)).toEqual([]);
  });
  it("catches keyName without SSH access", async () => {
    expect(await messages(id, [withKey])).toEqual([expect.stringContaining("`keyName` is set")]);
  });
  it("catches a KeyPair resource without SSH access", async () => {
    expect(await messages(id, [keyPair])).toEqual([expect.stringContaining("`aws.ec2.KeyPair` is registered")]);
  });
  it("counts a keyName not known yet as set", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.keyName", UNKNOWN)])).toHaveLength(1);
  });
});

describe("aws-managed-by-tag", () => {
  const id = "aws-managed-by-tag";
  it("accepts ManagedBy=claw-cloud", async () => {
    expect(await messages(id, [INSTANCE, VOLUME, securityGroup([])])).toEqual([]);
  });
  it("catches a missing ManagedBy tag", async () => {
    expect(await messages(id, [withPath(VOLUME, "inputs.tags", { Name: "x" })])).toEqual([expect.stringContaining("got null")]);
  });
  it("catches a wrong ManagedBy value", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.tags.ManagedBy", "someone")])).toEqual([expect.stringContaining('got "someone"')]);
  });
});

describe("aws-security-group-no-world-admin-ports", () => {
  const id = "aws-security-group-no-world-admin-ports";
  it("accepts the gateway TLS port only, and SSH from a narrow CIDR", async () => {
    const ok = securityGroup([TLS_FROM_GATEWAY, { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["198.51.100.7/32"] }, { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }]);
    expect(await messages(id, [ok])).toEqual([]);
  });
  it("catches SSH from 0.0.0.0/0", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }])])).toEqual([
      "`ingress[0]` opens TCP 22 (SSH) to 0.0.0.0/0",
    ]);
  });
  it("catches RDP from ::/0", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 3389, toPort: 3389, ipv6CidrBlocks: ["::/0"] }])])).toEqual([
      expect.stringContaining("3389 (RDP) to ::/0"),
    ]);
  });
  it("catches the gateway's own port 18789 from the world", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 18789, toPort: 18789, cidrBlocks: ["0.0.0.0/0"] }])])).toEqual([
      expect.stringContaining("18789"),
    ]);
  });
  it("catches a port range that covers all three", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] }])])).toHaveLength(3);
  });
  it("catches protocol -1 (all traffic) from the world", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }])])).toHaveLength(3);
  });
  it("checks separate rule resources of both APIs", async () => {
    const rule: Planned = { type: "aws:ec2/securityGroupRule:SecurityGroupRule", inputs: { type: "ingress", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] } };
    const egress: Planned = { type: "aws:ec2/securityGroupRule:SecurityGroupRule", inputs: { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] } };
    const vpcRule: Planned = { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", inputs: { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv6: "::/0" } };
    expect(await messages(id, [rule, egress, vpcRule])).toHaveLength(2);
  });
  it("fails closed on unknown source CIDRs", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: UNKNOWN }])])).toHaveLength(1);
  });
});

describe("aws-security-group-gateway-port-restricted", () => {
  const id = "aws-security-group-gateway-port-restricted";
  it("accepts TCP 3000 from exactly the configured gateway CIDRs", async () => {
    expect(await messages(id, [securityGroup([TLS_FROM_GATEWAY])], GATEWAY)).toEqual([]);
  });
  it("catches TCP 3000 from the world", async () => {
    const found = await messages(id, [securityGroup([{ ...TLS_FROM_GATEWAY, cidrBlocks: ["0.0.0.0/0"] }])], GATEWAY);
    expect(found).toEqual([expect.stringContaining("opens TCP 3000 to 0.0.0.0/0, which are not configured gateway CIDRs (configured: 203.0.113.0/24)")]);
  });
  it("catches TCP 3000 from a CIDR that is not configured", async () => {
    expect(await messages(id, [securityGroup([{ ...TLS_FROM_GATEWAY, cidrBlocks: ["203.0.113.0/24", "10.0.0.0/8"] }])], GATEWAY)).toEqual([
      expect.stringContaining("to 10.0.0.0/8"),
    ]);
  });
  it("catches TCP 3000 opened when no gateway CIDRs are configured (closed default)", async () => {
    expect(await messages(id, [securityGroup([TLS_FROM_GATEWAY])])).toEqual([expect.stringContaining("none are configured")]);
  });
  it("catches TCP 3000 reachable from another security group", async () => {
    expect(await messages(id, [securityGroup([{ protocol: "tcp", fromPort: 3000, toPort: 3000, securityGroups: ["sg-1"] }])], GATEWAY)).toEqual([
      expect.stringContaining("source:securityGroups"),
    ]);
  });
});

// ---- artifact buckets: a bucket and its split resources, joined by the `bucket` reference ----

const BUCKET = "claw-firmware-artifacts";
const S3: Record<string, Planned> = {
  bucket: { type: "aws:s3/bucketV2:BucketV2", name: "artifacts", inputs: { bucket: BUCKET, objectLockEnabled: true, tags: TAGS } },
  versioning: {
    type: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    name: "artifacts-versioning",
    inputs: { bucket: BUCKET, versioningConfiguration: { status: "Enabled" } },
  },
  encryption: {
    type: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    name: "artifacts-encryption",
    inputs: {
      bucket: BUCKET,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k" }, bucketKeyEnabled: true }],
    },
  },
  publicAccessBlock: {
    type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    name: "artifacts-public-access",
    inputs: { bucket: BUCKET, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
  },
  objectLock: {
    type: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    name: "artifacts-object-lock",
    inputs: { bucket: BUCKET, rule: { defaultRetention: { mode: "COMPLIANCE", days: 365 } } },
  },
  policy: {
    type: "aws:s3/bucketPolicy:BucketPolicy",
    name: "artifacts-tls-only",
    inputs: {
      bucket: BUCKET,
      policy: doc({
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    },
  },
};

function bucketSet(change: (set: Record<string, Planned>) => void = () => undefined): Planned[] {
  const set = structuredClone(S3);
  change(set);
  return Object.values(set);
}

const BUCKET_RULES = [
  "aws-s3-bucket-versioning",
  "aws-s3-bucket-kms-encryption",
  "aws-s3-bucket-public-access-blocked",
  "aws-s3-bucket-object-lock",
  "aws-s3-bucket-tls-only",
];

describe("AWS artifact bucket rules", () => {
  it.each(BUCKET_RULES)("%s accepts the complete bucket set", async (id) => {
    expect(await messages(id, bucketSet())).toEqual([]);
  });
  it.each(BUCKET_RULES)("%s joins split resources by parent when the bucket name is not known yet", async (id) => {
    const parent = "urn:pulumi:test::clawstack::clawstack:firmware:AwsFirmwareBucket::fw";
    const resources = bucketSet((set) => {
      for (const entry of Object.values(set)) {
        entry.parent = parent;
        if (entry !== set.bucket) entry.inputs.bucket = UNKNOWN;
      }
    });
    expect(await messages(id, resources)).toEqual([]);
  });
  it("aws-s3-bucket-versioning catches a missing BucketVersioning", async () => {
    expect(await messages("aws-s3-bucket-versioning", bucketSet((set) => delete set.versioning))).toEqual([
      expect.stringContaining("has no `aws.s3.BucketVersioning`"),
    ]);
  });
  it("aws-s3-bucket-versioning catches versioning Suspended", async () => {
    expect(await messages("aws-s3-bucket-versioning", bucketSet((set) => (set.versioning!.inputs.versioningConfiguration = { status: "Suspended" })))).toHaveLength(1);
  });
  it("aws-s3-bucket-versioning does not let one bucket's versioning cover another bucket", async () => {
    const other: Planned = { type: "aws:s3/bucketV2:BucketV2", name: "other", inputs: { bucket: "other-bucket", tags: TAGS } };
    const found = await messages("aws-s3-bucket-versioning", [...bucketSet(), other]);
    expect(found).toHaveLength(1);
  });
  it("aws-s3-bucket-kms-encryption catches SSE-S3 (AES256)", async () => {
    const found = await messages("aws-s3-bucket-kms-encryption", bucketSet((set) => {
      set.encryption!.inputs.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }];
    }));
    expect(found).toEqual([expect.stringContaining('`sseAlgorithm` "aws:kms"')]);
  });
  it("aws-s3-bucket-kms-encryption catches aws:kms without a named key", async () => {
    const found = await messages("aws-s3-bucket-kms-encryption", bucketSet((set) => {
      set.encryption!.inputs.rules = [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }];
    }));
    expect(found).toHaveLength(1);
  });
  it("aws-s3-bucket-kms-encryption catches a missing encryption configuration", async () => {
    expect(await messages("aws-s3-bucket-kms-encryption", bucketSet((set) => delete set.encryption))).toHaveLength(1);
  });
  it("aws-s3-bucket-public-access-blocked catches a missing public access block", async () => {
    expect(await messages("aws-s3-bucket-public-access-blocked", bucketSet((set) => delete set.publicAccessBlock))).toEqual([
      "has no `aws.s3.BucketPublicAccessBlock`",
    ]);
  });
  it.each(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])(
    "aws-s3-bucket-public-access-blocked catches %s off",
    async (flag) => {
      const found = await messages("aws-s3-bucket-public-access-blocked", bucketSet((set) => (set.publicAccessBlock!.inputs[flag] = false)));
      expect(found).toEqual([`public access block leaves \`${flag}\` off`]);
    },
  );
  it("aws-s3-bucket-object-lock catches objectLockEnabled off on the bucket", async () => {
    expect(await messages("aws-s3-bucket-object-lock", bucketSet((set) => (set.bucket!.inputs.objectLockEnabled = false)))).toEqual([
      "`objectLockEnabled` must be true",
    ]);
  });
  it("aws-s3-bucket-object-lock catches GOVERNANCE mode", async () => {
    const found = await messages("aws-s3-bucket-object-lock", bucketSet((set) => (set.objectLock!.inputs.rule = { defaultRetention: { mode: "GOVERNANCE", days: 365 } })));
    expect(found).toEqual([expect.stringContaining("`COMPLIANCE` default retention")]);
  });
  it("aws-s3-bucket-object-lock catches a missing default retention period", async () => {
    const found = await messages("aws-s3-bucket-object-lock", bucketSet((set) => (set.objectLock!.inputs.rule = { defaultRetention: { mode: "COMPLIANCE" } })));
    expect(found).toHaveLength(1);
  });
  it("aws-s3-bucket-object-lock catches a missing object lock configuration", async () => {
    expect(await messages("aws-s3-bucket-object-lock", bucketSet((set) => delete set.objectLock))).toHaveLength(1);
  });
  it("aws-s3-bucket-tls-only catches a missing bucket policy", async () => {
    expect(await messages("aws-s3-bucket-tls-only", bucketSet((set) => delete set.policy))).toEqual([
      expect.stringContaining("no bucket policy denying `s3:*`"),
    ]);
  });
  it("aws-s3-bucket-tls-only catches a policy that does not deny plain HTTP", async () => {
    const found = await messages("aws-s3-bucket-tls-only", bucketSet((set) => {
      set.policy!.inputs.policy = doc({ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    }));
    expect(found).toHaveLength(1);
  });
  it("aws-s3-bucket-tls-only fails closed when the policy document is not known", async () => {
    const found = await messages("aws-s3-bucket-tls-only", bucketSet((set) => (set.policy!.inputs.policy = UNKNOWN)));
    expect(found).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});
