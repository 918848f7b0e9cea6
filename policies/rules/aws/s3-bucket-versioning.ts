import { stackRule } from "../../lib/rule";
import { checkS3Buckets } from "../../lib/buckets";
import { field } from "../../lib/values";

const SPLIT = ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"];

/**
 * Every S3 bucket has versioning `Enabled` (a joined `aws.s3.BucketVersioning`).
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every S3 bucket has versioning `Enabled` (a joined `aws.s3.BucketVersioning`).",
    why: "Firmware artifacts and release manifests must survive overwrites and deletions: versioning keeps every published object and is required for Object Lock.",
    fix: "Add `new aws.s3.BucketVersioning(..., { bucket: bucket.id, versioningConfiguration: { status: \"Enabled\" } })`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    checkS3Buckets(args, report, guard, SPLIT, (bucket, splits) => {
      if (field(bucket.props.versioning, "enabled") === true) return undefined;
      const enabled = splits.some((split) => field(split.props.versioningConfiguration, "status") === "Enabled");
      return enabled ? undefined : "has no `aws.s3.BucketVersioning` with `versioningConfiguration.status` \"Enabled\"";
    });
  },
);
