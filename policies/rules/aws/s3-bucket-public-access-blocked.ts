import { stackRule } from "../../lib/rule";
import { checkS3Buckets } from "../../lib/buckets";

const SPLIT = ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"];
const FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

/**
 * Every S3 bucket has a public access block with all four flags on.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every S3 bucket has a public access block with all four flags on.",
    why: "One mistaken ACL or policy statement would publish the bucket; Block Public Access overrides both.",
    fix: "Add an `aws.s3.BucketPublicAccessBlock` with `blockPublicAcls`, `blockPublicPolicy`, `ignorePublicAcls` and `restrictPublicBuckets` all true.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    checkS3Buckets(args, report, guard, SPLIT, (_bucket, splits) => {
      if (splits.length === 0) return "has no `aws.s3.BucketPublicAccessBlock`";
      const missing = FLAGS.filter((flag) => !splits.some((split) => split.props[flag] === true));
      return missing.length === 0 ? undefined : `public access block leaves ${missing.map((f) => `\`${f}\``).join(", ")} off`;
    });
  },
);
