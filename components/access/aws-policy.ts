import { MACHINE_SIZES } from "../../core/presets.js";
import {
  AWS_PASSABLE_ROLES,
  AWS_PROVISIONER_PERMISSIONS,
  MANAGED_BY_TAG_KEY,
  MANAGED_BY_TAG_VALUE,
  STATE_VOLUME_NAME_PATTERN,
  type GrantScope,
  type ResourceTypePermissions,
  workloadBoundaryArn,
} from "./aws-permissions.js";

/** An IAM policy document as AWS reads it. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: { readonly AWS: string | readonly string[] };
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The role's trust policy: only the Claw Cloud provisioner role may assume it,
 * and only when it presents this customer's external ID (exact match,
 * `StringEquals`, never `StringLike`). `sts:SetSourceIdentity` sits in the same
 * statement, under the same condition, so the provisioner can stamp each
 * session with the Claw Cloud user it acts for; the customer then sees that
 * user in CloudTrail for every call made with the session.
 */
export function renderTrustPolicy(provisionerRoleArn: string, externalId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ClawCloudProvisionerWithExternalId",
        Effect: "Allow",
        Principal: { AWS: provisionerRoleArn },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
        Condition: { StringEquals: { "sts:ExternalId": externalId } },
      },
    ],
  };
}

export interface PermissionsPolicyInput {
  /** `aws`, `aws-us-gov` or `aws-cn`. */
  readonly partition: string;
  /** The customer's account, where the role lives. */
  readonly accountId: string;
  /** Owners whose AMIs the host may launch from (`ec2:Owner`): `amazon` or 12-digit account IDs. */
  readonly imageOwners: readonly string[];
  /** Defaults to the table in `aws-permissions.ts`; tests pass a smaller one. */
  readonly table?: Readonly<Record<string, ResourceTypePermissions>>;
}

/** Trusted AMI owners by default: Amazon, Canonical (Ubuntu) and Debian. */
export const DEFAULT_IMAGE_OWNERS: readonly string[] = ["amazon", "099720109477", "136693071363"];

/** The instance types the AWS host's size presets use: the only ones the strict profile lets it resize to. */
const HOST_INSTANCE_TYPES: readonly string[] = Object.values(MACHINE_SIZES.aws).map((size) => size.machineType).sort();

const REQUEST_TAG = { [`aws:RequestTag/${MANAGED_BY_TAG_KEY}`]: MANAGED_BY_TAG_VALUE };
const RESOURCE_TAG = { [`aws:ResourceTag/${MANAGED_BY_TAG_KEY}`]: MANAGED_BY_TAG_VALUE };

/**
 * The provisioner role's permissions, derived from the table: grants with the
 * same scope and resources are merged into one statement, actions sorted, so
 * the document is stable and stays well under the 10,240-character inline limit.
 */
export function renderPermissionsPolicy(input: PermissionsPolicyInput): PolicyDocument {
  const table = input.table ?? AWS_PROVISIONER_PERMISSIONS;
  const fill = (pattern: string): string =>
    pattern.replaceAll("{partition}", input.partition).replaceAll("{account}", input.accountId);
  const context: ConditionContext = {
    imageOwners: input.imageOwners,
    boundaryArn: workloadBoundaryArn(input.partition, input.accountId),
  };

  const merged = new Map<string, { scope: GrantScope; resources: string[]; policyArns: string[]; actions: Set<string> }>();
  for (const permissions of Object.values(table)) {
    for (const grant of permissions.grants) {
      const resources = grant.resources.map(fill).sort();
      const policyArns = (grant.policyArns ?? []).map(fill).sort();
      // Unscoped reads stay one statement per grant, so `ec2:Describe*` is alone in its own.
      const actionsKey = grant.scope === "describe" ? grant.actions.join(",") : "";
      const key = `${grant.scope}|${resources.join(",")}|${policyArns.join(",")}|${actionsKey}`;
      const entry = merged.get(key) ?? { scope: grant.scope, resources, policyArns, actions: new Set<string>() };
      for (const action of grant.actions) entry.actions.add(action);
      merged.set(key, entry);
    }
  }

  const statements: PolicyStatement[] = [];
  const counters = new Map<string, number>();
  const sidFor = (scope: GrantScope): string => {
    const n = (counters.get(scope) ?? 0) + 1;
    counters.set(scope, n);
    const base = SID_BY_SCOPE[scope];
    return n === 1 ? base : `${base}${n}`;
  };
  const createActions = new Set<string>();
  for (const scope of SCOPE_ORDER) {
    for (const entry of merged.values()) {
      if (entry.scope !== scope) continue;
      const actions = [...entry.actions].sort();
      if (scope === "request-tag") for (const action of actions) createActions.add(action);
      statements.push({
        Sid: sidFor(scope),
        Effect: "Allow",
        Action: actions,
        Resource: entry.resources.length === 1 && entry.resources[0] === "*" ? "*" : entry.resources,
        ...conditionFor(scope, { ...context, policyArns: entry.policyArns }),
      });
    }
  }

  // EC2 create calls tag what they create in the same request (TagSpecifications),
  // which AWS authorizes as ec2:CreateTags with ec2:CreateAction = the creating call.
  const ec2CreateActions = [...createActions]
    .filter((action) => action.startsWith("ec2:"))
    .map((action) => action.slice("ec2:".length))
    .sort();
  if (ec2CreateActions.length > 0) {
    statements.push({
      Sid: "TagOnlyWhileCreating",
      Effect: "Allow",
      Action: "ec2:CreateTags",
      Resource: `arn:${input.partition}:ec2:*:${input.accountId}:*/*`,
      Condition: { StringEquals: { "ec2:CreateAction": ec2CreateActions } },
    });
  }

  const usedTypes = new Set(Object.keys(table));
  for (const role of AWS_PASSABLE_ROLES) {
    if (!usedTypes.has(role.usedBy)) continue;
    statements.push({
      Sid: `PassRoleTo${serviceName(role.service)}`,
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: `arn:${input.partition}:iam::${input.accountId}:role${role.path}*`,
      Condition: { StringEquals: { "iam:PassedToService": role.service } },
    });
  }

  statements.push(
    {
      Sid: "DenyChangingManagedByTag",
      Effect: "Deny",
      Action: ["ec2:CreateTags", "dlm:TagResource"],
      Resource: "*",
      Condition: {
        "ForAnyValue:StringEquals": { "aws:TagKeys": [MANAGED_BY_TAG_KEY] },
        Null: { "ec2:CreateAction": "true" },
      },
    },
    {
      Sid: "DenyRemovingManagedByTag",
      Effect: "Deny",
      Action: ["ec2:DeleteTags", "dlm:UntagResource", "iam:UntagRole", "iam:UntagInstanceProfile", "ssm:RemoveTagsFromResource"],
      Resource: "*",
      Condition: { "ForAnyValue:StringEquals": { "aws:TagKeys": [MANAGED_BY_TAG_KEY] } },
    },
    {
      Sid: "DenyRemovingTheBoundary",
      Effect: "Deny",
      Action: ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"],
      Resource: "*",
    },
  );

  return { Version: "2012-10-17", Statement: statements };
}

