import type { PolicyResource } from "@pulumi/policy";
import { stackRule } from "../../lib/rule";
import { joinSplitResources } from "../../lib/join";
import { snapshotsOptedOut } from "../../lib/snapshots";
import { asList, field, isRecord } from "../../lib/values";

/**
 * DigitalOcean has no native volume snapshot schedule: the ClawStack snapshot
 * job (runtime/digitalocean-volume-job.ts) takes the volumes
 * tagged `clawstack-snapshots` (`digitalOceanVolumeSnapshotTags`).
 */
export const DIGITALOCEAN_SNAPSHOT_TAG = "clawstack-snapshots";

/**
 * An enabled DLM snapshot policy for volumes, read once into plain data: the
 * tags a volume must carry to be covered. `state` defaults to ENABLED in the
 * DLM API; anything other than ENABLED (DISABLED, an unknown value) covers
 * nothing, and so does a policy for AMIs or events, one without schedules or
 * one without target tags.
 */
function dlmTargetTags(policy: Record<string, unknown>): Array<[string, string]> | undefined {
  const state = policy.state ?? "ENABLED";
  if (state !== "ENABLED") return undefined;
  const details = policy.policyDetails;
  const policyType = field(details, "policyType") ?? "EBS_SNAPSHOT_MANAGEMENT";
  if (policyType !== "EBS_SNAPSHOT_MANAGEMENT") return undefined;
  if (!asList(field(details, "resourceTypes")).includes("VOLUME")) return undefined;
  if (asList(field(details, "schedules")).length === 0) return undefined;
  const targetTags = field(details, "targetTags");
  if (!isRecord(targetTags) || Object.keys(targetTags).length === 0) return undefined;
  return Object.entries(targetTags).map(([key, value]) => [key, String(value)]);
}

/** The last path segment of a resource-policy reference (`projects/p/regions/r/resourcePolicies/name` → `name`). */
function policyName(reference: unknown): string {
  return String(reference).split("/").pop() ?? "";
}

function tagKey(key: string, value: unknown): string {
  return `${key}\u0000${String(value)}`;
}

/**
 * Every state disk (EBS volume, GCP disk, DigitalOcean volume) is covered by an enabled snapshot schedule, unless the stack opts out explicitly.
 *
 * An opt-out is only `snapshots: {enabled: false}` written in the stack's
 * config (rule config `snapshotsEnabled: false`); this rule then stays silent
 * and `stack-snapshots-opted-out` reports the opt-out, advisory.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description:
      "Every state disk (EBS volume, GCP disk, DigitalOcean volume) is covered by an enabled snapshot schedule, unless the stack opts out explicitly.",
    why: "The state disk is the only copy of the user's OpenClaw memory and files; without scheduled snapshots a deleted or corrupted disk is gone for good.",
    fix: "Keep the host's default snapshot schedule (an ENABLED AWS DLM policy whose target tags the volume carries, a GCP snapshot-schedule resource policy attached to the disk, the DigitalOcean `clawstack-snapshots` volume tag), or turn snapshots off in so many words with `clawstack:snapshots: {enabled: false}`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, config, guard) => {
    if (snapshotsOptedOut(config)) return; // reported by stack-snapshots-opted-out
    // DLM policies indexed by their first target tag, so each volume only looks at policies that can match it.
    const dlmByFirstTag = new Map<string, Array<Array<[string, string]>>>();
    for (const policy of args.resources) {
      if (policy.type !== "aws:dlm/lifecyclePolicy:LifecyclePolicy") continue;
      guard(policy.urn, () => {
        const targetTags = dlmTargetTags(policy.props);
        if (!targetTags) return;
        const [first] = targetTags;
        const key = tagKey(first![0], first![1]);
        dlmByFirstTag.set(key, [...(dlmByFirstTag.get(key) ?? []), targetTags]);
      });
    }
    const dlmCovers = (volumeTags: Record<string, unknown>): boolean =>
      Object.entries(volumeTags).some(([key, value]) =>
        (dlmByFirstTag.get(tagKey(key, value)) ?? []).some((targetTags) => targetTags.every(([k, v]) => String(volumeTags[k]) === v && k in volumeTags)),
      );
    const gcpAttachments = joinSplitResources(
      args.resources,
      ["gcp:compute/disk:Disk"],
      ["gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"],
      "disk",
      ["name", "id"],
    );
    // Snapshot-schedule resource policies of the plan by name; a policy the plan does not hold is taken on trust.
    const gcpPolicies = new Map<string, boolean>();
    for (const policy of args.resources) {
      if (policy.type !== "gcp:compute/resourcePolicy:ResourcePolicy") continue;
      guard(policy.urn, () => {
        gcpPolicies.set(String(policy.props.name ?? policy.name), isRecord(policy.props.snapshotSchedulePolicy));
      });
    }
    const schedules = (reference: unknown): boolean => gcpPolicies.get(policyName(reference)) ?? true;
    // An attachment's policy name is usually another resource's output; not known yet, it is taken on trust like an outside policy.
    const attachedPolicy = (attachment: PolicyResource): unknown => {
      try {
        return attachment.props.name;
      } catch {
        return undefined;
      }
    };
    for (const resource of args.resources) {
      guard(resource.urn, () => {
        switch (resource.type) {
          case "aws:ebs/volume:Volume": {
            const tags = isRecord(resource.props.tags) ? resource.props.tags : {};
            if (!dlmCovers({ ...tags })) {
              report("no ENABLED DLM snapshot policy for VOLUME targets this volume's tags (a disabled policy, or target tags the volume lacks, protect nothing)", resource.urn);
            }
            break;
          }
          case "gcp:compute/disk:Disk": {
            const inline = asList(resource.props.resourcePolicies).some(schedules);
            const attached = (gcpAttachments.get(resource) ?? []).some((attachment) => schedules(attachedPolicy(attachment)));
            if (!inline && !attached) {
              report("no snapshot-schedule resource policy is attached to this disk (by `resourcePolicies` or a `DiskResourcePolicyAttachment`)", resource.urn);
            }
            break;
          }
          case "digitalocean:index/volume:Volume": {
            const tagged = asList(resource.props.tags).some((tag) => String(tag) === DIGITALOCEAN_SNAPSHOT_TAG);
            if (!tagged) report(`no \`${DIGITALOCEAN_SNAPSHOT_TAG}\` tag puts this volume on the ClawStack snapshot job`, resource.urn);
            break;
          }
        }
      });
    }
  },
);
