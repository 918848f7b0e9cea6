import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * GCS buckets have a retention policy with a positive period that is locked.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCS buckets have a retention policy with a positive period that is locked.",
    why: "A locked retention policy is GCS's equivalent of Object Lock in compliance mode: nobody can delete a published artifact or shorten the period.",
    fix: "Set `retentionPolicy: { retentionPeriod: <seconds>, isLocked: true }` (locking is irreversible: test with an exemption on a scratch bucket first).",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:storage/bucket:Bucket"],
  },
  (args, report) => {
    const policy = args.props.retentionPolicy;
    if (!(Number(field(policy, "retentionPeriod")) > 0)) report("`retentionPolicy.retentionPeriod` must be a positive number of seconds");
    if (field(policy, "isLocked") !== true) report("`retentionPolicy.isLocked` must be true");
  },
);
