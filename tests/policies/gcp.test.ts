/** GCP rules: one compliant fixture each, then one failing case per broken property. */
import { describe, expect, it } from "vitest";
import { UNKNOWN, messages, withPath, type Planned } from "./support";

const GATEWAY = { gatewayCidrs: ["203.0.113.0/24"] };
const LABELS = { "managed-by": "claw-cloud" };

const INSTANCE: Planned = {
  type: "gcp:compute/instance:Instance",
  name: "openclaw-instance",
  inputs: {
    machineType: "e2-small",
    zone: "europe-west1-b",
    shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
    metadata: { "block-project-ssh-keys": "true", "enable-oslogin": "FALSE" },
    labels: LABELS,
  },
};

function firewall(allows: Array<Record<string, unknown>>, sourceRanges: unknown = ["203.0.113.0/24"], extra: Record<string, unknown> = {}): Planned {
  return { type: "gcp:compute/firewall:Firewall", name: "openclaw-fw", inputs: { network: "default", direction: "INGRESS", allows, sourceRanges, ...extra } };
}

const BUCKET: Planned = {
  type: "gcp:storage/bucket:Bucket",
  name: "artifacts",
  inputs: {
    location: "EU",
    // No versioning: Cloud Storage refuses it on a bucket with a retention policy.
    retentionPolicy: { retentionPeriod: 31536000, isLocked: true },
    encryption: { defaultKmsKeyName: "projects/p/locations/eu/keyRings/r/cryptoKeys/k" },
    publicAccessPrevention: "enforced",
    uniformBucketLevelAccess: true,
    labels: LABELS,
  },
};

describe("gcp-shielded-vm", () => {
  const id = "gcp-shielded-vm";
  it("accepts secure boot, vTPM and integrity monitoring", async () => {
    expect(await messages(id, [INSTANCE])).toEqual([]);
  });
  it.each(["enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"])("catches %s off", async (setting) => {
    expect(await messages(id, [withPath(INSTANCE, `inputs.shieldedInstanceConfig.${setting}`, false)])).toEqual([
      `\`shieldedInstanceConfig.${setting}\` must be true`,
    ]);
  });
  it("catches a missing shieldedInstanceConfig on a template", async () => {
    expect(await messages(id, [{ type: "gcp:compute/instanceTemplate:InstanceTemplate", inputs: {} }])).toHaveLength(3);
  });
});

describe("gcp-block-project-ssh-keys", () => {
  const id = "gcp-block-project-ssh-keys";
  it('accepts block-project-ssh-keys "true"', async () => {
    expect(await messages(id, [INSTANCE])).toEqual([]);
  });
  it("catches the key missing", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadata", { foo: "bar" })])).toEqual([expect.stringContaining("got null")]);
  });
  it('catches "false"', async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadata.block-project-ssh-keys", "false")])).toHaveLength(1);
  });
  it("fails closed when metadata is not known yet", async () => {
    expect(await messages(id, [withPath(INSTANCE, "inputs.metadata", UNKNOWN)])).toEqual([expect.stringContaining("`metadata` is not known")]);
  });
});

describe("gcp-firewall-no-world-admin-ports", () => {
  const id = "gcp-firewall-no-world-admin-ports";
  it("accepts 3000 from the gateway CIDRs and 443 from the world", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["3000"] }]), firewall([{ protocol: "tcp", ports: ["443"] }], ["0.0.0.0/0"])])).toEqual([]);
  });
  it("accepts egress rules", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["22"] }], ["0.0.0.0/0"], { direction: "EGRESS" })])).toEqual([]);
  });
  it("catches SSH from 0.0.0.0/0", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["22"] }], ["0.0.0.0/0"])])).toEqual(["`allows[0]` opens TCP 22 (SSH) to 0.0.0.0/0"]);
  });
  it("catches a range covering RDP", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["3000-4000"] }], ["0.0.0.0/0"])])).toEqual([expect.stringContaining("3389 (RDP)")]);
  });
  it("catches all ports of a protocol (no ports) from the world", async () => {
    expect(await messages(id, [firewall([{ protocol: "all" }], ["::/0"])])).toHaveLength(3);
  });
  it("catches an ingress rule with no source at all (GCP applies it to every source)", async () => {
    const noSource = withPath(firewall([{ protocol: "tcp", ports: ["18789"] }]), "inputs.sourceRanges", undefined);
    expect(await messages(id, [noSource])).toEqual([expect.stringContaining("18789")]);
  });
});

