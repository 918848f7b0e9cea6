import * as kms from "@pulumi/gcp/kms";
import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { type GcpFirmwareBucketArgs, resolveGcpFirmwareBucketArgs } from "./args.js";

export { type GcpFirmwareBucketArgs, type ResolvedGcpFirmwareBucketArgs, resolveGcpFirmwareBucketArgs } from "./args.js";

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

    const keyRing = new kms.KeyRing(
      `${name}-keyring`,
      { project: resolved.projectId, location: resolved.location, name: `${resolved.bucketName}-keys` },
      { parent: this },
    );

    const encryptionKey = new kms.CryptoKey(
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

    const signingKey = new kms.CryptoKey(
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
    const serviceAgent = new kms.CryptoKeyIAMMember(
      `${name}-cmek-storage-agent`,
      {
        cryptoKeyId: encryptionKey.id,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member: `serviceAccount:service-${resolved.projectNumber}@gs-project-accounts.iam.gserviceaccount.com`,
      },
      { parent: this },
    );

    new kms.CryptoKeyIAMMember(
      `${name}-publisher-signs`,
      { cryptoKeyId: signingKey.id, role: "roles/cloudkms.signerVerifier", member: resolved.publisherMember },
      { parent: this },
    );

    const bucket = new storage.Bucket(
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

    new storage.BucketIAMMember(
      `${name}-publisher-writes`,
      { bucket: bucket.name, role: "roles/storage.objectCreator", member: resolved.publisherMember },
      { parent: this },
    );
    new storage.BucketIAMMember(
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
