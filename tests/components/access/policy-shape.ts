import type { PolicyDocument, PolicyStatement } from "../../../components/access/aws-policy.js";

/** The actions of a statement as a list. */
export function actionsOf(statement: PolicyStatement): string[] {
  return typeof statement.Action === "string" ? [statement.Action] : [...statement.Action];
}

export function resourcesOf(statement: PolicyStatement): string[] {
  if (statement.Resource === undefined) return [];
  return typeof statement.Resource === "string" ? [statement.Resource] : [...statement.Resource];
}

const READ_ONLY = /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z*]*$/;

/** Whether an action only reads (Describe/Get/List). */
export function isReadOnly(action: string): boolean {
  return READ_ONLY.test(action);
}

/**
 * The one place an Allow with mutating actions may go without a tag condition:
 * the companions of a tag-conditioned create (the subnet and VPC it is placed
 * in, the root volume and network interface RunInstances makes with the
 * instance, the interface an Elastic IP is associated through). RunInstances,
 * CreateSecurityGroup and AssociateAddress also need the grant on the instance,
 * security group or Elastic IP itself, which is tag scoped. The shape is
 * pinned exactly, so any other unconditioned mutation is reported.
 */
function isLaunchCompanion(statement: PolicyStatement): boolean {
  const actions = actionsOf(statement);
  const resources = resourcesOf(statement);
  return (
    statement.Condition === undefined &&
    actions.every((action) => action === "ec2:RunInstances" || action === "ec2:CreateSecurityGroup") &&
    resources.length > 0 &&
    resources.every((resource) => /^arn:aws[a-z-]*:ec2:\*:\d{12}:(subnet|vpc|volume|network-interface)\/\*$/.test(resource))
  ) || (
    // Associating the host's Elastic IP touches the instance's untagged primary network interface;
    // the grant on the Elastic IP and the instance is resource-tag scoped.
    statement.Condition === undefined &&
    actions.every((action) => action === "ec2:AssociateAddress") &&
    resources.length > 0 &&
    resources.every((resource) => /^arn:aws[a-z-]*:ec2:\*:\d{12}:network-interface\/\*$/.test(resource))
  );
}

/** Tag condition keys that scope a mutating statement to ClawStack's resources. */
const SCOPING_KEYS = ["aws:RequestTag/ManagedBy", "aws:ResourceTag/ManagedBy", "ec2:CreateAction", "ec2:Owner", "iam:PassedToService"];

/**
 * Allow statements that grant a mutating action without one of the scoping
 * conditions, described by Sid. Empty for a well-formed provisioner policy.
 */
export function unscopedMutations(policy: PolicyDocument): string[] {
  const problems: string[] = [];
  for (const statement of policy.Statement) {
    if (statement.Effect !== "Allow") continue;
    const mutating = actionsOf(statement).filter((action) => !isReadOnly(action));
    if (mutating.length === 0 || isLaunchCompanion(statement)) continue;
    const keys = Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block));
    if (!keys.some((key) => SCOPING_KEYS.includes(key))) problems.push(`${statement.Sid}: ${mutating.join(", ")}`);
  }
  return problems;
}