describe("gcp-firewall-gateway-port-restricted", () => {
  const id = "gcp-firewall-gateway-port-restricted";
  it("accepts TCP 3000 from the configured gateway CIDRs", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["3000"] }])], GATEWAY)).toEqual([]);
  });
  it("catches TCP 3000 from the world", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["3000"] }], ["0.0.0.0/0"])], GATEWAY)).toHaveLength(1);
  });
  it("catches TCP 3000 from network tags", async () => {
    expect(await messages(id, [firewall([{ protocol: "tcp", ports: ["3000"] }], [], { sourceTags: ["web"] })], GATEWAY)).toEqual([
      expect.stringContaining("source:sourceTags"),
    ]);
  });
});

describe("gcp-no-primitive-roles", () => {
  const id = "gcp-no-primitive-roles";
  it("accepts predefined and custom roles", async () => {
    const ok: Planned[] = [
      { type: "gcp:projects/iAMMember:IAMMember", inputs: { project: "p", role: "roles/compute.instanceAdmin.v1", member: "serviceAccount:x@p.iam.gserviceaccount.com" } },
      { type: "gcp:storage/bucketIAMBinding:BucketIAMBinding", inputs: { bucket: "b", role: "projects/p/roles/clawProvisioner", members: ["user:a@example.com"] } },
    ];
    expect(await messages(id, ok)).toEqual([]);
  });
  it.each(["roles/owner", "roles/editor", "roles/viewer"])("catches %s in a member", async (role) => {
    const found = await messages(id, [{ type: "gcp:projects/iAMMember:IAMMember", inputs: { project: "p", role, member: "user:a@example.com" } }]);
    expect(found).toEqual([`\`role\` is the primitive role \`${role}\``]);
  });
  it("catches roles/editor in a binding", async () => {
    expect(await messages(id, [{ type: "gcp:projects/iAMBinding:IAMBinding", inputs: { project: "p", role: "roles/editor", members: [] } }])).toHaveLength(1);
  });
  it("catches roles/owner in a full IAM policy document", async () => {
    const policyData = JSON.stringify({ bindings: [{ role: "roles/storage.admin", members: [] }, { role: "roles/owner", members: ["user:a@example.com"] }] });
    expect(await messages(id, [{ type: "gcp:projects/iAMPolicy:IAMPolicy", inputs: { project: "p", policyData } }])).toEqual([
      "`policyData` binds the primitive role `roles/owner`",
    ]);
  });
  it("fails closed on a role not known yet", async () => {
    expect(await messages(id, [{ type: "gcp:projects/iAMMember:IAMMember", inputs: { project: "p", role: UNKNOWN, member: "x" } }])).toHaveLength(1);
  });
});

describe("gcp-no-service-account-keys", () => {
  const id = "gcp-no-service-account-keys";
  it("accepts a service account without keys", async () => {
    expect(await messages(id, [{ type: "gcp:serviceaccount/account:Account", inputs: { accountId: "openclaw-host" } }])).toEqual([]);
  });
  it("catches a service-account key", async () => {
    expect(await messages(id, [{ type: "gcp:serviceaccount/key:Key", inputs: { serviceAccountId: "x" } }])).toEqual([expect.stringContaining("long-lived key")]);
  });
  it("catches an HMAC key", async () => {
    expect(await messages(id, [{ type: "gcp:storage/hmacKey:HmacKey", inputs: { serviceAccountEmail: "x" } }])).toHaveLength(1);
  });
});

describe("gcp-workload-identity-provider-attribute-condition", () => {
  const id = "gcp-workload-identity-provider-attribute-condition";
  const provider: Planned = {
    type: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    inputs: { workloadIdentityPoolId: "claw", aws: { accountId: "111122223333" }, attributeCondition: "attribute.aws_role == \"arn:aws:sts::111122223333:assumed-role/claw-cloud-provisioner\"" },
  };
  it("accepts a provider with an attribute condition", async () => {
    expect(await messages(id, [provider])).toEqual([]);
  });
  it("catches a missing attribute condition", async () => {
    expect(await messages(id, [withPath(provider, "inputs.attributeCondition", undefined)])).toHaveLength(1);
  });
  it("catches a blank attribute condition", async () => {
    expect(await messages(id, [withPath(provider, "inputs.attributeCondition", "  ")])).toHaveLength(1);
  });
});

