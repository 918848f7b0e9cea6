/**
 * The one table the AWS provisioner role's permissions policy is derived from:
 * for each Pulumi resource type the AWS host and snapshot components register,
 * the IAM actions the provisioner needs to create, change, read and delete it.
 *
 * `tests/components/access/aws-permissions-coverage.test.ts` synthesizes the AWS host
 * example stack and fails when a component registers a type missing here, or
 * when this table grants actions for a type no component registers. Add a row
 * here in the same change that makes a component use a new resource type.
 *
 * Every action is named in full (`ec2:TerminateInstances`), never `*` or
 * `service:*`; the single exception is `ec2:Describe*`, which AWS offers no
 * resource-level scoping for, and which `renderPermissionsPolicy` puts alone on
 * `"*"` in its own statement.
 */

/** The tag that marks what ClawStack created, and the only value the provisioner may act on. */
export const MANAGED_BY_TAG_KEY = "ManagedBy";
export const MANAGED_BY_TAG_VALUE = "claw-cloud";

/**
 * IAM paths of the two kinds of role ClawStack creates in the customer's
 * account: the host's instance role (and its instance profile) under
 * `HOST_ROLE_PATH`, the snapshot schedule's DLM execution role under
 * `SNAPSHOT_ROLE_PATH`. Every IAM grant of the provisioner is limited to these
 * paths (a path is fixed when a role is created, so the provisioner can never
 * reach the customer's other roles), `iam:PassRole` to one service per path.
 */
export const HOST_ROLE_PATH = "/claw-cloud/host/";
export const SNAPSHOT_ROLE_PATH = "/claw-cloud/snapshots/";

/**
 * The permissions boundary every role the provisioner creates must carry: a
 * managed policy the `aws-access` stack creates beside the provisioner role.
 * `iam:CreateRole`, `iam:PutRolePolicy` and `iam:AttachRolePolicy` are only
 * allowed with `iam:PermissionsBoundary` equal to it, so whatever policy the
 * provisioner writes into a workload role, that role can never do more than
 * the boundary allows (no privilege escalation through a role it passes to EC2).
 */
export const WORKLOAD_BOUNDARY_PATH = "/claw-cloud/";
export const WORKLOAD_BOUNDARY_NAME = "claw-cloud-workload-boundary";

