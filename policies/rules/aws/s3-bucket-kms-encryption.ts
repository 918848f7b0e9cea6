import { stackRule } from "../../lib/rule";
import { checkS3Buckets } from "../../lib/buckets";
import { asList, field, isSet } from "../../lib/values";

const SPLIT = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
const KMS_ALGORITHMS = ["aws:kms", "aws:kms:dsse"];

function usesKms(rules: unknown): boolean {
  return asList(rules).some((rule) => {
    const defaults = field(rule, "applyServerSideEncryptionByDefault");
    // A key created in the same stack is not known at preview: set-but-unknown counts as set.
    return KMS_ALGORITHMS.includes(String(field(defaults, "sseAlgorithm"))) && isSet(defaults, "kmsMasterKeyId");
  });
}

/**
 * Every S3 bucket encrypts by default with SSE-KMS under a named key.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every S3 bucket encrypts by default with SSE-KMS under a named key.",
    why: "With a dedicated KMS key, reading an artifact needs both S3 and KMS permissions and every decryption is logged; the key policy is a second gate.",
    fix: "Add an `aws.s3.BucketServerSideEncryptionConfiguration` with `sseAlgorithm: \"aws:kms\"`, `kmsMasterKeyId: key.arn` and `bucketKeyEnabled: true`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    checkS3Buckets(args, report, guard, SPLIT, (bucket, splits) => {
      // The deprecated inline form on the bucket counts too.
      if (usesKms(field(bucket.props.serverSideEncryptionConfiguration, "rule"))) return undefined;
      return splits.some((split) => usesKms(split.props.rules))
        ? undefined
        : "has no server-side encryption configuration with `sseAlgorithm` \"aws:kms\" and a `kmsMasterKeyId`";
    });
  },
);
