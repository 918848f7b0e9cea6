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

/** Issue 19, class 1: the same controls on a launch template, and the IMDS hop limit. */
const LAUNCH_TEMPLATE: Planned = {
  type: "aws:ec2/launchTemplate:LaunchTemplate",
  name: "openclaw-template",
  inputs: {
    imageId: "ami-0123456789abcdef0",
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    blockDeviceMappings: [
      { deviceName: "/dev/sda1", ebs: { encrypted: "true", volumeSize: 20 } },
      { deviceName: "/dev/sdb", virtualName: "ephemeral0" },
    ],
    tags: TAGS,
  },
};

describe("aws-ec2-imdsv2-required: hop limit, on instances and launch templates", () => {
  const id = "aws-ec2-imdsv2-required";
  it("accepts a launch template with IMDSv2 and hop limit 1", async () => {
    expect(await messages(id, [LAUNCH_TEMPLATE])).toEqual([]);
  });
  it("catches an instance with hop limit 2 (containers on the host reach the token)", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions.httpPutResponseHopLimit", 2)])).toEqual([
      expect.stringContaining("`metadataOptions.httpPutResponseHopLimit` must be 1"),
    ]);
  });
  it("catches a launch template with hop limit 3", async () => {
    expect(await messages(id, [withPath(LAUNCH_TEMPLATE, "inputs.metadataOptions.httpPutResponseHopLimit", 3)])).toEqual([
      expect.stringContaining("got 3"),
    ]);
  });
  it("catches a hop limit given as the string \"2\"", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadataOptions.httpPutResponseHopLimit", "2")])).toHaveLength(1);
  });
  it("catches a hop limit left to the AMI (v2.0 AMIs default to 2)", async () => {
    expect(await messages(id, [withPath(LAUNCH_TEMPLATE, "inputs.metadataOptions.httpPutResponseHopLimit", undefined)])).toEqual([
      expect.stringContaining("got null"),
    ]);
  });
  it("catches a launch configuration with httpTokens optional", async () => {
    const config: Planned = { type: "aws:ec2/launchConfiguration:LaunchConfiguration", inputs: { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 } } };
    expect(await messages(id, [config])).toHaveLength(1);
  });
  it("fails closed on an unknown hop limit", async () => {
    expect(await messages(id, [withPath(LAUNCH_TEMPLATE, "inputs.metadataOptions.httpPutResponseHopLimit", UNKNOWN)])).toEqual([
      expect.stringContaining("is not known until the update runs"),
    ]);
  });
});