export function workloadBoundaryArn(partition: string, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:policy${WORKLOAD_BOUNDARY_PATH}${WORKLOAD_BOUNDARY_NAME}`;
}

/**
 * How a grant is scoped:
 * - `request-tag`: the call must tag what it creates `ManagedBy=claw-cloud`
 *   (`aws:RequestTag`); used for creating calls.
 * - `resource-tag`: the target must already carry `ManagedBy=claw-cloud`
 *   (`aws:ResourceTag`); used for every change, attach, detach and delete.
 * - `launch-image`: the AMI a launch reads, limited to trusted image owners
 *   (`ec2:Owner`), since public images carry no ClawStack tag.
 * - `launch-companion`: the other resources a creating call touches besides
 *   the one it tags: the subnet and VPC a launch or a new security group is
 *   placed in (the account's default VPC carries no ClawStack tag), and the
 *   network interface RunInstances creates with the instance (the provider
 *   tags only the instance and, through the host's `volumeTags`, its root
 *   volume in the RunInstances call). Only `ec2:RunInstances`,
 *   `ec2:CreateSecurityGroup` and `ec2:AssociateAddress` (the instance's
 *   primary interface), which also need the tag-conditioned grant on the
 *   instance, security group or Elastic IP, so none of these can be used alone.
 * - `create-bounded-role`: `aws:RequestTag` plus `iam:PermissionsBoundary` =
 *   the workload boundary; only under the two role paths.
 * - `bounded-role`: `aws:ResourceTag` plus `iam:PermissionsBoundary` = the
 *   workload boundary (writing a role's policies).
 * - `attach-managed-policy`: as `bounded-role`, and `iam:PolicyARN` limited to
 *   the grant's `policyArns`.
 * - `describe`: read-only `ec2:Describe*` on `"*"` (no resource-level scoping exists).
 * - `state-volume`: as `resource-tag`, and the volume's `Name` tag must end in
 *   `-state` (`aws:ResourceTag/Name`, `StringLike`), the name the AWS host gives only its
 *   state volume; used by the strict profile for `ec2:AttachVolume`/`ec2:DetachVolume` on volumes.
 * - `resize-only`: as `resource-tag`, and `ec2:Attribute/InstanceType` must be
 *   one of the host's AWS machine types; used by the strict profile for
 *   `ec2:ModifyInstanceAttribute` (a request changing anything else, user data
 *   included, carries no such key and is refused).
 */
export type GrantScope =
  | "request-tag"
  | "resource-tag"
  | "launch-image"
  | "launch-companion"
  | "create-bounded-role"
  | "bounded-role"
  | "attach-managed-policy"
  | "describe"
  | "state-volume"
  | "resize-only";

export interface Grant {
  readonly scope: GrantScope;
  readonly actions: readonly string[];
  /**
   * ARN patterns, with `{partition}`, `{account}` placeholders; `*` for the
   * region (the role works in every region the customer chooses).
   */
  readonly resources: readonly string[];
  /** For `attach-managed-policy`: the only managed policies that may be attached (`{partition}` placeholder). */
  readonly policyArns?: readonly string[];
}

export interface ResourceTypePermissions {
  /** What the row is for, shown in docs. */
  readonly why: string;
  readonly grants: readonly Grant[];
}

const EC2 = "arn:{partition}:ec2:*:{account}";
const EC2_ANY_OWNER = "arn:{partition}:ec2:*::";
const IAM = "arn:{partition}:iam::{account}";
const HOST_ROLES = `${IAM}:role${HOST_ROLE_PATH}*`;
const SNAPSHOT_ROLES = `${IAM}:role${SNAPSHOT_ROLE_PATH}*`;
const HOST_INSTANCE_PROFILES = `${IAM}:instance-profile${HOST_ROLE_PATH}*`;
/** The gateway-token parameters (`/clawstack/<stack>/<host>/gateway-token`). */
const GATEWAY_TOKEN_PARAMETERS = "arn:{partition}:ssm:*:{account}:parameter/clawstack/*";
/** AWS's managed policy for DLM execution roles; the only policy the provisioner may attach. */
export const DLM_MANAGED_POLICY_ARN = "arn:{partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole";

const DESCRIBE: Grant = { scope: "describe", actions: ["ec2:Describe*"], resources: ["*"] };

/**
 * Resource type token → permissions. Keyed by the exact Pulumi type token the
 * components register (`aws:ec2/instance:Instance`), so the coverage test can
 * compare this table with a synthesized stack.
 */
export const AWS_PROVISIONER_PERMISSIONS: Readonly<Record<string, ResourceTypePermissions>> = {
  "aws:ec2/instance:Instance": {
    why: "the OpenClaw host (AwsHost)",
    grants: [
      // The root volume is tagged in the same call (the host's `volumeTags`), so it is request-tag scoped too.
      { scope: "request-tag", actions: ["ec2:RunInstances"], resources: [`${EC2}:instance/*`, `${EC2}:volume/*`] },
      {
        scope: "resource-tag",
        actions: ["ec2:RunInstances"],
        resources: [`${EC2}:security-group/*`, `${EC2}:key-pair/*`],
      },
      {
        scope: "launch-companion",
        actions: ["ec2:RunInstances"],
        resources: [`${EC2}:subnet/*`, `${EC2}:network-interface/*`],
      },
      { scope: "launch-image", actions: ["ec2:RunInstances"], resources: [`${EC2_ANY_OWNER}image/*`] },
      {
        scope: "resource-tag",
        actions: [
          "ec2:TerminateInstances",
          "ec2:StopInstances",
          "ec2:StartInstances",
          "ec2:RebootInstances",
          "ec2:ModifyInstanceAttribute",
          "ec2:ModifyInstanceMetadataOptions",
        ],
        resources: [`${EC2}:instance/*`],
      },
      DESCRIBE,
    ],
  },
  "aws:ec2/securityGroup:SecurityGroup": {
    why: "the host's firewall",
    grants: [
      { scope: "request-tag", actions: ["ec2:CreateSecurityGroup"], resources: [`${EC2}:security-group/*`] },
      { scope: "launch-companion", actions: ["ec2:CreateSecurityGroup"], resources: [`${EC2}:vpc/*`] },
      {
        scope: "resource-tag",
        actions: [
          "ec2:DeleteSecurityGroup",
          "ec2:AuthorizeSecurityGroupIngress",
          "ec2:AuthorizeSecurityGroupEgress",
          "ec2:RevokeSecurityGroupIngress",
          "ec2:RevokeSecurityGroupEgress",
        ],
        resources: [`${EC2}:security-group/*`],
      },
      DESCRIBE,
    ],
  },
  "aws:ebs/volume:Volume": {
    why: "the OpenClaw state volume",
    grants: [
      { scope: "request-tag", actions: ["ec2:CreateVolume"], resources: [`${EC2}:volume/*`] },
      // Restoring the state volume from one of its own snapshots (DLM copies the volume's tags onto them).
      { scope: "resource-tag", actions: ["ec2:CreateVolume"], resources: [`${EC2_ANY_OWNER}snapshot/*`] },
      { scope: "resource-tag", actions: ["ec2:DeleteVolume", "ec2:ModifyVolume"], resources: [`${EC2}:volume/*`] },
      DESCRIBE,
    ],
  },
  "aws:ec2/volumeAttachment:VolumeAttachment": {
    why: "attaching the state volume to the host",
    grants: [
      {
        scope: "resource-tag",
        actions: ["ec2:AttachVolume", "ec2:DetachVolume"],
        resources: [`${EC2}:volume/*`, `${EC2}:instance/*`],
      },
      DESCRIBE,
    ],
  },
  "aws:ec2/eip:Eip": {
    why: "the host's stable address (an Elastic IP, kept across stop/start and replacement)",
    grants: [
      { scope: "request-tag", actions: ["ec2:AllocateAddress"], resources: [`${EC2}:elastic-ip/*`] },
      { scope: "resource-tag", actions: ["ec2:ReleaseAddress"], resources: [`${EC2}:elastic-ip/*`] },
      DESCRIBE,
    ],
  },
  "aws:ec2/eipAssociation:EipAssociation": {
    why: "associating the Elastic IP with the host (moved to a replacement instance)",
    grants: [
      {
        scope: "resource-tag",
        actions: ["ec2:AssociateAddress", "ec2:DisassociateAddress"],
        resources: [`${EC2}:elastic-ip/*`, `${EC2}:instance/*`],
      },
      // The instance's primary network interface, which RunInstances created untagged.
      { scope: "launch-companion", actions: ["ec2:AssociateAddress"], resources: [`${EC2}:network-interface/*`] },
      DESCRIBE,
    ],
  },
  "aws:ec2/keyPair:KeyPair": {
    why: "the SSH public key, only when a stack sets `sshAccess`",
    grants: [
      { scope: "request-tag", actions: ["ec2:ImportKeyPair"], resources: [`${EC2}:key-pair/*`] },
      { scope: "resource-tag", actions: ["ec2:DeleteKeyPair"], resources: [`${EC2}:key-pair/*`] },
      DESCRIBE,
    ],
  },
  "aws:ssm/parameter:Parameter": {
    why: "the gateway token as an SSM SecureString, only when a stack gives one",
    grants: [
      {
        scope: "request-tag",
        actions: ["ssm:PutParameter", "ssm:AddTagsToResource"],
        resources: [GATEWAY_TOKEN_PARAMETERS],
      },
      {
        scope: "resource-tag",
        actions: ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:ListTagsForResource"],
        resources: [GATEWAY_TOKEN_PARAMETERS],
      },
      // DescribeParameters has no resource-level scoping; it lists names and metadata, never values.
      { scope: "describe", actions: ["ssm:DescribeParameters"], resources: ["*"] },
    ],
  },
  "aws:iam/role:Role": {
    why: "the host's instance role and the DLM execution role, each under its path and the workload boundary",
    grants: [
      // Host roles get inline policies from the provisioner, so they must carry the workload boundary.
      { scope: "create-bounded-role", actions: ["iam:CreateRole"], resources: [HOST_ROLES] },
      // Snapshot roles can only ever hold AWS's DLM policy (see RolePolicyAttachment), so no boundary is needed.
      { scope: "request-tag", actions: ["iam:CreateRole"], resources: [SNAPSHOT_ROLES] },
      { scope: "request-tag", actions: ["iam:TagRole"], resources: [HOST_ROLES, SNAPSHOT_ROLES] },
      {
        scope: "resource-tag",
        actions: [
          "iam:GetRole",
          "iam:DeleteRole",
          "iam:ListRolePolicies",
          "iam:ListAttachedRolePolicies",
          "iam:ListInstanceProfilesForRole",
        ],
        resources: [HOST_ROLES, SNAPSHOT_ROLES],
      },
    ],
  },
  "aws:iam/rolePolicy:RolePolicy": {
    why: "the host role's only permission: read its own gateway token",
    grants: [
      { scope: "bounded-role", actions: ["iam:PutRolePolicy"], resources: [HOST_ROLES] },
      { scope: "resource-tag", actions: ["iam:GetRolePolicy", "iam:DeleteRolePolicy"], resources: [HOST_ROLES] },
    ],
  },
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
    why: "AWS's DLM service policy on the snapshot execution role",
    grants: [
      {
        scope: "attach-managed-policy",
        actions: ["iam:AttachRolePolicy"],
        resources: [SNAPSHOT_ROLES],
        policyArns: [DLM_MANAGED_POLICY_ARN],
      },
      { scope: "resource-tag", actions: ["iam:DetachRolePolicy"], resources: [SNAPSHOT_ROLES] },
    ],
  },
  "aws:iam/instanceProfile:InstanceProfile": {
    why: "the instance profile carrying the host role",
    grants: [
      {
        scope: "request-tag",
        actions: ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
        resources: [HOST_INSTANCE_PROFILES],
      },
      {
        scope: "resource-tag",
        actions: [
          "iam:GetInstanceProfile",
          "iam:DeleteInstanceProfile",
          "iam:AddRoleToInstanceProfile",
          "iam:RemoveRoleFromInstanceProfile",
        ],
        resources: [HOST_INSTANCE_PROFILES],
      },
    ],
  },
  "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
    why: "the snapshot schedule of the state volume (Data Lifecycle Manager)",
    grants: [
      {
        scope: "request-tag",
        actions: ["dlm:CreateLifecyclePolicy"],
        resources: ["arn:{partition}:dlm:*:{account}:policy/*"],
      },
      {
        scope: "resource-tag",
        actions: [
          "dlm:GetLifecyclePolicy",
          "dlm:UpdateLifecyclePolicy",
          "dlm:DeleteLifecyclePolicy",
          "dlm:ListTagsForResource",
        ],
        resources: ["arn:{partition}:dlm:*:{account}:policy/*"],
      },
    ],
  },
};

/**
 * Roles the provisioner may hand to an AWS service, and to which service.
 * Rendered as `iam:PassRole` statements with `iam:PassedToService`.
 */
export const AWS_PASSABLE_ROLES: readonly {
  readonly path: string;
  readonly service: string;
  readonly why: string;
  /** The resource type whose creation passes the role (so the coverage test can tie the grant to a component). */
  readonly usedBy: string;
}[] = [
  { path: HOST_ROLE_PATH, service: "ec2.amazonaws.com", why: "the host's instance profile role", usedBy: "aws:iam/instanceProfile:InstanceProfile" },
  {
    path: SNAPSHOT_ROLE_PATH,
    service: "dlm.amazonaws.com",
    why: "the DLM execution role of the snapshot policy",
    usedBy: "aws:dlm/lifecyclePolicy:LifecyclePolicy",
  },
];

/** Which role paths must be created with the workload permissions boundary: the host's, whose inline policy the provisioner writes. */
export const BOUNDED_ROLE_PATHS: readonly string[] = [HOST_ROLE_PATH];

/**
 * The `aws-access` stack's `accessProfile`:
 * - `standard` (default): the table above, unchanged.
 * - `strict`:
 *   - `ec2:ModifyInstanceAttribute` only as a resize to one of the host's own
 *     instance types (`ec2:Attribute/InstanceType`, present only in a request
 *     that changes the type; one request changes one attribute), so user data
 *     can no longer be changed in place. The AWS host never needs that: it
 *     ignores raw user-data changes and replaces the instance when its boot
 *     fingerprint changes (`userDataReplaceOnChange: false`, `replacementTrigger`).
 *   - `ec2:AttachVolume` and `ec2:DetachVolume` on a volume only when that volume
 *     is a ClawStack state volume (`ManagedBy=claw-cloud` and a `Name` tag ending
 *     in `-state`, which only the host's state volume carries), so a host's root
 *     volume can no longer be detached or attached anywhere. IAM evaluates each resource of a call on its
 *     own tags, so it cannot require the instance and the volume to belong to
 *     the same host: a state volume can still be attached to another
 *     ClawStack-tagged instance.
 */
export const ACCESS_PROFILES = ["standard", "strict"] as const;
export type AccessProfile = (typeof ACCESS_PROFILES)[number];

/** Attaching and detaching, which the strict profile allows on state volumes only (the host detaches nothing else). */
const VOLUME_BINDING_ACTIONS: readonly string[] = ["ec2:AttachVolume", "ec2:DetachVolume"];

/** The `Name` tag pattern (`StringLike`) a volume must carry to be attached or detached under the strict profile. */
export const STATE_VOLUME_NAME_PATTERN = "*-state";

/** The permission table for a profile (`standard` returns the table itself). */
export function awsPermissionsForProfile(
  profile: AccessProfile,
  table: Readonly<Record<string, ResourceTypePermissions>> = AWS_PROVISIONER_PERMISSIONS,
): Readonly<Record<string, ResourceTypePermissions>> {
  if (profile === "standard") return table;
  const strict: Record<string, ResourceTypePermissions> = {};
  for (const [type, row] of Object.entries(table)) {
    const grants: Grant[] = [];
    for (const grant of row.grants) {
      if (grant.scope !== "resource-tag") {
        grants.push(grant);
        continue;
      }
      // Split the narrowed actions off the plain resource-tag grant.
      const rest = grant.actions.filter((action) => action !== "ec2:ModifyInstanceAttribute" && !VOLUME_BINDING_ACTIONS.includes(action));
      if (rest.length > 0) grants.push({ ...grant, actions: rest });
      if (grant.actions.includes("ec2:ModifyInstanceAttribute")) {
        grants.push({ scope: "resize-only", actions: ["ec2:ModifyInstanceAttribute"], resources: grant.resources });
      }
      const binding = grant.actions.filter((action) => VOLUME_BINDING_ACTIONS.includes(action));
      if (binding.length > 0) {
        const volumes = grant.resources.filter((resource) => resource.endsWith(":volume/*"));
        const others = grant.resources.filter((resource) => !resource.endsWith(":volume/*"));
        if (others.length > 0) grants.push({ ...grant, actions: binding, resources: others });
        if (volumes.length > 0) grants.push({ scope: "state-volume", actions: binding, resources: volumes });
      }
    }
    strict[type] = { why: row.why, grants };
  }
  return strict;
}
