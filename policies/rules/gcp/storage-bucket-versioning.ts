import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * GCS buckets keep every generation: object versioning on, or a retention policy with a positive period.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCS buckets keep every generation: object versioning on, or a retention policy with a positive period.",
    why: "Firmware artifacts and manifests must survive overwrites and deletions. Cloud Storage refuses Object Versioning on a bucket with a retention policy, and a retention policy already forbids overwriting or deleting an object before its period ends, so either one satisfies this rule (gcp-storage-bucket-locked-retention separately requires the lock).",
    fix: "Set `retentionPolicy: { retentionPeriod: <seconds>, isLocked: true }` (artifact buckets), or `versioning: { enabled: true }` on a bucket that cannot have a retention policy.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:storage/bucket:Bucket"],
  },
  (args, report) => {
    const versioned = field(args.props.versioning, "enabled") === true;
    const retained = Number(field(args.props.retentionPolicy, "retentionPeriod")) > 0;
    if (!versioned && !retained) {
      report("`versioning.enabled` must be true, or `retentionPolicy.retentionPeriod` a positive number of seconds (Cloud Storage refuses versioning together with a retention policy)");
    }
  },
);
