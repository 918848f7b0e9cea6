import { stackRule } from "../../lib/rule";
import { joinSplitResources } from "../../lib/join";
import { asList, field, isRecord } from "../../lib/values";

/**
 * DigitalOcean has no native volume snapshot schedule: the ClawStack snapshot
 * job (components/snapshots/digitalocean-volume-job.ts) takes the volumes
 * tagged `clawstack-snapshots` (`digitalOceanVolumeSnapshotTags`).
 */
export const DIGITALOCEAN_SNAPSHOT_TAG = "clawstack-snapshots";

/** An enabled DLM policy for volumes, read once into plain data: the tags a volume must carry to be covered. */
function dlmTargetTags(policy: Record<string, unknown>): Array<[string, string]> | undefined {
  if (policy.state === "DISABLED") return undefined;
  const details = policy.policyDetails;
  if (!asList(field(details, "resourceTypes")).includes("VOLUME")) return undefined;
  if (asList(field(details, "schedules")).length === 0) return undefined;
  const targetTags = field(details, "targetTags");
  if (!isRecord(targetTags) || Object.keys(targetTags).length === 0) return undefined;
  return Object.entries(targetTags).map(([key, value]) => [key, String(value)]);
}

function tagKey(key: string, value: unknown): string {
  return `${key}\u0000${String(value)}`;
}

/**
 * Every state disk (EBS volume, GCP disk, DigitalOcean volume) is covered by a snapshot schedule.
 *
 * @severity high
 * @enforcement advisory
 * @unknown skip
 */
export default stackRule(
  __filename,
  {
    description: "Every state disk (EBS volume, GCP disk, DigitalOcean volume) is covered by a snapshot schedule.",
    why: "The state disk is the only copy of the user's OpenClaw memory and files; without scheduled snapshots a deleted or corrupted disk is gone for good.",
    fix: "Keep the host's default snapshot schedule (AWS DLM policy targeting the volume's tags, GCP resource policy attached to the disk, DigitalOcean `clawstack-snapshots` volume tag), or exempt the disk with a reason.",
    severity: "high",
    enforcementLevel: "advisory",
    unknownValues: "skip",
  },
  (args, report, _config, guard) => {
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
    for (const resource of args.resources) {
      guard(resource.urn, () => {
        switch (resource.type) {
          case "aws:ebs/volume:Volume": {
            const tags = isRecord(resource.props.tags) ? resource.props.tags : {};
            if (!dlmCovers({ ...tags })) {
              report("no enabled DLM lifecycle policy for VOLUME targets this volume's tags", resource.urn);
            }
            break;
          }
          case "gcp:compute/disk:Disk": {
            const inline = asList(resource.props.resourcePolicies).length > 0;
            if (!inline && (gcpAttachments.get(resource) ?? []).length === 0) {
              report("no snapshot resource policy is attached to this disk", resource.urn);
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
