import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * Spaces buckets have versioning enabled.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Spaces buckets have versioning enabled.",
    why: "Spaces offers neither Object Lock nor KMS keys, so versioning (with signed manifests) is what keeps a published artifact recoverable after an overwrite or deletion.",
    fix: "Set `versioning: { enabled: true }`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["digitalocean:index/spacesBucket:SpacesBucket"],
  },
  (args, report) => {
    if (field(args.props.versioning, "enabled") !== true) report("`versioning.enabled` must be true");
  },
);
