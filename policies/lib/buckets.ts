/** The S3 bucket joins shared by the artifact-bucket rules. */
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import type { Guard } from "./rule";
import { joinSplitResources } from "./join";

export const S3_BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

/** Every split resource type the bucket rules read, joined in one pass per stack. */
export const S3_SPLIT_TYPES = [
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketVersioningV2:BucketVersioningV2",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
  "aws:s3/bucketPolicy:BucketPolicy",
];

/**
 * The join of one stack's resources, shared by the five bucket rules (the
 * engine and the reviewer hand every stack rule the same resource list; a
 * different list is joined afresh).
 */
const joins = new WeakMap<readonly PolicyResource[], Map<PolicyResource, PolicyResource[]>>();

function joinedBuckets(resources: readonly PolicyResource[]): Map<PolicyResource, PolicyResource[]> {
  let joined = joins.get(resources);
  if (!joined) {
    joined = joinSplitResources(resources, S3_BUCKET_TYPES, S3_SPLIT_TYPES, "bucket", ["bucket", "id"]);
    joins.set(resources, joined);
  }
  return joined;
}

/**
 * Runs `verdict` for every S3 bucket with the split resources of `splitTypes`
 * joined to it; a returned message is a violation on the bucket.
 */
export function checkS3Buckets(
  args: StackValidationArgs,
  report: (message: string, urn?: string) => void,
  guard: Guard,
  splitTypes: readonly string[],
  verdict: (bucket: PolicyResource, splits: PolicyResource[]) => string | undefined,
): void {
  const shared = splitTypes.every((type) => S3_SPLIT_TYPES.includes(type));
  const joined = shared
    ? joinedBuckets(args.resources)
    : joinSplitResources(args.resources, S3_BUCKET_TYPES, splitTypes, "bucket", ["bucket", "id"]);
  for (const [bucket, all] of joined) {
    const splits = shared ? all.filter((split) => splitTypes.includes(split.type)) : all;
    guard(bucket.urn, () => {
      const problem = verdict(bucket, splits);
      if (problem) report(problem, bucket.urn);
    });
  }
}
