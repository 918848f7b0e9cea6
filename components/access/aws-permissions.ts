/**
 * The one table the AWS provisioner role's permissions policy is derived from:
 * for each Pulumi resource type the AWS host and snapshot components register,
 * the IAM actions the provisioner needs to create, change, read and delete it.
 *
 * `tests/access/aws-permissions-coverage.test.ts` synthesizes the AWS host
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
 * IAM paths of the two roles the provisioner may pass to AWS services. The host
 * components create the instance role under `HOST_ROLE_PATH` and the snapshot
 * component the DLM execution role under `SNAPSHOT_ROLE_PATH`; `iam:PassRole` is
 * granted for those paths only, each to its one service.
 */
export const HOST_ROLE_PATH = "/claw-cloud/host/";
export const SNAPSHOT_ROLE_PATH = "/claw-cloud/snapshots/";

/**
 * How a grant is scoped:
 * - `request-tag`: the call must tag what it creates `ManagedBy=claw-cloud`
 *   (`aws:RequestTag`); used for creating calls.
 * - `resource-tag`: the target must already carry `ManagedBy=claw-cloud`
 *   (`aws:ResourceTag`); used for every change, attach, detach and delete.
 * - `launch-image`: the AMI a launch reads, limited to trusted image owners
 *   (`ec2:Owner`), since public images carry no ClawStack tag.
 * - `describe`: read-only `ec2:Describe*` on `"*"` (no resource-level scoping exists).
 */
export type GrantScope = "request-tag" | "resource-tag" | "launch-image" | "describe";

export interface Grant {
  readonly scope: GrantScope;
  readonly actions: readonly string[];
  /**
   * ARN patterns, with `{partition}`, `{account}` placeholders; `*` for the
   * region (the role works in every region the customer chooses).
   */
  readonly resources: readonly string[];
}

export interface ResourceTypePermissions {
  /** What the row is for, shown in docs. */
  readonly why: string;
  readonly grants: readonly Grant[];
}

const EC2 = "arn:{partition}:ec2:*:{account}";
const EC2_ANY_OWNER = "arn:{partition}:ec2:*::";

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
      {
        scope: "request-tag",
        actions: ["ec2:RunInstances"],
        resources: [`${EC2}:instance/*`, `${EC2}:volume/*`, `${EC2}:network-interface/*`],
      },
      {
        scope: "resource-tag",
        actions: ["ec2:RunInstances"],
        resources: [`${EC2}:subnet/*`, `${EC2}:security-group/*`],
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
      {
        scope: "request-tag",
        actions: ["ec2:CreateSecurityGroup"],
        resources: [`${EC2}:security-group/*`],
      },
      {
        scope: "resource-tag",
        actions: ["ec2:CreateSecurityGroup"],
        resources: [`${EC2}:vpc/*`],
      },
      {
        scope: "resource-tag",
        actions: [
          "ec2:DeleteSecurityGroup",
          "ec2:AuthorizeSecurityGroupIngress",
          "ec2:AuthorizeSecurityGroupEgress",
          "ec2:RevokeSecurityGroupIngress",
          "ec2:RevokeSecurityGroupEgress",
          "ec2:ModifySecurityGroupRules",
        ],
        resources: [`${EC2}:security-group/*`, `${EC2}:security-group-rule/*`],
      },
      DESCRIBE,
    ],
  },
  "aws:ec2/ebsVolume:EbsVolume": {
    why: "the OpenClaw state volume",
    grants: [
      { scope: "request-tag", actions: ["ec2:CreateVolume"], resources: [`${EC2}:volume/*`] },
      {
        scope: "resource-tag",
        actions: ["ec2:DeleteVolume", "ec2:ModifyVolume"],
        resources: [`${EC2}:volume/*`],
      },
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
  "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
    why: "the daily snapshot schedule of the state volume (Data Lifecycle Manager)",
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
export const AWS_PASSABLE_ROLES: readonly { readonly path: string; readonly service: string; readonly why: string }[] = [
  { path: HOST_ROLE_PATH, service: "ec2.amazonaws.com", why: "the host's instance profile role" },
  { path: SNAPSHOT_ROLE_PATH, service: "dlm.amazonaws.com", why: "the DLM execution role of the snapshot policy" },
];
