import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/gcp/compute";
import type { ActiveSnapshotSchedule } from "../../core/host-config.js";
import { gcpLabels } from "../host/tags.js";
import { gcpSnapshotSchedulePolicy } from "./schedule.js";

export interface GcpStateSnapshotsArgs {
  /** Base name of the child resources. */
  name: string;
  project: string;
  region: string;
  zone: string;
  /** Name of the state disk the schedule attaches to. */
  diskName: pulumi.Input<string>;
  schedule: ActiveSnapshotSchedule;
  /** Extra labels; `managed-by=claw-cloud` is always added. Defaults to none. */
  labels?: Record<string, string>;
}

/** Persistent-disk snapshots of the state disk: a snapshot-schedule resource policy attached to the disk. */
export class GcpStateSnapshots extends pulumi.ComponentResource {
  readonly resourcePolicyId: pulumi.Output<string>;

  constructor(name: string, args: GcpStateSnapshotsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("clawstack:snapshots:GcpStateSnapshots", name, {}, opts);
    const labels = gcpLabels(args.labels ?? {});
    const policy = new compute.ResourcePolicy(
      `${name}-state`,
      {
        name: `${args.name}-state-snapshots`,
        project: args.project,
        region: args.region,
        description: `ClawStack state snapshots for ${args.name}`,
        snapshotSchedulePolicy: gcpSnapshotSchedulePolicy(args.schedule, labels),
      },
      { parent: this },
    );
    new compute.DiskResourcePolicyAttachment(
      `${name}-state`,
      { name: policy.name, disk: args.diskName, project: args.project, zone: args.zone },
      { parent: this },
    );
    this.resourcePolicyId = policy.id;
    this.registerOutputs({ resourcePolicyId: this.resourcePolicyId });
  }
}
