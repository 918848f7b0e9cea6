import { resourceRule } from "../../lib/rule";
import { tagMap } from "../../lib/values";
import { MANAGED_BY_KEY, MANAGED_BY_VALUE } from "../../lib/ownership";

/**
 * AWS instances, volumes, security groups, launch templates and IAM roles carry `ManagedBy=claw-cloud`.
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "AWS instances, volumes, security groups, launch templates and IAM roles carry `ManagedBy=claw-cloud`.",
    why: "The provisioner role may only touch resources tagged `ManagedBy=claw-cloud`; an untagged resource falls outside that boundary (it cannot be managed or cleaned up) and breaks the tag-conditioned permissions.",
    fix: "Add `tags: { ManagedBy: \"claw-cloud\" }` (the host components do this for every child).",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [
      "aws:ec2/instance:Instance",
      "aws:ebs/volume:Volume",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:ec2/launchTemplate:LaunchTemplate",
      "aws:iam/role:Role",
    ],
  },
  (args, report) => {
    const value = tagMap(args.props.tags)[MANAGED_BY_KEY];
    if (value !== MANAGED_BY_VALUE) {
      report(`\`tags.${MANAGED_BY_KEY}\` must be "${MANAGED_BY_VALUE}"; got ${JSON.stringify(value ?? null)}`);
    }
  },
);
