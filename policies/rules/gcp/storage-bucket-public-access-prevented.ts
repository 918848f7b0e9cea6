import { resourceRule } from "../../lib/rule";

/**
 * GCS buckets enforce public access prevention and uniform bucket-level access.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCS buckets enforce public access prevention and uniform bucket-level access.",
    why: "Public access prevention refuses `allUsers` grants outright; uniform access removes per-object ACLs that could publish one file quietly.",
    fix: "Set `publicAccessPrevention: \"enforced\"` and `uniformBucketLevelAccess: true`.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:storage/bucket:Bucket"],
  },
  (args, report) => {
    if (args.props.publicAccessPrevention !== "enforced") {
      report(`\`publicAccessPrevention\` must be "enforced"; got ${JSON.stringify(args.props.publicAccessPrevention ?? null)}`);
    }
    if (args.props.uniformBucketLevelAccess !== true) report("`uniformBucketLevelAccess` must be true");
  },
);
