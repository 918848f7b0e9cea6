import * as kms from "@pulumi/aws/kms";
import * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyDocument } from "../access/aws-policy.js";
import { type AwsFirmwareBucketArgs, type ResolvedAwsFirmwareBucketArgs, resolveAwsFirmwareBucketArgs } from "./args.js";

export { type AwsFirmwareBucketArgs, type ResolvedAwsFirmwareBucketArgs, resolveAwsFirmwareBucketArgs } from "./args.js";

/** Key administration for the account root, without any use of the key (no Encrypt, Decrypt or Sign). */
const KEY_ADMIN_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListAliases",
  "kms:ListKeyPolicies",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
];

/**
 * The signing key's policy: the account root administers it (so it can never
 * be locked out), the publisher role alone may `kms:Sign`, readers may fetch
 * the public key, and an explicit deny stops any other principal from signing
 * even if an IAM policy tried to grant it.
 */
export function renderSigningKeyPolicy(input: ResolvedAwsFirmwareBucketArgs): PolicyDocument {
  const root = `arn:${input.partition}:iam::${input.accountId}:root`;
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AccountAdministersWithoutUsing", Effect: "Allow", Principal: { AWS: root }, Action: KEY_ADMIN_ACTIONS, Resource: "*" },
      {
        Sid: "PublisherSigns",
        Effect: "Allow",
        Principal: { AWS: input.publisherRoleArn },
        Action: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
        Resource: "*",
      },
      ...input.readerRoleArns.map((arn, index) => ({
        Sid: `ReaderVerifies${index + 1}`,
        Effect: "Allow" as const,
        Principal: { AWS: arn },
        Action: ["kms:GetPublicKey", "kms:Verify", "kms:DescribeKey"],
        Resource: "*",
      })),
      {
        Sid: "OnlyPublisherSigns",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "kms:Sign",
        Resource: "*",
        Condition: { StringNotEquals: { "aws:PrincipalArn": input.publisherRoleArn } },
      },
    ],
  };
}

/** The bucket encryption key's policy: root administers; the publisher encrypts; the publisher and readers decrypt through S3 only. */
export function renderDataKeyPolicy(input: ResolvedAwsFirmwareBucketArgs): PolicyDocument {
  const root = `arn:${input.partition}:iam::${input.accountId}:root`;
  const viaS3 = { StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } };
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AccountAdministersWithoutUsing", Effect: "Allow", Principal: { AWS: root }, Action: KEY_ADMIN_ACTIONS, Resource: "*" },
      {
        Sid: "PublisherEncryptsThroughS3",
        Effect: "Allow",
        Principal: { AWS: input.publisherRoleArn },
        Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
        Resource: "*",
        Condition: viaS3,
      },
      ...input.readerRoleArns.map((arn, index) => ({
        Sid: `ReaderDecryptsThroughS3${index + 1}`,
        Effect: "Allow" as const,
        Principal: { AWS: arn },
        Action: ["kms:Decrypt", "kms:DescribeKey"],
        Resource: "*",
        Condition: viaS3,
      })),
    ],
  };
}

/**
 * The bucket policy: no plain-HTTP access at all, no put without SSE-KMS, and
 * no write, delete or retention change by anyone but the publisher role.
 */
export function renderFirmwareBucketPolicy(
  input: ResolvedAwsFirmwareBucketArgs,
  bucketArn: string,
  dataKeyArn: string,
): PolicyDocument {
  const objects = `${bucketArn}/*`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "s3:*",
        Resource: [bucketArn, objects],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "DenyPutWithoutKms",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "s3:PutObject",
        Resource: objects,
        Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } },
      },
      {
        Sid: "DenyPutWithOtherKey",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "s3:PutObject",
        Resource: objects,
        // Only when the put names a key: a put that names none gets the bucket's default key.
        // (`StringNotEqualsIfExists` would not do: in a Deny, a missing key makes it match.)
        Condition: {
          StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": dataKeyArn },
          Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" },
        },
      },
      {
        Sid: "OnlyPublisherWrites",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: [
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:DeleteObjectVersion",
          "s3:PutObjectRetention",
          "s3:PutObjectLegalHold",
          "s3:PutObjectAcl",
          "s3:PutObjectVersionAcl",
        ],
        Resource: objects,
        Condition: { StringNotEquals: { "aws:PrincipalArn": input.publisherRoleArn } },
      },
      {
        Sid: "PublisherWrites",
        Effect: "Allow",
        Principal: { AWS: input.publisherRoleArn },
        Action: ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"],
        Resource: [bucketArn, objects],
      },
      ...(input.readerRoleArns.length === 0
        ? []
        : [
            {
              Sid: "ReadersRead",
              Effect: "Allow" as const,
              Principal: { AWS: [...input.readerRoleArns] },
              Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
              Resource: [bucketArn, objects],
            },
          ]),
    ],
  };
}

/**
 * An S3 bucket for signed firmware releases: versioned, Object Lock
 * `COMPLIANCE` retention, SSE-KMS with its own rotating key and bucket keys,
 * every Block Public Access flag, TLS-only, and writable only by the publisher
 * role; plus an asymmetric KMS signing key (`ECC_NIST_P256`, `SIGN_VERIFY`)
 * that only the publisher role may sign with.
 */
export class AwsFirmwareBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly dataKeyArn: pulumi.Output<string>;
  readonly signingKeyArn: pulumi.Output<string>;

  constructor(name: string, args: AwsFirmwareBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const resolved = resolveAwsFirmwareBucketArgs(args);
    super("clawstack:firmware:AwsFirmwareBucket", name, {}, opts);
    const tags = { ManagedBy: "claw-cloud", Purpose: "firmware-releases" };

    const dataKey = new kms.Key(
      `${name}-data-key`,
      {
        description: `Encrypts firmware releases in ${resolved.bucketName}`,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: JSON.stringify(renderDataKeyPolicy(resolved)),
        tags,
      },
      { parent: this },
    );

    const signingKey = new kms.Key(
      `${name}-signing-key`,
      {
        description: `Signs firmware images and release manifests published to ${resolved.bucketName}`,
        keyUsage: "SIGN_VERIFY",
        customerMasterKeySpec: "ECC_NIST_P256",
        deletionWindowInDays: 30,
        policy: JSON.stringify(renderSigningKeyPolicy(resolved)),
        tags,
      },
      { parent: this },
    );

    const bucket = new s3.Bucket(
      `${name}-bucket`,
      { bucket: resolved.bucketName, objectLockEnabled: true, forceDestroy: false, tags },
      { parent: this, protect: opts?.protect ?? false },
    );

    const versioning = new s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );

    new s3.BucketObjectLockConfiguration(
      `${name}-object-lock`,
      {
        bucket: bucket.id,
        rule: { defaultRetention: { mode: "COMPLIANCE", days: resolved.retentionDays } },
      },
      { parent: this, dependsOn: [versioning] },
    );

    new s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: dataKey.arn },
            bucketKeyEnabled: true,
          },
        ],
      },
      { parent: this },
    );

    const publicAccess = new s3.BucketPublicAccessBlock(
      `${name}-public-access-block`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );

    new s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );

    new s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: pulumi
          .all([bucket.arn, dataKey.arn])
          .apply(([bucketArn, keyArn]) => JSON.stringify(renderFirmwareBucketPolicy(resolved, bucketArn, keyArn))),
      },
      { parent: this, dependsOn: [publicAccess] },
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.dataKeyArn = dataKey.arn;
    this.signingKeyArn = signingKey.arn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      dataKeyArn: this.dataKeyArn,
      signingKeyArn: this.signingKeyArn,
    });
  }
}