describe("GCS artifact bucket rules", () => {
  it.each(["gcp-storage-bucket-versioning", "gcp-storage-bucket-locked-retention", "gcp-storage-bucket-cmek", "gcp-storage-bucket-public-access-prevented"])(
    "%s accepts the compliant bucket",
    async (id) => {
      expect(await messages(id, [BUCKET])).toEqual([]);
    },
  );
  it("gcp-storage-bucket-versioning accepts versioning on a bucket without a retention policy", async () => {
    const versioned = withPath(withPath(BUCKET, "inputs.retentionPolicy", undefined), "inputs.versioning", { enabled: true });
    expect(await messages("gcp-storage-bucket-versioning", [versioned])).toEqual([]);
  });
  it("gcp-storage-bucket-versioning catches neither versioning nor a retention policy", async () => {
    const bare = withPath(withPath(BUCKET, "inputs.retentionPolicy", undefined), "inputs.versioning", { enabled: false });
    expect(await messages("gcp-storage-bucket-versioning", [bare])).toEqual([expect.stringContaining("`versioning.enabled` must be true, or `retentionPolicy.retentionPeriod`")]);
  });
  it("gcp-storage-bucket-versioning catches a zero retention period without versioning", async () => {
    expect(await messages("gcp-storage-bucket-versioning", [withPath(BUCKET, "inputs.retentionPolicy.retentionPeriod", 0)])).toHaveLength(1);
  });
  it("gcp-storage-bucket-locked-retention catches an unlocked retention policy", async () => {
    expect(await messages("gcp-storage-bucket-locked-retention", [withPath(BUCKET, "inputs.retentionPolicy.isLocked", false)])).toEqual([
      "`retentionPolicy.isLocked` must be true",
    ]);
  });
  it("gcp-storage-bucket-locked-retention catches a zero retention period", async () => {
    expect(await messages("gcp-storage-bucket-locked-retention", [withPath(BUCKET, "inputs.retentionPolicy.retentionPeriod", 0)])).toEqual([
      expect.stringContaining("positive number of seconds"),
    ]);
  });
  it("gcp-storage-bucket-cmek catches a missing default KMS key", async () => {
    expect(await messages("gcp-storage-bucket-cmek", [withPath(BUCKET, "inputs.encryption", undefined)])).toHaveLength(1);
  });
  it("gcp-storage-bucket-cmek counts a key created in the same stack (unknown at preview) as set", async () => {
    expect(await messages("gcp-storage-bucket-cmek", [withPath(BUCKET, "inputs.encryption.defaultKmsKeyName", UNKNOWN)])).toEqual([]);
  });
  it('gcp-storage-bucket-public-access-prevented catches publicAccessPrevention "inherited"', async () => {
    expect(await messages("gcp-storage-bucket-public-access-prevented", [withPath(BUCKET, "inputs.publicAccessPrevention", "inherited")])).toEqual([
      expect.stringContaining('got "inherited"'),
    ]);
  });
  it("gcp-storage-bucket-public-access-prevented catches fine-grained (per-object) ACLs", async () => {
    expect(await messages("gcp-storage-bucket-public-access-prevented", [withPath(BUCKET, "inputs.uniformBucketLevelAccess", false)])).toEqual([
      "`uniformBucketLevelAccess` must be true",
    ]);
  });
});

