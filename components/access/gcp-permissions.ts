/**
 * The one table the GCP provisioner's custom role is derived from: for each
 * Pulumi resource type the GCP host and snapshot components register, the
 * Compute Engine permissions needed to create, read, change and delete it.
 * `tests/access/gcp-permissions-coverage.test.ts` compares it with a
 * synthesized GCP host stack, in both directions.
 *
 * Only `compute.*` permissions, each named in full: the custom role never holds
 * IAM, storage, KMS or project-level administration.
 */
export const GCP_PROVISIONER_PERMISSIONS: Readonly<Record<string, { readonly why: string; readonly permissions: readonly string[] }>> = {
  "gcp:compute/instance:Instance": {
    why: "the OpenClaw host (GcpHost)",
    permissions: [
      "compute.instances.create",
      "compute.instances.get",
      "compute.instances.delete",
      "compute.instances.start",
      "compute.instances.stop",
      "compute.instances.reset",
      "compute.instances.setMetadata",
      "compute.instances.setLabels",
      "compute.instances.setTags",
      "compute.instances.setMachineType",
      "compute.instances.attachDisk",
      "compute.instances.detachDisk",
      "compute.disks.create",
      "compute.disks.use",
      "compute.images.useReadOnly",
      "compute.subnetworks.use",
      "compute.subnetworks.useExternalIp",
      "compute.zoneOperations.get",
      "compute.zones.get",
    ],
  },
  "gcp:compute/disk:Disk": {
    why: "the OpenClaw state disk",
    permissions: [
      "compute.disks.create",
      "compute.disks.get",
      "compute.disks.delete",
      "compute.disks.setLabels",
      "compute.disks.resize",
      "compute.disks.use",
      "compute.snapshots.useReadOnly",
      "compute.zoneOperations.get",
    ],
  },
  "gcp:compute/firewall:Firewall": {
    why: "the host's firewall rules",
    permissions: [
      "compute.firewalls.create",
      "compute.firewalls.get",
      "compute.firewalls.update",
      "compute.firewalls.delete",
      "compute.networks.updatePolicy",
      "compute.globalOperations.get",
    ],
  },
  "gcp:compute/resourcePolicy:ResourcePolicy": {
    why: "the state disk's snapshot schedule",
    permissions: [
      "compute.resourcePolicies.create",
      "compute.resourcePolicies.get",
      "compute.resourcePolicies.delete",
      "compute.resourcePolicies.use",
      "compute.regionOperations.get",
    ],
  },
  "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": {
    why: "attaching the snapshot schedule to the state disk",
    permissions: [
      "compute.disks.addResourcePolicies",
      "compute.disks.removeResourcePolicies",
      "compute.disks.get",
      "compute.resourcePolicies.use",
      "compute.zoneOperations.get",
    ],
  },
};

/** The custom role's permission list: the union of the table, sorted, without duplicates. */
export function gcpProvisionerPermissions(
  table: Readonly<Record<string, { readonly permissions: readonly string[] }>> = GCP_PROVISIONER_PERMISSIONS,
): string[] {
  return [...new Set(Object.values(table).flatMap((row) => row.permissions))].sort();
}