/**
 * The permissions boundary of host roles (`WORKLOAD_BOUNDARY_NAME`): the most a
 * role the provisioner creates under the host path can ever do, whatever inline
 * policy it is given. Read the host's own gateway-token parameters and decrypt
 * them through SSM; nothing else.
 */
export function renderWorkloadBoundaryPolicy(partition: string, accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadGatewayTokens",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: `arn:${partition}:ssm:*:${accountId}:parameter/clawstack/*`,
      },
      {
        Sid: "DecryptGatewayTokensThroughSsm",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: `arn:${partition}:kms:*:${accountId}:key/*`,
        Condition: { StringLike: { "kms:ViaService": "ssm.*.amazonaws.com" } },
      },
    ],
  };
}

const SCOPE_ORDER: readonly GrantScope[] = [
  "describe",
  "request-tag",
  "create-bounded-role",
  "launch-image",
  "launch-companion",
  "resource-tag",
  "bounded-role",
  "attach-managed-policy",
  "state-volume",
  "resize-only",
];

const SID_BY_SCOPE: Record<GrantScope, string> = {
  describe: "DescribeOnly",
  "request-tag": "CreateOnlyTagged",
  "create-bounded-role": "CreateRolesOnlyWithBoundary",
  "launch-image": "LaunchFromTrustedImages",
  "launch-companion": "LaunchCompanionsOfTaggedCreates",
  "resource-tag": "ChangeOnlyTagged",
  "bounded-role": "WriteRolePoliciesOnlyWithinBoundary",
  "attach-managed-policy": "AttachOnlyDlmServicePolicy",
  "state-volume": "AttachOnlyStateVolumes",
  "resize-only": "ModifyInstanceOnlyToResize",
};

interface ConditionContext {
  readonly imageOwners: readonly string[];
  readonly boundaryArn: string;
  readonly policyArns?: readonly string[];
}

function conditionFor(scope: GrantScope, context: ConditionContext): Pick<PolicyStatement, "Condition"> {
  const boundary = { "iam:PermissionsBoundary": context.boundaryArn };
  switch (scope) {
    case "describe":
    case "launch-companion":
      return {};
    case "request-tag":
      return { Condition: { StringEquals: REQUEST_TAG } };
    case "resource-tag":
      return { Condition: { StringEquals: RESOURCE_TAG } };
    case "launch-image":
      return { Condition: { StringEquals: { "ec2:Owner": [...context.imageOwners] } } };
    case "create-bounded-role":
      return { Condition: { StringEquals: { ...REQUEST_TAG, ...boundary } } };
    case "bounded-role":
      return { Condition: { StringEquals: { ...RESOURCE_TAG, ...boundary } } };
    case "attach-managed-policy":
      // The DLM role carries no boundary: what bounds it is that only this one AWS policy can be attached.
      return { Condition: { StringEquals: { ...RESOURCE_TAG }, ArnEquals: { "iam:PolicyARN": [...(context.policyArns ?? [])] } } };
    case "state-volume":
      return { Condition: { StringEquals: RESOURCE_TAG, StringLike: { "aws:ResourceTag/Name": STATE_VOLUME_NAME_PATTERN } } };
    case "resize-only":
      return { Condition: { StringEquals: { ...RESOURCE_TAG, "ec2:Attribute/InstanceType": HOST_INSTANCE_TYPES } } };
    default: {
      const unknown: never = scope;
      throw new Error(`unknown grant scope ${String(unknown)}`);
    }
  }
}

function serviceName(service: string): string {
  const head = service.split(".")[0] ?? service;
  return head.toUpperCase();
}

/** Every action a policy allows, flattened (for tests and for the docs table). */
export function allowedActions(policy: PolicyDocument): string[] {
  return policy.Statement.filter((statement) => statement.Effect === "Allow").flatMap((statement) =>
    typeof statement.Action === "string" ? [statement.Action] : [...statement.Action],
  );
}
