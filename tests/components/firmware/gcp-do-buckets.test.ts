import { beforeAll, describe, expect, it } from "vitest";
import { synthConfig, synthStack } from "../../../program/synth";
import type { SynthResult } from "../../../program/synth-types";

// any: provider inputs differ per resource type; the tests read them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
type Inputs = Record<string, any>;

function all(result: SynthResult, type: string): Inputs[] {
  return result.resources.filter((resource) => resource.type === type).map((resource) => resource.inputs as Inputs);
}
function one(result: SynthResult, type: string): Inputs {
  const found = all(result, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

const PUBLISHER = "serviceAccount:firmware-publisher@example-firmware-project.iam.gserviceaccount.com";

describe("GCP firmware bucket (stacks/Pulumi.gcp-firmware-example.yaml)", () => {
  let result: SynthResult;
  let keys: Inputs[];
  beforeAll(async () => {
    result = await synthStack("gcp-firmware-example");
    keys = all(result, "gcp:kms/cryptoKey:CryptoKey");
  });

  it("uniform bucket-level access, public access prevention enforced, a locked retention policy", () => {
    const bucket = one(result, "gcp:storage/bucket:Bucket");
    expect(bucket.uniformBucketLevelAccess).toBe(true);
    expect(bucket.publicAccessPrevention).toBe("enforced");
    expect(bucket.retentionPolicy).toEqual({ retentionPeriod: String(365 * 86_400), isLocked: true });
    expect(bucket.forceDestroy).toBe(false);
  });

  it("CMEK: the bucket's default key is the dedicated rotating encryption key, usable by the Cloud Storage service agent", () => {
    const bucket = one(result, "gcp:storage/bucket:Bucket");
    const cmek = keys.find((key) => key.purpose === "ENCRYPT_DECRYPT")!;
    const cmekId = `${String(cmek.keyRing)}/cryptoKeys/${String(cmek.name)}`;
    expect(bucket.encryption).toEqual({ defaultKmsKeyName: cmekId });
    expect(cmek.rotationPeriod).toBe("7776000s");
    const agents = all(result, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").filter((member) => member.cryptoKeyId === cmekId);
    expect(agents).toEqual([
      { cryptoKeyId: cmekId, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com" },
    ]);
  });

  it("a Cloud KMS asymmetric signing key (EC P-256, HSM) that only the publisher may sign with", () => {
    const signing = keys.find((key) => key.purpose === "ASYMMETRIC_SIGN")!;
    expect(signing.versionTemplate).toEqual({ algorithm: "EC_SIGN_P256_SHA256", protectionLevel: "HSM" });
    const signingId = `${String(signing.keyRing)}/cryptoKeys/${String(signing.name)}`;
    const grants = all(result, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").filter((member) => member.cryptoKeyId === signingId);
    expect(grants).toEqual([{ cryptoKeyId: signingId, role: "roles/cloudkms.signerVerifier", member: PUBLISHER }]);
    expect(all(result, "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding")).toEqual([]);
  });

  it("only the publisher is granted anything on the bucket: create and read objects, never delete", () => {
    const grants = all(result, "gcp:storage/bucketIAMMember:BucketIAMMember");
    expect(grants.map((grant) => grant.member)).toEqual([PUBLISHER, PUBLISHER]);
    expect(grants.map((grant) => grant.role).sort()).toEqual(["roles/storage.objectCreator", "roles/storage.objectViewer"]);
  });

  it("retention is configurable and the lock can be left off explicitly", async () => {
    const config = {
      kind: "firmware",
      cloud: "gcp",
      projectId: "fw-project-1",
      projectNumber: 987654321012,
      bucketName: "fw_test_bucket",
      location: "us-central1",
      publisherMember: "serviceAccount:p@fw-project-1.iam.gserviceaccount.com",
    };
    const locked = one(await synthConfig("fw-gcp", { ...config, retentionDays: 30 }), "gcp:storage/bucket:Bucket");
    expect(locked.retentionPolicy).toEqual({ retentionPeriod: String(30 * 86_400), isLocked: true });
    const unlocked = one(await synthConfig("fw-gcp", { ...config, lockRetention: false }), "gcp:storage/bucket:Bucket");
    expect(unlocked.retentionPolicy).toEqual({ retentionPeriod: String(365 * 86_400), isLocked: false });
  });
});

describe("DigitalOcean firmware Space (stacks/Pulumi.do-firmware-example.yaml)", () => {
  it("a private Spaces bucket with versioning, nothing deleted by default, signed with a local key", async () => {
    const result = await synthStack("do-firmware-example");
    const bucket = one(result, "digitalocean:index/spacesBucket:SpacesBucket");
    expect(bucket).toMatchObject({ name: "example-energy-core-firmware", region: "fra1", acl: "private", forceDestroy: false, versioning: { enabled: true } });
    expect(bucket.lifecycleRules).toBeUndefined();
    expect(result.outputs).toMatchObject({ signing: "local-key", endpoint: "https://fra1.digitaloceanspaces.com" });
  });

  it("replaced versions can be expired after a configured number of days", async () => {
    const result = await synthConfig("fw-do", { kind: "firmware", cloud: "digitalocean", bucketName: "fw-space", region: "ams3", noncurrentVersionExpirationDays: 730 });
    expect(one(result, "digitalocean:index/spacesBucket:SpacesBucket").lifecycleRules).toEqual([
      { id: "expire-replaced-versions", enabled: true, noncurrentVersionExpiration: { days: 730 } },
    ]);
  });
});
