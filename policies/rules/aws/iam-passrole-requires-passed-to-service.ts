import { resourceRule } from "../../lib/rule";
import { IAM_POLICY_TYPES, conditionKeys, grants } from "../../lib/iam";
import { forEachPermissionStatement } from "../../lib/documents";

/**
 * IAM statements that allow `iam:PassRole` carry an `iam:PassedToService` condition.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "IAM statements that allow `iam:PassRole` carry an `iam:PassedToService` condition.",
    why: "`iam:PassRole` without a service condition lets the holder hand a role to any service (Lambda, ECS...) and run code with that role's permissions: a privilege escalation.",
    fix: "Add `Condition: { StringEquals: { \"iam:PassedToService\": \"ec2.amazonaws.com\" } }` (or the one service that needs the role) and list the role ARNs as resources.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: IAM_POLICY_TYPES,
  },
  (args, report) => {
    forEachPermissionStatement(args.type, args.props, report, (statement, path) => {
      if (statement.effect !== "Allow" || statement.notActions) return;
      if (!statement.actions.some((action) => grants(action, "iam:PassRole"))) return;
      if (!conditionKeys(statement).some(({ key }) => key === "iam:passedtoservice")) {
        report(`\`${path}\` statement ${statement.index} allows \`iam:PassRole\` without an \`iam:PassedToService\` condition`);
      }
    });
  },
);