/** Issue 19, class 2: Cloud KMS rotation; asymmetric signing keys are the safe look-alike. */
describe("gcp-kms-crypto-key-rotation", () => {
  const id = "gcp-kms-crypto-key-rotation";
  const KEY: Planned = { type: "gcp:kms/cryptoKey:CryptoKey", name: "cmek", inputs: { keyRing: "ring", name: "firmware-bucket", purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s", labels: LABELS } };
  it("accepts a symmetric key rotating every 90 days", async () => {
    expect(await messages(id, [KEY])).toEqual([]);
  });
  it("accepts a shorter period with fractional seconds", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.rotationPeriod", "2592000.5s")])).toEqual([]);
  });
  it("accepts an asymmetric signing key (ASYMMETRIC_SIGN) without rotation", async () => {
    const signing = { ...KEY, inputs: { keyRing: "ring", purpose: "ASYMMETRIC_SIGN", versionTemplate: { algorithm: "EC_SIGN_P256_SHA256", protectionLevel: "HSM" }, labels: LABELS } };
    expect(await messages(id, [signing])).toEqual([]);
  });
  it("catches a symmetric key without a rotation period", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.rotationPeriod", undefined)])).toEqual([
      expect.stringContaining("`rotationPeriod` must be set"),
    ]);
  });
  it("catches a key with the default purpose and no rotation", async () => {
    expect(await messages(id, [{ ...KEY, inputs: { keyRing: "ring", labels: LABELS } }])).toHaveLength(1);
  });
  it("catches a rotation period over 90 days", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.rotationPeriod", "31536000s")])).toEqual([expect.stringContaining('at most "7776000s" (90 days); got "31536000s"')]);
  });
  it("catches a rotation period that is not a duration", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.rotationPeriod", "90d")])).toHaveLength(1);
  });
  it("fails closed on an unknown purpose", async () => {
    expect(await messages(id, [withPath(KEY, "inputs.purpose", UNKNOWN)])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

/** Issue 19, class 5: allUsers/allAuthenticatedUsers side doors, even behind public access prevention. */
describe("gcp-no-public-members", () => {
  const id = "gcp-no-public-members";
  const MEMBER: Planned = { type: "gcp:storage/bucketIAMMember:BucketIAMMember", name: "readers", inputs: { bucket: "b", role: "roles/storage.objectViewer", member: "serviceAccount:reader@p.iam.gserviceaccount.com" } };
  it("accepts grants to named members", async () => {
    expect(await messages(id, [MEMBER, { type: "gcp:storage/bucketIAMBinding:BucketIAMBinding", inputs: { bucket: "b", role: "roles/storage.objectViewer", members: ["group:ops@example.com"] } }])).toEqual([]);
  });
  it.each(["allUsers", "allAuthenticatedUsers"])("catches a BucketIAMMember to %s", async (member) => {
    expect(await messages(id, [withPath(MEMBER, "inputs.member", member)])).toEqual([`\`member\` grants \`roles/storage.objectViewer\` to "${member}"`]);
  });
  it("catches a BucketIAMBinding including allUsers", async () => {
    const binding: Planned = { type: "gcp:storage/bucketIAMBinding:BucketIAMBinding", inputs: { bucket: "b", role: "roles/storage.objectViewer", members: ["group:ops@example.com", "allUsers"] } };
    expect(await messages(id, [binding])).toHaveLength(1);
  });
  it("catches a BucketIAMPolicy binding allAuthenticatedUsers", async () => {
    const policyData = JSON.stringify({ bindings: [{ role: "roles/storage.objectViewer", members: ["allAuthenticatedUsers"] }] });
    expect(await messages(id, [{ type: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", inputs: { bucket: "b", policyData } }])).toEqual([
      expect.stringContaining("`policyData.bindings[0]`"),
    ]);
  });
  it("catches the same grant on another resource (a KMS key)", async () => {
    expect(await messages(id, [{ type: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", inputs: { cryptoKeyId: "k", role: "roles/cloudkms.signerVerifier", member: "allUsers" } }])).toHaveLength(1);
  });
  it("catches public ACL entities and canned ACLs", async () => {
    expect(await messages(id, [{ type: "gcp:storage/bucketAccessControl:BucketAccessControl", inputs: { bucket: "b", entity: "allUsers", role: "READER" } }])).toHaveLength(1);
    expect(await messages(id, [{ type: "gcp:storage/bucketACL:BucketACL", inputs: { bucket: "b", roleEntities: ["READER:allAuthenticatedUsers"] } }])).toHaveLength(1);
    expect(await messages(id, [{ type: "gcp:storage/bucketACL:BucketACL", inputs: { bucket: "b", predefinedAcl: "publicRead" } }])).toHaveLength(1);
  });
  it("fails closed on a member not known yet", async () => {
    expect(await messages(id, [withPath(MEMBER, "inputs.member", UNKNOWN)])).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

/** Issue 19, class 4: who may write the firmware bucket on GCP. */
describe("gcp-storage-bucket-writes-publisher-only", () => {
  const id = "gcp-storage-bucket-writes-publisher-only";
  const PUBLISHER = "serviceAccount:firmware-publisher@example-firmware-project.iam.gserviceaccount.com";
  const DEVICE = "serviceAccount:device-fleet@example-firmware-project.iam.gserviceaccount.com";
  const CONFIG = { publisherMember: PUBLISHER };
  const WRITER: Planned = { type: "gcp:storage/bucketIAMMember:BucketIAMMember", name: "publisher-writes", inputs: { bucket: "b", role: "roles/storage.objectCreator", member: PUBLISHER } };
  const READER: Planned = { type: "gcp:storage/bucketIAMMember:BucketIAMMember", name: "device-reads", inputs: { bucket: "b", role: "roles/storage.objectViewer", member: DEVICE } };
  it("accepts objectCreator for the publisher and objectViewer for devices", async () => {
    expect(await messages(id, [WRITER, READER], CONFIG)).toEqual([]);
  });
  it.each(["roles/storage.objectCreator", "roles/storage.objectUser", "roles/storage.objectAdmin", "roles/storage.admin", "roles/storage.legacyBucketWriter", "projects/p/roles/customWriter"])(
    "catches %s for a device role",
    async (role) => {
      expect(await messages(id, [withPath(READER, "inputs.role", role)], CONFIG)).toEqual([expect.stringContaining(`grants \`${role}\`, which can write, to "${DEVICE}"`)]);
    },
  );
  it("catches a binding that adds a device to the publisher's write role", async () => {
    const binding: Planned = { type: "gcp:storage/bucketIAMBinding:BucketIAMBinding", inputs: { bucket: "b", role: "roles/storage.objectCreator", members: [PUBLISHER, DEVICE] } };
    expect(await messages(id, [binding], CONFIG)).toHaveLength(1);
  });
  it("catches a write role in a BucketIAMPolicy", async () => {
    const policyData = JSON.stringify({ bindings: [{ role: "roles/storage.objectAdmin", members: [DEVICE] }] });
    expect(await messages(id, [{ type: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", inputs: { bucket: "b", policyData } }], CONFIG)).toHaveLength(1);
  });
  it("catches the publisher's own write grant when no publisher is configured (closed default)", async () => {
    expect(await messages(id, [WRITER])).toEqual([expect.stringContaining("no publisher is configured")]);
  });
  it("fails closed on a role not known yet", async () => {
    expect(await messages(id, [withPath(READER, "inputs.role", UNKNOWN)], CONFIG)).toEqual([expect.stringContaining("is not known until the update runs")]);
  });
});

/** Issue 19, class 7: `ssh-keys` metadata is a key pair by another name. */
describe("gcp-no-ssh-keys-without-ssh", () => {
  const id = "gcp-no-ssh-keys-without-ssh";
  const SSH_ACCESS = { sshAccess: { publicKey: "ssh-ed25519 AAAA test", cidrs: ["198.51.100.0/24"] } };
  const withKeys = (key: string) => withPath(INSTANCE, `inputs.metadata`, { ...(INSTANCE.inputs.metadata as object), [key]: "ubuntu:ssh-ed25519 AAAA test" });
  it("accepts an instance without ssh-keys", async () => {
    expect(await messages(id, [INSTANCE])).toEqual([]);
  });
  it("accepts ssh-keys when the stack configures SSH access", async () => {
    expect(await messages(id, [withKeys("ssh-keys")], SSH_ACCESS)).toEqual([]);
  });
  it.each(["ssh-keys", "sshKeys"])("catches metadata %s without sshAccess", async (key) => {
    expect(await messages(id, [withKeys(key)])).toEqual([`\`metadata["${key}"]\` installs SSH keys but the stack configures no SSH access (\`clawstack:sshAccess\`)`]);
  });
  it("catches ssh-keys on an instance template", async () => {
    expect(await messages(id, [{ type: "gcp:compute/instanceTemplate:InstanceTemplate", inputs: { metadata: { "ssh-keys": "ubuntu:ssh-ed25519 AAAA test" } } }])).toHaveLength(1);
  });
  it("catches ssh-keys in project metadata and a project metadata item", async () => {
    expect(await messages(id, [{ type: "gcp:compute/projectMetadata:ProjectMetadata", inputs: { metadata: { "ssh-keys": "ubuntu:ssh-ed25519 AAAA test" } } }])).toHaveLength(1);
    expect(await messages(id, [{ type: "gcp:compute/projectMetadataItem:ProjectMetadataItem", inputs: { key: "ssh-keys", value: "ubuntu:ssh-ed25519 AAAA test" } }])).toHaveLength(1);
  });
  it("fails closed on ssh-keys whose value is not known yet", async () => {
    expect(await messages(id, [withKeys("ssh-keys")].map((r) => withPath(r, "inputs.metadata", { "ssh-keys": UNKNOWN })))).toHaveLength(1);
  });
});
