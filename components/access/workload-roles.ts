import * as pulumi from "@pulumi/pulumi";
import { HOST_ROLE_PATH, SNAPSHOT_ROLE_PATH, workloadBoundaryArn } from "./aws-permissions.js";

/**
 * What the AWS host and snapshot components must put on the IAM roles they
 * create so that the provisioner role (`aws-access`) may create them at all:
 * its `iam:CreateRole`, `iam:PutRolePolicy` and `iam:PassRole` grants reach only
 * roles under these paths, and host roles only with the workload permissions
 * boundary. Spread into the resource args:
 *
 *   new iam.Role(name, { ...hostRoleAccessArgs({ parent: this }), assumeRolePolicy, ... })
 *   new iam.InstanceProfile(name, { ...HOST_INSTANCE_PROFILE_ACCESS_ARGS, role, ... })
 *   new iam.Role(name, { ...SNAPSHOT_ROLE_ACCESS_ARGS, assumeRolePolicy, ... })
 */
export const HOST_INSTANCE_PROFILE_ACCESS_ARGS = { path: HOST_ROLE_PATH } as const;
/** The host role's path; its boundary is the host's `permissionsBoundaryArn` (with `aws-access`: `hostRoleAccessArgs`). */
export const HOST_ROLE_ACCESS_ARGS = { path: HOST_ROLE_PATH } as const;
export const SNAPSHOT_ROLE_ACCESS_ARGS = { path: SNAPSHOT_ROLE_PATH } as const;

/**
 * The host role's path and permissions boundary. The boundary's ARN names the
 * account the stack deploys into, read from the provider's caller identity
 * (the customer's account, whether the provisioner or the customer runs it).
 */
export function hostRoleAccessArgs(opts: pulumi.InvokeOptions = {}): { path: string; permissionsBoundary: pulumi.Output<string> } {
  // Loaded lazily, like the host program does, so importing this file does not load the AWS SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily (see above)
  const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
  const identity = aws.getCallerIdentityOutput({}, opts);
  const partition = aws.getPartitionOutput({}, opts);
  return {
    path: HOST_ROLE_PATH,
    permissionsBoundary: pulumi
      .all([partition.partition, identity.accountId])
      .apply(([name, accountId]) => workloadBoundaryArn(name, accountId)),
  };
}