describe("aws-ebs-encrypted: launch templates", () => {
  const id = "aws-ebs-encrypted";
  const mapping = "inputs.blockDeviceMappings";
  const root = (ebs: Record<string, unknown>) => withPath(LAUNCH_TEMPLATE, mapping, [{ deviceName: "/dev/sda1", ebs }]);
  it("accepts encrypted: \"true\" (the provider's string form) next to an instance-store mapping", async () => {
    expect(await messages(id, [LAUNCH_TEMPLATE])).toEqual([]);
  });
  it("accepts encrypted: true (boolean)", async () => {
    expect(await messages(id, [root({ encrypted: true })])).toEqual([]);
  });
  it("catches encrypted: false (boolean)", async () => {
    expect(await messages(id, [root({ encrypted: false })])).toEqual(['`blockDeviceMappings[0].ebs.encrypted` must be "true"; got false']);
  });
  it("catches encrypted: \"false\" (string)", async () => {
    expect(await messages(id, [root({ encrypted: "false" })])).toEqual(['`blockDeviceMappings[0].ebs.encrypted` must be "true"; got "false"']);
  });
  it("catches an ebs block without encrypted", async () => {
    expect(await messages(id, [root({ volumeSize: 20 })])).toEqual([expect.stringContaining("got null")]);
  });
  it("catches a second, unencrypted data mapping", async () => {
    const two = withPath(LAUNCH_TEMPLATE, mapping, [
      { deviceName: "/dev/sda1", ebs: { encrypted: "true" } },
      { deviceName: "/dev/sdf", ebs: { encrypted: "false" } },
    ]);
    expect(await messages(id, [two])).toEqual([expect.stringContaining("`blockDeviceMappings[1].ebs.encrypted`")]);
  });
  it("catches a launch template with no EBS mapping (the AMI's default root volume)", async () => {
    expect(await messages(id, [withPath(LAUNCH_TEMPLATE, mapping, undefined)])).toEqual([expect.stringContaining("sets no `ebs` block")]);
  });
  it("fails closed on unknown encryption", async () => {
    expect(await messages(id, [root({ encrypted: UNKNOWN })])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

describe("aws-ec2-no-key-pair-without-ssh: launch configurations and spot requests", () => {
  it("catches keyName on a launch configuration without sshAccess", async () => {
    const config: Planned = { type: "aws:ec2/launchConfiguration:LaunchConfiguration", inputs: { keyName: "ops" } };
    expect(await messages("aws-ec2-no-key-pair-without-ssh", [config])).toHaveLength(1);
  });
});

/** Issue 19, class 2: rotation of symmetric keys; asymmetric keys are the safe look-alike. */
describe("aws-kms-key-rotation", () => {
  const id = "aws-kms-key-rotation";
  const KEY: Planned = {
    type: "aws:kms/key:Key",
    name: "state-key",
    inputs: { keyUsage: "ENCRYPT_DECRYPT", customerMasterKeySpec: "SYMMETRIC_DEFAULT", enableKeyRotation: true, tags: TAGS },
  };
  it("accepts a symmetric key with rotation on", async () => {
    expect(await messages(id, [KEY])).toEqual([]);
  });
  it("accepts an asymmetric signing key (ECC_NIST_P256, SIGN_VERIFY) without rotation", async () => {
    const signing = { ...KEY, inputs: { keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256", tags: TAGS } };
    expect(await messages(id, [signing])).toEqual([]);
  });
  it("accepts an RSA encryption key (keySpec RSA_2048), which KMS cannot rotate", async () => {
    expect(await messages(id, [{ ...KEY, inputs: { keyUsage: "ENCRYPT_DECRYPT", keySpec: "RSA_2048", tags: TAGS } }])).toEqual([]);
  });
  it("catches rotation off", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.enableKeyRotation", false)])).toEqual([
      "symmetric encryption key: `enableKeyRotation` must be true; got false",
    ]);
  });
  it("catches rotation left out on a key with every default (symmetric)", async () => {
    expect(await messages(id, [{ ...KEY, inputs: { tags: TAGS } }])).toHaveLength(1);
  });
  it("catches rotation off on a key given as keySpec SYMMETRIC_DEFAULT", async () => {
    expect(await messages(id, [{ ...KEY, inputs: { keySpec: "SYMMETRIC_DEFAULT", tags: TAGS } }])).toHaveLength(1);
  });
  it("catches a rotation period over a year", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.rotationPeriodInDays", 730)])).toEqual([expect.stringContaining("at most 365; got 730")]);
  });
  it("fails closed on an unknown key usage", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.keyUsage", UNKNOWN)])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

/** Issue 19, class 4: who may write a firmware bucket. */
const PUBLISHER = "arn:aws:iam::123456789012:role/firmware-publisher";
const READER = "arn:aws:iam::123456789012:role/energy-core-update-service";
const FIRMWARE_CONFIG = { publisherRoleArn: PUBLISHER };
const BUCKET_ARN = "arn:aws:s3:::example-energy-core-firmware";

function bucketPolicy(...statements: Array<Record<string, unknown>>): Planned {
  return { type: "aws:s3/bucketPolicy:BucketPolicy", name: "firmware-policy", inputs: { bucket: "example-energy-core-firmware", policy: doc(...statements) } };
}
const DENY_OTHERS = {
  Effect: "Deny",
  Principal: { AWS: "*" },
  Action: ["s3:PutObject", "s3:DeleteObject"],
  Resource: `${BUCKET_ARN}/*`,
  Condition: { StringNotEquals: { "aws:PrincipalArn": PUBLISHER } },
};
const PUBLISHER_WRITES = { Effect: "Allow", Principal: { AWS: PUBLISHER }, Action: ["s3:PutObject", "s3:GetObject", "s3:ListBucket"], Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`] };
const READERS_READ = { Effect: "Allow", Principal: { AWS: [READER] }, Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"], Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`] };

describe("aws-s3-bucket-policy-writes-publisher-only", () => {
  const id = "aws-s3-bucket-policy-writes-publisher-only";
  it("accepts writes by the configured publisher and reads by readers", async () => {
    expect(await messages(id, [bucketPolicy(DENY_OTHERS, PUBLISHER_WRITES, READERS_READ)], FIRMWARE_CONFIG)).toEqual([]);
  });
  it("accepts the firmware component's own policy", async () => {
    const { renderFirmwareBucketPolicy, resolveAwsFirmwareBucketArgs } = await import("../../components/firmware/aws.js");
    const resolved = resolveAwsFirmwareBucketArgs({ bucketName: "example-energy-core-firmware", accountId: "123456789012", publisherRoleArn: PUBLISHER, readerRoleArns: [READER] });
    const policy = renderFirmwareBucketPolicy(resolved, BUCKET_ARN, "arn:aws:kms:eu-west-1:123456789012:key/k");
    expect(await messages(id, [{ ...bucketPolicy(), inputs: { policy: JSON.stringify(policy) } }], FIRMWARE_CONFIG)).toEqual([]);
  });
  it("accepts Principal \"*\" narrowed to the publisher by aws:PrincipalArn", async () => {
    const narrowed = { ...PUBLISHER_WRITES, Principal: "*", Condition: { ArnEquals: { "aws:PrincipalArn": PUBLISHER } } };
    expect(await messages(id, [bucketPolicy(narrowed)], FIRMWARE_CONFIG)).toEqual([]);
  });
  it.each([
    ["s3:PutObject", "s3:PutObject"],
    ["s3:PutObject*", "s3:PutObject*"],
    ["s3:DeleteObjectVersion", "s3:DeleteObjectVersion"],
    ["s3:PutBucketPolicy", "s3:PutBucketPolicy"],
    ["s3:*", "s3:*"],
    ["*", "*"],
  ])("catches a reader role allowed %s", async (action, shown) => {
    const found = await messages(id, [bucketPolicy(DENY_OTHERS, PUBLISHER_WRITES, { ...READERS_READ, Action: ["s3:GetObject", action] })], FIRMWARE_CONFIG);
    expect(found).toEqual([expect.stringContaining(`allows "${shown}" to "${READER}"`)]);
  });
  it("catches writes allowed to every principal", async () => {
    const found = await messages(id, [bucketPolicy({ ...PUBLISHER_WRITES, Principal: "*" })], FIRMWARE_CONFIG);
    expect(found).toEqual([expect.stringContaining('to "*"')]);
  });
  it("catches writes allowed to the account root (every principal of the account)", async () => {
    const found = await messages(id, [bucketPolicy({ ...PUBLISHER_WRITES, Principal: { AWS: "arn:aws:iam::123456789012:root" } })], FIRMWARE_CONFIG);
    expect(found).toHaveLength(1);
  });
  it("catches an Allow with NotAction given to a reader", async () => {
    const found = await messages(id, [bucketPolicy({ Effect: "Allow", Principal: { AWS: READER }, NotAction: "s3:GetObject", Resource: "*" })], FIRMWARE_CONFIG);
    expect(found).toEqual([expect.stringContaining('"NotAction"')]);
  });
  it("catches any writer when no publisher role is configured (closed default)", async () => {
    expect(await messages(id, [bucketPolicy(PUBLISHER_WRITES)])).toEqual([expect.stringContaining("no publisher role is configured")]);
  });
  it("catches a reader allowed to write in a bucket's inline policy", async () => {
    const bucket: Planned = { type: "aws:s3/bucket:Bucket", inputs: { policy: doc({ ...READERS_READ, Action: "s3:PutObject" }) } };
    expect(await messages(id, [bucket], FIRMWARE_CONFIG)).toHaveLength(1);
  });
  it("fails closed on a policy not known yet", async () => {
    expect(await messages(id, [{ ...bucketPolicy(), inputs: { policy: UNKNOWN } }], FIRMWARE_CONFIG)).toEqual([
      expect.stringContaining("is not known until the update runs"),
    ]);
  });
});

/** Issue 19, class 5: public ACLs are side doors even behind Block Public Access. */
describe("aws-s3-bucket-no-public-acl", () => {
  const id = "aws-s3-bucket-no-public-acl";
  const ACL: Planned = {
    type: "aws:s3/bucketAclV2:BucketAclV2",
    name: "firmware-acl",
    inputs: {
      bucket: "b",
      accessControlPolicy: {
        owner: { id: "owner-canonical-id" },
        grants: [{ permission: "FULL_CONTROL", grantee: { type: "CanonicalUser", id: "owner-canonical-id" } }],
      },
    },
  };
  const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
  it("accepts a private ACL and grants to the owner", async () => {
    expect(await messages(id, [ACL, { type: "aws:s3/bucketAcl:BucketAcl", inputs: { bucket: "b", acl: "private" } }])).toEqual([]);
  });
  it("accepts log-delivery-write (not public)", async () => {
    expect(await messages(id, [{ type: "aws:s3/bucketAcl:BucketAcl", inputs: { bucket: "b", acl: "log-delivery-write" } }])).toEqual([]);
  });
  it.each(["public-read", "public-read-write", "authenticated-read"])("catches the canned ACL %s on a BucketAclV2", async (acl) => {
    expect(await messages(id, [{ ...ACL, inputs: { bucket: "b", acl } }])).toEqual([`\`acl\` is "${acl}"`]);
  });
  it("catches a canned public ACL on a BucketAcl (provider v7 name)", async () => {
    expect(await messages(id, [{ type: "aws:s3/bucketAcl:BucketAcl", inputs: { bucket: "b", acl: "public-read" } }])).toHaveLength(1);
  });
  it("catches a grant to AllUsers", async () => {
    const grants = [{ permission: "READ", grantee: { type: "Group", uri: ALL_USERS } }];
    expect(await messages(id, [withPath(ACL, "inputs.accessControlPolicy.grants", grants)])).toEqual([
      "`accessControlPolicy.grants[0]` grants AllUsers",
    ]);
  });
  it("catches a grant to AuthenticatedUsers (any AWS account)", async () => {
    const grants = [{ permission: "READ", grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" } }];
    expect(await messages(id, [withPath(ACL, "inputs.accessControlPolicy.grants", grants)])).toEqual([expect.stringContaining("AuthenticatedUsers")]);
  });
  it("catches acl on the bucket itself, and inline grants", async () => {
    expect(await messages(id, [{ type: "aws:s3/bucket:Bucket", inputs: { acl: "public-read" } }])).toHaveLength(1);
    expect(await messages(id, [{ type: "aws:s3/bucketV2:BucketV2", inputs: { grants: [{ type: "Group", uri: ALL_USERS, permissions: ["READ"] }] } }])).toHaveLength(1);
  });
  it("catches a public object ACL", async () => {
    expect(await messages(id, [{ type: "aws:s3/bucketObjectv2:BucketObjectv2", inputs: { bucket: "b", key: "k", acl: "public-read" } }])).toHaveLength(1);
  });
  it("fails closed on an ACL not known yet", async () => {
    expect(await messages(id, [{ ...ACL, inputs: { bucket: "b", acl: UNKNOWN } }])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

/** Issue 19, class 8: plaintext secrets in SSM String parameters; public keys are the safe look-alike. */
describe("aws-ssm-parameter-secrets-encrypted", () => {
  const id = "aws-ssm-parameter-secrets-encrypted";
  // Built at run time so no secret-looking literal sits in the source.
  const privateKey = ["-----BEGIN", "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"].join(" ");
  const token = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 73 + 41) % 256)).toString("base64url");
  const param = (inputs: Record<string, unknown>): Planned => ({ type: "aws:ssm/parameter:Parameter", name: "param", inputs: { tags: TAGS, ...inputs } });
  it("accepts a SecureString holding a private key", async () => {
    expect(await messages(id, [param({ name: "/clawstack/host/deploy-key", type: "SecureString", value: privateKey })])).toEqual([]);
  });
  it("accepts an SSH public key in a String parameter named like a key", async () => {
    expect(await messages(id, [param({ name: "/clawstack/host/ssh-public-key", type: "String", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl you@laptop" })])).toEqual([]);
  });
  it("accepts plain values: an AMI id, a URL, a UUID, a digest under a digest name", async () => {
    expect(
      await messages(id, [
        param({ name: "/clawstack/ami", type: "String", value: "ami-0123456789abcdef0" }),
        param({ name: "/clawstack/bundle-url", type: "String", value: "https://artifacts.example.com/clawchat.js" }),
        param({ name: "/clawstack/instance", type: "String", value: "0d2b5c9e-3a1f-4b7e-9c6d-8e2f1a3b4c5d" }),
        param({ name: "/clawstack/clawchat-sha256", type: "String", value: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
        param({ name: "/clawstack/kms-key-arn", type: "String", value: "arn:aws:kms:eu-west-1:123456789012:key/k" }),
      ]),
    ).toEqual([]);
  });
  it("catches a private key in a String parameter", async () => {
    expect(await messages(id, [param({ name: "/clawstack/host/deploy", type: "String", value: privateKey })])).toEqual([
      expect.stringContaining("a private key block"),
    ]);
  });
  it("catches a token in a StringList parameter", async () => {
    expect(await messages(id, [param({ name: "/clawstack/list", type: "StringList", value: `a,GATEWAY_TOKEN=${token}` })])).toHaveLength(1);
  });
  it("catches a parameter whose name says it holds a secret", async () => {
    expect(await messages(id, [param({ name: "/clawstack/gateway-token", type: "String", value: "correct horse battery staple" })])).toEqual([
      expect.stringContaining("the name `/clawstack/gateway-token` says `value` is a secret"),
    ]);
  });
  it("catches a standalone high-entropy token under a neutral name", async () => {
    expect(await messages(id, [param({ name: "/clawstack/gateway", type: "String", value: token })])).toEqual([expect.stringContaining("looks like a token")]);
  });
  it("catches a Pulumi secret stored as a String", async () => {
    expect(await messages(id, [param({ name: "/clawstack/x", type: "String", value: "[secret]" })])).toEqual([expect.stringContaining("Pulumi secret")]);
  });
  it("catches a secret in insecureValue", async () => {
    expect(await messages(id, [param({ name: "/clawstack/x", type: "String", insecureValue: privateKey })])).toHaveLength(1);
  });
  it("fails closed on a String value not known yet", async () => {
    expect(await messages(id, [param({ name: "/clawstack/x", type: "String", value: UNKNOWN })])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});
