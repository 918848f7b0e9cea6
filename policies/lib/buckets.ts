/** The S3 bucket joins shared by the artifact-bucket rules. */
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import type { Guard } from "./rule";
import { joinSplitResources } from "./join";

export const S3_BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

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
  const joined = joinSplitResources(args.resources, S3_BUCKET_TYPES, splitTypes, "bucket", ["bucket", "id"]);
  for (const [bucket, splits] of joined) {
    guard(bucket.urn, () => {
      const problem = verdict(bucket, splits);
      if (problem) report(problem, bucket.urn);
    });
  }
}
