import { resourceRule } from "../../lib/rule";

/**
 * GCP workload identity pool providers have a non-empty `attributeCondition`.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCP workload identity pool providers have a non-empty `attributeCondition`.",
    why: "Without a condition any identity of the trusted AWS account (any role, any user) can exchange its token for the customer's GCP access.",
    fix: "Pin the provider to the provisioner role, e.g. `attributeCondition: 'attribute.aws_role == \"arn:aws:sts::<account>:assumed-role/<role>\"'`.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"],
  },
  (args, report) => {
    const condition = args.props.attributeCondition;
    if (typeof condition !== "string" || condition.trim().length === 0) {
      report("`attributeCondition` must restrict which identities of the trusted account may federate; it is empty");
    }
  },
);
