/**
 * What "a snapshot schedule covers the state disk" means per cloud, checked on
 * a synthesized plan (program/synth.ts). Each check follows the link a real
 * deployment relies on, so a schedule that exists but points elsewhere fails:
 * - AWS: a DLM policy whose `targetTags` are tags the state EBS volume carries,
 *   run by a role that only `dlm.amazonaws.com` can assume;
 * - GCP: a snapshot-schedule resource policy attached (by name) to the state
 *   disk (by name and zone);
 * - DigitalOcean: droplet backups with a backup policy, and the state volume
 *   tagged for ClawStack's volume snapshot job with its retention.
 */
import { createHash } from "node:crypto";
import { expect } from "vitest";
import type { PlannedResource, SynthResult } from "../../../program/synth-types";

export interface Coverage {
  /** The schedule as the cloud states it, for assertions on frequency and retention. */
  schedule: Record<string, unknown>;
  /** How many snapshots or days are kept. */
  retain: number;
}

// any: provider inputs differ per resource type; the checks read them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
type Inputs = Record<string, any>;

export function ofType(result: SynthResult, type: string): PlannedResource[] {
  return result.resources.filter((resource) => resource.type === type);
}

function one(result: SynthResult, type: string): PlannedResource {
  const found = ofType(result, type);
  expect(found.map((resource) => resource.name), `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
}

export function awsCoverage(result: SynthResult): Coverage {
  const volumes = ofType(result, "aws:ebs/volume:Volume");
  const state = volumes.find((volume) => volume.name.endsWith("-state"));
  expect(state, "an EBS state volume").toBeDefined();
  const policy = one(result, "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs as Inputs;
  expect(policy.state).toBe("ENABLED");
  expect(policy.policyDetails.resourceTypes).toEqual(["VOLUME"]);
  const targetTags = policy.policyDetails.targetTags as Record<string, string>;
  expect(Object.keys(targetTags).length).toBeGreaterThan(0);
  const volumeTags = (state!.inputs as Inputs).tags as Record<string, string>;
  for (const [key, value] of Object.entries(targetTags)) expect(volumeTags[key], `state volume tag ${key}`).toBe(value);
  // Only the state volume carries the target tag: the policy does not snapshot the root disk too.
  const targeted = volumes.filter((volume) => Object.entries(targetTags).every(([key, value]) => (volume.inputs as Inputs).tags?.[key] === value));
  expect(targeted.map((volume) => volume.name)).toEqual([state!.name]);

  const roles = ofType(result, "aws:iam/role:Role");
  const role = roles.find((candidate) => policy.executionRoleArn === `arn:aws:iam::123456789012:role/${candidate.name}-${roleSuffix(candidate.name)}`);
  expect(role, "the DLM policy's execution role is one of the stack's roles").toBeDefined();
  const trust = JSON.parse((role!.inputs as Inputs).assumeRolePolicy as string) as { Statement: Inputs[] };
  expect(trust.Statement).toEqual([{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }]);
  const attachments = ofType(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
    (attachment) => (attachment.inputs as Inputs).role === `${role!.name}-${roleSuffix(role!.name)}`,
  );
  expect(attachments.map((attachment) => (attachment.inputs as Inputs).policyArn)).toEqual([
    "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
  ]);
  const [schedule] = policy.policyDetails.schedules as Inputs[];
  return { schedule: schedule!.createRule as Record<string, unknown>, retain: schedule!.retainRule.count as number };
}

/** The synth mocks name an IAM role `<logical name>-<7 hex of sha256(name)>` (program/mocks.ts). */
function roleSuffix(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 7);
}

export function gcpCoverage(result: SynthResult): Coverage {
  const disk = one(result, "gcp:compute/disk:Disk").inputs as Inputs;
  const policy = one(result, "gcp:compute/resourcePolicy:ResourcePolicy").inputs as Inputs;
  const attachment = one(result, "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment").inputs as Inputs;
  expect(attachment.name).toBe(policy.name);
  expect(attachment.disk).toBe(disk.name);
  expect(attachment.zone).toBe(disk.zone);
  expect(attachment.project).toBe(disk.project);
  expect(disk.zone.startsWith(`${policy.region}-`)).toBe(true);
  const schedulePolicy = policy.snapshotSchedulePolicy as Inputs;
  expect(schedulePolicy.retentionPolicy.onSourceDiskDelete).toBe("KEEP_AUTO_SNAPSHOTS");
  return { schedule: schedulePolicy.schedule as Record<string, unknown>, retain: schedulePolicy.retentionPolicy.maxRetentionDays as number };
}

export function digitalOceanCoverage(result: SynthResult): Coverage {
  const droplet = one(result, "digitalocean:index/droplet:Droplet").inputs as Inputs;
  const volume = one(result, "digitalocean:index/volume:Volume").inputs as Inputs;
  expect(droplet.backups).toBe(true);
  expect(droplet.backupPolicy).toBeDefined();
  const tags = volume.tags as string[];
  expect(tags).toContain("ManagedBy:claw-cloud");
  expect(tags).toContain("clawstack-snapshots");
  const retainTag = tags.find((tag) => tag.startsWith("clawstack-snapshots-retain:"));
  expect(retainTag).toBeDefined();
  return { schedule: droplet.backupPolicy as Record<string, unknown>, retain: Number(retainTag!.split(":")[1]) };
}

export function coverageFor(cloud: string, result: SynthResult): Coverage {
  switch (cloud) {
    case "aws":
      return awsCoverage(result);
    case "gcp":
      return gcpCoverage(result);
    case "digitalocean":
      return digitalOceanCoverage(result);
    default:
      throw new Error(`no snapshot coverage check for cloud ${cloud}`);
  }
}
