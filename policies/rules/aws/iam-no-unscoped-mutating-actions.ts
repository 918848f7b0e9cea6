import { resourceRule } from "../../lib/rule";
import { IAM_POLICY_TYPES, conditionKeys, iamGlob, type Statement } from "../../lib/iam";
import { forEachPermissionStatement } from "../../lib/documents";
import { MANAGED_BY_KEY, MANAGED_BY_VALUE } from "../../lib/ownership";

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

/** The tag keys whose value proves a resource (or the one being created) is ClawStack's. */
const MANAGED_BY_CONDITION_KEYS = [
  `aws:resourcetag/${MANAGED_BY_KEY.toLowerCase()}`,
  `aws:requesttag/${MANAGED_BY_KEY.toLowerCase()}`,
  `ec2:resourcetag/${MANAGED_BY_KEY.toLowerCase()}`,
];

/** Condition values as strings; a value of another shape scopes nothing. */
function conditionValues(value: unknown): string[] | undefined {
  const values = Array.isArray(value) ? value : [value];
  return values.every((entry) => typeof entry === "string") && values.length > 0 ? (values as string[]) : undefined;
}

/**
 * Whether one condition entry confines the statement to ClawStack's own resources:
 * - `StringEquals` on `aws:ResourceTag/ManagedBy`, `aws:RequestTag/ManagedBy` or
 *   `ec2:ResourceTag/ManagedBy` with exactly "claw-cloud" (every listed value);
 * - `StringEquals` on `ec2:CreateAction` with named actions (tagging only while
 *   the resource is being created, by a call that is itself scoped).
 * Another tag key, another value, a wildcard, `StringLike`, `...IfExists`
 * (a missing key matches), `ForAllValues:`/`ForAnyValue:` (an empty set matches)
 * or `Null` (any value matches) scope nothing.
 */
function bindsToClawStack(operator: string, key: string, value: unknown): boolean {
  if (operator !== "StringEquals") return false;
  const values = conditionValues(value);
  if (!values) return false;
  if (MANAGED_BY_CONDITION_KEYS.includes(key)) return values.every((entry) => entry === MANAGED_BY_VALUE);
  if (key === "ec2:createaction") return values.every((entry) => /^[A-Za-z]+$/.test(entry));
  return false;
}

/** Condition entries map keys case-insensitively; conditions of one statement all apply (AND), so one binding entry scopes it. */
function isTagConditioned(statement: Statement): boolean {
  return conditionKeys(statement).some(({ operator, key, value }) => bindsToClawStack(operator, key, value));
}

function hasNoResourceLevelPermissions(action: string): boolean {
  return ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS.some((allowed) => iamGlob(allowed, action));
}

/**
 * IAM `Allow` statements on `Resource: "*"` grant only actions without resource-level permissions, unless bound to `ManagedBy` = `claw-cloud`.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "IAM `Allow` statements on `Resource: \"*\"` grant only actions without resource-level permissions, unless bound to `ManagedBy` = `claw-cloud`.",
    why: "A mutating action on every resource lets the provisioner (or whoever steals its session) terminate, modify or read things in the customer's account that ClawStack never created.",
    fix: "Scope the statement to resource ARNs, or add a `StringEquals` condition binding `aws:ResourceTag/ManagedBy` / `aws:RequestTag/ManagedBy` to exactly `claw-cloud` (or `ec2:CreateAction` to named actions); another tag key, another value, wildcards, `StringLike`, `IfExists` and `Null` conditions scope nothing; put `ec2:Describe*` alone in its own statement.",
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
          `\`${path}\` statement ${statement.index} allows ${unscoped.map((a) => `"${a}"`).join(", ")} on every resource without a \`StringEquals\` condition binding \`ManagedBy\` to "${MANAGED_BY_VALUE}"`,
        );
      }
    });
  },
);
