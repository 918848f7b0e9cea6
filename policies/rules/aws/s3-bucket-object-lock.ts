import { stackRule } from "../../lib/rule";
import { checkS3Buckets } from "../../lib/buckets";
import { field } from "../../lib/values";

const SPLIT = [
  "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
];

/**
 * Every S3 bucket has Object Lock enabled with a `COMPLIANCE` default retention.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every S3 bucket has Object Lock enabled with a `COMPLIANCE` default retention.",
    why: "Signed firmware and the append-only rollback log must not be deletable, not even by the account root, within the retention period; `GOVERNANCE` mode can be bypassed with a permission.",
    fix: "Set `objectLockEnabled: true` on the bucket and add an `aws.s3.BucketObjectLockConfiguration` with `rule.defaultRetention: { mode: \"COMPLIANCE\", days: N }`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    checkS3Buckets(args, report, guard, SPLIT, (bucket, splits) => {
      if (bucket.props.objectLockEnabled !== true) return "`objectLockEnabled` must be true";
      const locked = splits.some((split) => {
        const defaults = field(split.props.rule, "defaultRetention");
        const period = Number(field(defaults, "days") ?? 0) + Number(field(defaults, "years") ?? 0);
        return field(defaults, "mode") === "COMPLIANCE" && period > 0;
      });
      return locked ? undefined : "has no `aws.s3.BucketObjectLockConfiguration` with a `COMPLIANCE` default retention";
    });
  },
);
