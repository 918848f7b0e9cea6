import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * GCS buckets have object versioning enabled.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCS buckets have object versioning enabled.",
    why: "Firmware artifacts and manifests must survive overwrites and deletions; versioning keeps every generation.",
    fix: "Set `versioning: { enabled: true }`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:storage/bucket:Bucket"],
  },
  (args, report) => {
    if (field(args.props.versioning, "enabled") !== true) report("`versioning.enabled` must be true");
  },
);
