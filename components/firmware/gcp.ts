import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../program/errors.js";
import { gcpProjectIdProblem, gcpProjectNumberProblem } from "../access/arns.js";
import { checkRetentionDays } from "./validation.js";

export interface GcpFirmwareBucketArgs {
  /** The project the bucket and keys live in. Required. */
  projectId: string;
  /** The same project's number; names the Cloud Storage service agent that uses the CMEK key. Required. */
  projectNumber: string;
  /** The bucket's name (globally unique). Required. */
  bucketName: string;
  /** Bucket and key ring location, e.g. `europe-west1`. Required. */
  location: string;
  /** The only principal that may write releases and sign, e.g. `serviceAccount:publisher@p.iam.gserviceaccount.com`. Required. */
  publisherMember: string;
  /** Retention policy: objects cannot be deleted or replaced before this many days. Defaults to 365. */
  retentionDays?: number;
  /**
   * Locks the retention policy. Locking is irreversible: the period can then
   * only grow and the bucket cannot be deleted while it holds objects.
   * Defaults to `false`; set `true` once the release process is settled.
   */
  lockRetention?: boolean;
}

export interface ResolvedGcpFirmwareBucketArgs {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly bucketName: string;
  readonly location: string;
  readonly publisherMember: string;
  readonly retentionDays: number;
  readonly lockRetention: boolean;
}

const MEMBER_PATTERN = /^(serviceAccount|user|group):[^\s@]+@[^\s@]+$/;
const GCS_BUCKET_PATTERN = /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/;
const LOCATION_PATTERN = /^[a-z]+(-[a-z]+[0-9]*)?$|^[a-z]+-[a-z]+[0-9]+$/;

export function resolveGcpFirmwareBucketArgs(args: GcpFirmwareBucketArgs): ResolvedGcpFirmwareBucketArgs {
  const idProblem = gcpProjectIdProblem(args.projectId);
  if (idProblem) throw new ConfigError("projectId", `\`projectId\` ${idProblem}`);
  const numberProblem = gcpProjectNumberProblem(args.projectNumber);
  if (numberProblem) throw new ConfigError("projectNumber", `\`projectNumber\` ${numberProblem}`);
  if (typeof args.bucketName !== "string" || !GCS_BUCKET_PATTERN.test(args.bucketName)) {
    throw new ConfigError(
      "bucketName",
      `\`bucketName\` must be 3 to 63 characters of lowercase letters, digits, \`-\` and \`_\`; got ${JSON.stringify(args.bucketName)}`,
    );
  }
  if (typeof args.location !== "string" || !LOCATION_PATTERN.test(args.location)) {
    throw new ConfigError("location", `\`location\` must be a GCP region such as \`europe-west1\`; got ${JSON.stringify(args.location)}`);
  }
  if (typeof args.publisherMember !== "string" || !MEMBER_PATTERN.test(args.publisherMember)) {
    throw new ConfigError(
      "publisherMember",
      `\`publisherMember\` must be one IAM member such as \`serviceAccount:publisher@my-project.iam.gserviceaccount.com\`; got ${JSON.stringify(args.publisherMember)}`,
    );
  }
  const lockRetention = args.lockRetention ?? false;
  if (typeof lockRetention !== "boolean") {
    throw new ConfigError("lockRetention", `\`lockRetention\` must be true or false; got ${JSON.stringify(lockRetention)}`);
  }
  return {
    projectId: args.projectId,
    projectNumber: String(args.projectNumber),
    bucketName: args.bucketName,
    location: args.location,
    publisherMember: args.publisherMember,
    retentionDays: checkRetentionDays(args.retentionDays ?? 365, 36_500),
    lockRetention,
  };
}

/**
 * A Cloud Storage bucket for signed firmware releases: uniform bucket-level
 * access, public access prevention enforced, a retention policy (lockable),
 * CMEK with its own rotating Cloud KMS key, writable only by the publisher;
 * plus a Cloud KMS asymmetric signing key (`EC_SIGN_P256_SHA256`, HSM) that
 * only the publisher may sign with.
 *
 * Object Versioning stays off: Cloud Storage does not allow it together with a
 * retention policy, which is what protects releases here.
 */
export class GcpFirmwareBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly encryptionKeyId: pulumi.Output<string>;
  readonly signingKeyId: pulumi.Output<string>;

  constructor(name: string, args: GcpFirmwareBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const resolved = resolveGcpFirmwareBucketArgs(args);
    super("clawstack:firmware:GcpFirmwareBucket", name, {}, opts);
    const labels = { "managed-by": "claw-cloud", purpose: "firmware-releases" };

    const keyRing = new gcp.kms.KeyRing(
      `${name}-keyring`,
      { project: resolved.projectId, location: resolved.location, name: `${resolved.bucketName}-keys` },
      { parent: this },
    );

    const encryptionKey = new gcp.kms.CryptoKey(
      `${name}-cmek`,
      {
        keyRing: keyRing.id,
        name: "firmware-bucket",
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: "7776000s", // 90 days
        labels,
      },
      { parent: this },
    );

    const signingKey = new gcp.kms.CryptoKey(
      `${name}-signing-key`,
      {
        keyRing: keyRing.id,
        name: "firmware-signing",
        purpose: "ASYMMETRIC_SIGN",
        versionTemplate: { algorithm: "EC_SIGN_P256_SHA256", protectionLevel: "HSM" },
        labels,
      },
      { parent: this },
    );

    // Cloud Storage encrypts with the CMEK key as its per-project service agent.
    const serviceAgent = new gcp.kms.CryptoKeyIAMMember(
      `${name}-cmek-storage-agent`,
      {
        cryptoKeyId: encryptionKey.id,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member: `serviceAccount:service-${resolved.projectNumber}@gs-project-accounts.iam.gserviceaccount.com`,
      },
      { parent: this },
    );

    new gcp.kms.CryptoKeyIAMMember(
      `${name}-publisher-signs`,
      { cryptoKeyId: signingKey.id, role: "roles/cloudkms.signerVerifier", member: resolved.publisherMember },
      { parent: this },
    );

    const bucket = new gcp.storage.Bucket(
      `${name}-bucket`,
      {
        project: resolved.projectId,
        name: resolved.bucketName,
        location: resolved.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        retentionPolicy: {
          retentionPeriod: String(resolved.retentionDays * 86_400),
          isLocked: resolved.lockRetention,
        },
        encryption: { defaultKmsKeyName: encryptionKey.id },
        forceDestroy: false,
        labels,
      },
      { parent: this, dependsOn: [serviceAgent] },
    );

    new gcp.storage.BucketIAMMember(
      `${name}-publisher-writes`,
      { bucket: bucket.name, role: "roles/storage.objectCreator", member: resolved.publisherMember },
      { parent: this },
    );
    new gcp.storage.BucketIAMMember(
      `${name}-publisher-reads`,
      { bucket: bucket.name, role: "roles/storage.objectViewer", member: resolved.publisherMember },
      { parent: this },
    );

    this.bucketName = bucket.name;
    this.encryptionKeyId = encryptionKey.id;
    this.signingKeyId = signingKey.id;
    this.registerOutputs({
      bucketName: this.bucketName,
      encryptionKeyId: this.encryptionKeyId,
      signingKeyId: this.signingKeyId,
    });
  }
}
