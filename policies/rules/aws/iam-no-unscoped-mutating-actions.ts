import { resourceRule } from "../../lib/rule";
import { IAM_POLICY_TYPES, conditionKeys, iamGlob, type Statement } from "../../lib/iam";
import { forEachPermissionStatement } from "../../lib/documents";

/**
 * Actions that have no resource-level permissions, so `Resource: "*"` is the
 * only way to grant them. Keep this list short and read-only.
 */
export const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS: readonly string[] = [
  "ec2:Describe*",
  "ec2:GetConsoleOutput",
  "sts:GetCallerIdentity",
  "iam:ListRoles",
  "iam:ListInstanceProfiles",
  "kms:ListKeys",
  "kms:ListAliases",
  "s3:ListAllMyBuckets",
  "dlm:GetLifecyclePolicies",
  "ssm:DescribeParameters",
];

/** Condition keys that scope a statement on `Resource: "*"` to ClawStack's own resources. */
const SCOPING_CONDITION_PREFIXES = ["aws:resourcetag/", "aws:requesttag/", "ec2:resourcetag/", "ec2:createaction"];

function isTagConditioned(statement: Statement): boolean {
  return conditionKeys(statement).some(({ key }) => SCOPING_CONDITION_PREFIXES.some((prefix) => key.startsWith(prefix)));
}

function hasNoResourceLevelPermissions(action: string): boolean {
  return ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS.some((allowed) => iamGlob(allowed, action));
}

/**
 * IAM `Allow` statements on `Resource: "*"` grant only actions without resource-level permissions, unless tag-conditioned.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "IAM `Allow` statements on `Resource: \"*\"` grant only actions without resource-level permissions, unless tag-conditioned.",
    why: "A mutating action on every resource lets the provisioner (or whoever steals its session) terminate, modify or read things in the customer's account that ClawStack never created.",
    fix: "Scope the statement to resource ARNs, or add an `aws:ResourceTag/ManagedBy` / `aws:RequestTag/ManagedBy` (or `ec2:CreateAction`) condition; put `ec2:Describe*` alone in its own statement.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: IAM_POLICY_TYPES,
  },
  (args, report) => {
    forEachPermissionStatement(args.type, args.props, report, (statement, path) => {
      if (statement.effect !== "Allow") return;
      const everyResource = statement.notResources || statement.resources.some((resource) => resource === "*");
      if (!everyResource || isTagConditioned(statement)) return;
      const unscoped = statement.notActions
        ? ["NotAction"]
        : statement.actions.filter((action) => !hasNoResourceLevelPermissions(action));
      if (unscoped.length > 0) {
        report(
          `\`${path}\` statement ${statement.index} allows ${unscoped.map((a) => `"${a}"`).join(", ")} on every resource without a tag condition`,
        );
      }
    });
  },
);
