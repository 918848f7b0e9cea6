import * as pulumi from "@pulumi/pulumi";
import * as dlm from "@pulumi/aws/dlm";
import * as iam from "@pulumi/aws/iam";
import type { ActiveSnapshotSchedule } from "../../core/host-config.js";
import { SNAPSHOT_ROLE_ACCESS_ARGS } from "../access/workload-roles.js";
import { awsTags } from "../host/tags.js";
import { awsDlmSchedule } from "./schedule.js";

export interface AwsStateSnapshotsArgs {
  /** Base name of the child resources. */
  name: string;
  /** The tag on the state volume; the policy targets exactly that tag. */
  targetTag: { key: string; value: string };
  schedule: ActiveSnapshotSchedule;
  /** Extra tags; `ManagedBy=claw-cloud` is always added. Defaults to none. */
  tags?: Record<string, string>;
}

/** The trust policy of the DLM execution role: only the DLM service may assume it. */
export function dlmTrustPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
  });
}

/** AWS's managed policy for DLM execution roles (create, tag and delete EBS snapshots). */
export const DLM_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole";

/**
 * EBS snapshots of the state volume on a schedule: a DLM lifecycle policy
 * targeting the volume's tag, run by its own execution role trusted only by
 * `dlm.amazonaws.com`.
 */
export class AwsStateSnapshots extends pulumi.ComponentResource {
  readonly policyId: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: AwsStateSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("clawstack:snapshots:AwsStateSnapshots", name, {}, opts);
    const tags = awsTags(`${args.name}-snapshots`, args.tags ?? {});
    const role = new iam.Role(
      `${name}-dlm`,
      // Under the path the provisioner role (`aws-access`) may create and pass snapshot roles in.
      { ...SNAPSHOT_ROLE_ACCESS_ARGS, assumeRolePolicy: dlmTrustPolicy(), description: "DLM execution role for ClawStack state snapshots", tags },
      { parent: this },
    );
    new iam.RolePolicyAttachment(`${name}-dlm`, { role: role.name, policyArn: DLM_SERVICE_POLICY_ARN }, { parent: this });
    const schedule = awsDlmSchedule(args.schedule);
    const policy = new dlm.LifecyclePolicy(
      `${name}-state`,
      {
        description: `ClawStack state snapshots for ${args.name}`,
        executionRoleArn: role.arn,
        state: "ENABLED",
        policyDetails: {
          resourceTypes: ["VOLUME"],
          targetTags: { [args.targetTag.key]: args.targetTag.value },
          schedules: [schedule],
        },
        tags,
      },
      { parent: this },
    );
    this.policyId = policy.id;
    this.roleArn = role.arn;
    this.registerOutputs({ policyId: this.policyId, roleArn: this.roleArn });
  }
}
