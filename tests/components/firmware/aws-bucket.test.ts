import { beforeAll, describe, expect, it } from "vitest";
import type { PolicyDocument } from "../../../components/access/aws-policy";
import { synthConfig, synthStack } from "../../../program/synth";
import type { PlannedResource, SynthResult } from "../../../program/synth-types";
import { readStackConfig } from "../../../program/stack-config";
import { evaluate, type Request } from "./policy-eval";

// any: provider inputs differ per resource type; the tests read them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
type Inputs = Record<string, any>;

const ACCOUNT = "123456789012";
const PUBLISHER = `arn:aws:iam::${ACCOUNT}:role/firmware-publisher`;
const READER = `arn:aws:iam::${ACCOUNT}:role/energy-core-update-service`;
const OTHER = `arn:aws:iam::${ACCOUNT}:role/some-admin`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

function byType(result: SynthResult, type: string): PlannedResource[] {
  return result.resources.filter((resource) => resource.type === type);
}
function one(result: SynthResult, type: string): Inputs {
  const found = byType(result, type);
  expect(found, type).toHaveLength(1);
  return found[0]!.inputs as Inputs;
}
function key(result: SynthResult, suffix: string): PlannedResource {
  return byType(result, "aws:kms/key:Key").find((resource) => resource.name.endsWith(suffix))!;
}
/** The ARN the synth mocks give a KMS key (program/mocks.ts): the same id the resource got. */
function keyArn(result: SynthResult, suffix: string): string {
  const urn = key(result, suffix).urn;
  const sse = one(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
  const arn = sse.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId as string;
  expect(urn).toContain(suffix);
  return arn;
}

describe("AWS firmware bucket (stacks/Pulumi.aws-firmware-example.yaml)", () => {
  let result: SynthResult;
  let bucketPolicy: PolicyDocument;
  let bucketArn: string;
  let dataKeyArn: string;
  beforeAll(async () => {
    result = await synthStack("aws-firmware-example");
    bucketPolicy = JSON.parse(one(result, "aws:s3/bucketPolicy:BucketPolicy").policy as string) as PolicyDocument;
    bucketArn = `arn:aws:s3:::${String(one(result, "aws:s3/bucket:Bucket").bucket)}`;
    dataKeyArn = keyArn(result, "-data-key");
  });

  it("uses the example's settings", () => {
    expect(readStackConfig("aws-firmware-example")).toMatchObject({ kind: "firmware", cloud: "aws", publisherRoleArn: PUBLISHER, retentionDays: 365 });
  });

  it("versioning on, Object Lock on the bucket, default retention COMPLIANCE for retentionDays", () => {
    const bucket = one(result, "aws:s3/bucket:Bucket");
    expect(bucket.objectLockEnabled).toBe(true);
    expect(bucket.forceDestroy).toBe(false);
    expect(one(result, "aws:s3/bucketVersioning:BucketVersioning").versioningConfiguration).toEqual({ status: "Enabled" });
    expect(one(result, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").rule).toEqual({
      defaultRetention: { mode: "COMPLIANCE", days: 365 },
    });
  });

  it("SSE-KMS by default with a dedicated rotating key and bucket keys", () => {
    const sse = one(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    expect(sse.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: dataKeyArn }, bucketKeyEnabled: true }]);
    expect(dataKeyArn).toMatch(/^arn:aws:kms:[a-z0-9-]+:123456789012:key\/[0-9a-f-]{36}$/);
    const dataKey = key(result, "-data-key").inputs as Inputs;
    expect(dataKey).toMatchObject({ keyUsage: "ENCRYPT_DECRYPT", customerMasterKeySpec: "SYMMETRIC_DEFAULT", enableKeyRotation: true });
  });

  it("all four Block Public Access flags and bucket-owner-enforced ownership (no ACLs)", () => {
    expect(one(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(one(result, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
  });

  describe("bucket policy, evaluated", () => {
    const put = (principal: string, context: Request["context"]): Request => ({
      principal,
      action: "s3:PutObject",
      resource: `${bucketArn}/channels/stable/releases/1.0.0/app.bin`,
      context,
    });
    const good = { "aws:SecureTransport": "true", "s3:x-amz-server-side-encryption": "aws:kms" };

    it("the publisher may put over TLS with SSE-KMS (with or without naming the bucket's key)", () => {
      expect(evaluate(bucketPolicy, put(PUBLISHER, good))).toBe("allow");
      expect(evaluate(bucketPolicy, put(PUBLISHER, { ...good, "s3:x-amz-server-side-encryption-aws-kms-key-id": dataKeyArn }))).toBe("allow");
    });

    it("denies any access without TLS, even the publisher's reads", () => {
      expect(evaluate(bucketPolicy, put(PUBLISHER, { ...good, "aws:SecureTransport": "false" }))).toBe("explicit-deny");
      expect(evaluate(bucketPolicy, { principal: READER, action: "s3:GetObject", resource: `${bucketArn}/x`, context: { "aws:SecureTransport": "false" } })).toBe(
        "explicit-deny",
      );
      expect(evaluate(bucketPolicy, { principal: PUBLISHER, action: "s3:ListBucket", resource: bucketArn, context: { "aws:SecureTransport": "false" } })).toBe(
        "explicit-deny",
      );
    });

    it("denies puts without KMS encryption or with another key", () => {
      expect(evaluate(bucketPolicy, put(PUBLISHER, { "aws:SecureTransport": "true" }))).toBe("explicit-deny");
      expect(evaluate(bucketPolicy, put(PUBLISHER, { ...good, "s3:x-amz-server-side-encryption": "AES256" }))).toBe("explicit-deny");
      expect(
        evaluate(bucketPolicy, put(PUBLISHER, { ...good, "s3:x-amz-server-side-encryption-aws-kms-key-id": `arn:aws:kms:eu-west-1:${ACCOUNT}:key/other` })),
      ).toBe("explicit-deny");
    });

    it("write access only for the publisher role: readers, other roles and the account root are denied outright", () => {
      for (const principal of [READER, OTHER, ROOT]) {
        for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold"]) {
          expect(evaluate(bucketPolicy, { ...put(principal, good), action }), `${principal} ${action}`).toBe("explicit-deny");
        }
      }
    });

    it("readers read; nobody else gets read access from the bucket policy", () => {
      const get = (principal: string): Request => ({ principal, action: "s3:GetObject", resource: `${bucketArn}/channels/stable/current.json`, context: { "aws:SecureTransport": "true" } });
      expect(evaluate(bucketPolicy, get(READER))).toBe("allow");
      expect(evaluate(bucketPolicy, get(PUBLISHER))).toBe("allow");
      expect(evaluate(bucketPolicy, get(OTHER))).toBe("implicit-deny");
      expect(evaluate(bucketPolicy, get("*"))).toBe("implicit-deny");
    });

    it("no statement allows a wildcard principal", () => {
      for (const statement of bucketPolicy.Statement as unknown as Inputs[]) {
        if (statement.Effect === "Allow") expect([statement.Principal.AWS].flat()).not.toContain("*");
      }
    });
  });

  describe("the signing key", () => {
    let signingPolicy: PolicyDocument;
    beforeAll(() => {
      signingPolicy = JSON.parse((key(result, "-signing-key").inputs as Inputs).policy as string) as PolicyDocument;
    });

    it("is ECC_NIST_P256 for SIGN_VERIFY", () => {
      expect(key(result, "-signing-key").inputs).toMatchObject({ keyUsage: "SIGN_VERIFY", customerMasterKeySpec: "ECC_NIST_P256" });
    });

    it("its key policy lets only the publisher role sign", () => {
      const sign = (principal: string): Request => ({ principal, action: "kms:Sign", resource: "*", context: {} });
      expect(evaluate(signingPolicy, sign(PUBLISHER))).toBe("allow");
      for (const principal of [ROOT, READER, OTHER]) expect(evaluate(signingPolicy, sign(principal)), principal).toBe("explicit-deny");
    });

    it("readers may fetch the public key and verify, not sign; the root administers without using", () => {
      expect(evaluate(signingPolicy, { principal: READER, action: "kms:GetPublicKey", resource: "*", context: {} })).toBe("allow");
      expect(evaluate(signingPolicy, { principal: ROOT, action: "kms:PutKeyPolicy", resource: "*", context: {} })).toBe("allow");
      expect(evaluate(signingPolicy, { principal: ROOT, action: "kms:GetPublicKey", resource: "*", context: {} })).toBe("implicit-deny");
    });

    it("the data key encrypts for the publisher through S3 only", () => {
      const dataPolicy = JSON.parse((key(result, "-data-key").inputs as Inputs).policy as string) as PolicyDocument;
      const viaS3 = { "kms:ViaService": "s3.eu-west-1.amazonaws.com" };
      expect(evaluate(dataPolicy, { principal: PUBLISHER, action: "kms:GenerateDataKey", resource: "*", context: viaS3 })).toBe("allow");
      expect(evaluate(dataPolicy, { principal: PUBLISHER, action: "kms:GenerateDataKey", resource: "*", context: {} })).toBe("implicit-deny");
      expect(evaluate(dataPolicy, { principal: READER, action: "kms:Decrypt", resource: "*", context: viaS3 })).toBe("allow");
      expect(evaluate(dataPolicy, { principal: READER, action: "kms:GenerateDataKey", resource: "*", context: viaS3 })).toBe("implicit-deny");
      expect(evaluate(dataPolicy, { principal: OTHER, action: "kms:Decrypt", resource: "*", context: viaS3 })).toBe("implicit-deny");
    });
  });

  it("exports the bucket and key ARNs", () => {
    expect(result.outputs).toMatchObject({ cloud: "aws", bucketName: "example-energy-core-firmware", dataKeyArn, bucketArn });
    expect(String(result.outputs.signingKeyArn)).toMatch(/^arn:aws:kms:/);
  });
});

describe("AWS firmware bucket settings", () => {
  const base = { kind: "firmware", cloud: "aws", bucketName: "fw-test-bucket", accountId: ACCOUNT, publisherRoleArn: PUBLISHER };

  it("retention days are configurable; no reader roles means no read statement", async () => {
    const result = await synthConfig("fw-aws", { ...base, retentionDays: 30 });
    expect(one(result, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration").rule.defaultRetention).toEqual({ mode: "COMPLIANCE", days: 30 });
    const policy = JSON.parse(one(result, "aws:s3/bucketPolicy:BucketPolicy").policy as string) as PolicyDocument;
    expect(evaluate(policy, { principal: READER, action: "s3:GetObject", resource: "arn:aws:s3:::fw-test-bucket/x", context: { "aws:SecureTransport": "true" } })).toBe(
      "implicit-deny",
    );
  });

  it("an unquoted (numeric) account id in YAML is accepted", async () => {
    const result = await synthConfig("fw-aws", { ...base, accountId: 123456789012 });
    expect(byType(result, "aws:s3/bucket:Bucket")).toHaveLength(1);
  });
});
