import { stackRule } from "../../lib/rule";
import { joinSplitResources } from "../../lib/join";
import { asList, field, isRecord } from "../../lib/values";

/**
 * DigitalOcean has no native volume snapshot schedule: the ClawStack snapshot
 * job (components/snapshots/digitalocean-volume-job.ts) takes the volumes
 * tagged `clawstack-snapshots` (`digitalOceanVolumeSnapshotTags`).
 */
export const DIGITALOCEAN_SNAPSHOT_TAG = "clawstack-snapshots";

function dlmCovers(policy: Record<string, unknown>, volumeTags: Record<string, unknown>): boolean {
  if (policy.state === "DISABLED") return false;
  const details = policy.policyDetails;
  if (!asList(field(details, "resourceTypes")).includes("VOLUME")) return false;
  if (asList(field(details, "schedules")).length === 0) return false;
  const targetTags = field(details, "targetTags");
  if (!isRecord(targetTags) || Object.keys(targetTags).length === 0) return false;
  return Object.entries(targetTags).every(([key, value]) => volumeTags[key] === value);
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
    const dlmPolicies = args.resources.filter((r) => r.type === "aws:dlm/lifecyclePolicy:LifecyclePolicy");
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
            if (!dlmPolicies.some((policy) => dlmCovers(policy.props, tags))) {
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
