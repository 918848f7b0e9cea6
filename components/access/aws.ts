import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { WORKLOAD_BOUNDARY_NAME, WORKLOAD_BOUNDARY_PATH, awsPermissionsForProfile } from "./aws-permissions.js";
import {
  renderPermissionsPolicy,
  renderTrustPolicy,
  renderWorkloadBoundaryPolicy,
} from "./aws-policy.js";
import { MANAGED_BY } from "../host/tags.js";
import { type AwsProvisionerRoleArgs, resolveAwsProvisionerRoleArgs } from "./aws-args.js";

export { type AwsProvisionerRoleArgs, resolveAwsProvisionerRoleArgs };

/**
 * The IAM role a customer deploys once in their own AWS account so that the
 * Claw Cloud provisioner can stand up OpenClaw hosts there (seed 001 §3, §4).
 * Trust: only the provisioner role, only with this customer's external ID.
 * Permissions: exactly the table in `aws-permissions.ts`, tag-scoped to
 * `ManagedBy=claw-cloud`; the IAM roles it may create are confined to two
 * paths and (for host roles) the workload permissions boundary created here.
 * Sessions last at most one hour.
 */
export class AwsProvisionerRole extends pulumi.ComponentResource {
  /** The role's ARN: what the customer gives back to Claw Cloud. */
  readonly roleArn: pulumi.Output<string>;
  /** The external ID the trust policy requires (not secret, but unique to this customer). */
  readonly externalId: pulumi.Output<string>;

  constructor(name: string, args: AwsProvisionerRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    const resolved = resolveAwsProvisionerRoleArgs(args);
    super("clawstack:access:AwsProvisionerRole", name, {}, opts);

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        name: resolved.roleName,
        path: "/claw-cloud/",
        description: "Lets the Claw Cloud provisioner manage ClawStack-tagged OpenClaw hosts (external ID required).",
        assumeRolePolicy: JSON.stringify(renderTrustPolicy(resolved.provisionerRoleArn, resolved.externalId)),
        maxSessionDuration: 3600,
        // The ownership tag every ClawStack resource carries (policy `aws-managed-by-tag`); the
        // provisioner's own permissions grant nothing on IAM roles, tagged or not.
        tags: { Purpose: "claw-cloud-provisioner", [MANAGED_BY.key]: MANAGED_BY.value },
      },
      { parent: this },
    );

    // The boundary every host role the provisioner creates must carry (see aws-permissions.ts).
    const boundary = new aws.iam.Policy(
      `${name}-workload-boundary`,
      {
        name: WORKLOAD_BOUNDARY_NAME,
        path: WORKLOAD_BOUNDARY_PATH,
        description: "Permissions boundary of the OpenClaw host roles Claw Cloud creates: read their own gateway token, nothing else.",
        policy: JSON.stringify(renderWorkloadBoundaryPolicy(resolved.partition, resolved.accountId)),
        tags: { Purpose: "claw-cloud-provisioner", [MANAGED_BY.key]: MANAGED_BY.value },
      },
      { parent: this },
    );

    new aws.iam.RolePolicy(
      `${name}-permissions`,
      {
        name: "claw-cloud-provisioner",
        role: role.name,
        policy: JSON.stringify(
          renderPermissionsPolicy({
            partition: resolved.partition,
            accountId: resolved.accountId,
            imageOwners: resolved.imageOwners,
            table: awsPermissionsForProfile(resolved.accessProfile),
          }),
        ),
      },
      // The boundary exists before the provisioner can create a role that must carry it.
      { parent: this, dependsOn: [boundary] },
    );

    this.roleArn = role.arn;
    this.externalId = pulumi.output(resolved.externalId);
    this.registerOutputs({ roleArn: this.roleArn, externalId: this.externalId });
  }
}
