/**
 * The one table the GCP provisioner's custom roles are derived from: for each
 * Pulumi resource type the GCP host and snapshot components register, the
 * permissions needed to create, read, change and delete it.
 * `tests/components/access/permissions-coverage.test.ts` compares it with what the GCP host
 * and snapshot components register under mocks, in both directions.
 *
 * Each permission is named in full. `permissions` go into the project-wide
 * custom role (Compute Engine, and creating service accounts and secrets);
 * `workloadPermissions` act on one existing service account or secret, and go
 * into a second custom role bound with an IAM condition that admits only the
 * host service accounts (`<name>-host@...`) and gateway-token secrets
 * (`<name>-gateway-token`) the host component names. So the provisioner can
 * never attach the project's other service accounts (default compute account
 * included) to an instance, nor read or re-share the project's other secrets.
 */
export interface GcpPermissionsRow {
  readonly why: string;
  readonly permissions: readonly string[];
  readonly workloadPermissions?: readonly string[];
}

export const GCP_PROVISIONER_PERMISSIONS: Readonly<Record<string, GcpPermissionsRow>> = {
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
      // The host's static external address as its NAT IP.
      "compute.addresses.use",
      "compute.zoneOperations.get",
      "compute.zones.get",
    ],
    // Running the instance as its own (role-less) host service account.
    workloadPermissions: ["iam.serviceAccounts.actAs"],
  },
  "gcp:compute/address:Address": {
    why: "the host's stable address (a static external IPv4 address, kept across stop/start and replacement)",
    permissions: ["compute.addresses.create", "compute.addresses.get", "compute.addresses.delete", "compute.addresses.setLabels", "compute.regionOperations.get"],
  },
  "gcp:compute/attachedDisk:AttachedDisk": {
    why: "attaching the state disk to the host",
    permissions: [
      "compute.instances.attachDisk",
      "compute.instances.detachDisk",
      "compute.instances.get",
      "compute.disks.use",
      "compute.zoneOperations.get",
    ],
  },
  "gcp:serviceaccount/account:Account": {
    why: "the host's own service account, which holds no project role",
    permissions: ["iam.serviceAccounts.create"],
    workloadPermissions: ["iam.serviceAccounts.get", "iam.serviceAccounts.update", "iam.serviceAccounts.delete"],
  },
  "gcp:secretmanager/secret:Secret": {
    why: "the gateway-token secret, only when a stack gives a token",
    permissions: ["secretmanager.secrets.create"],
    workloadPermissions: ["secretmanager.secrets.get", "secretmanager.secrets.update", "secretmanager.secrets.delete"],
  },
  "gcp:secretmanager/secretVersion:SecretVersion": {
    why: "the gateway token's value",
    permissions: [],
    workloadPermissions: [
      "secretmanager.versions.add",
      "secretmanager.versions.get",
      "secretmanager.versions.access",
      "secretmanager.versions.enable",
      "secretmanager.versions.disable",
      "secretmanager.versions.destroy",
    ],
  },
  "gcp:secretmanager/secretIamMember:SecretIamMember": {
    why: "letting the host's service account read its own gateway token",
    permissions: [],
    workloadPermissions: ["secretmanager.secrets.getIamPolicy", "secretmanager.secrets.setIamPolicy"],
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
      // The dashboard's list of the disk's snapshots (the API's `snapshots` job: snapshots.list filtered by sourceDisk).
      "compute.snapshots.list",
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

/** The project-wide custom role's permission list: the union of the table's `permissions`, sorted, without duplicates. */
export function gcpProvisionerPermissions(
  table: Readonly<Record<string, GcpPermissionsRow>> = GCP_PROVISIONER_PERMISSIONS,
): string[] {
  return [...new Set(Object.values(table).flatMap((row) => row.permissions))].sort();
}

/** The conditioned role's permission list: the union of the table's `workloadPermissions`. */
export function gcpWorkloadPermissions(
  table: Readonly<Record<string, GcpPermissionsRow>> = GCP_PROVISIONER_PERMISSIONS,
): string[] {
  return [...new Set(Object.values(table).flatMap((row) => row.workloadPermissions ?? []))].sort();
}

/**
 * The IAM condition (CEL) of the workload role's binding: only the host service
 * accounts and gateway-token secrets (and their versions) of this project.
 * The suffixes are the names `components/host/gcp.ts` gives them.
 */
export function renderWorkloadCondition(projectId: string): string {
  return [
    `(resource.type == "iam.googleapis.com/ServiceAccount" && resource.name.endsWith("-host@${projectId}.iam.gserviceaccount.com"))`,
    `(resource.type == "secretmanager.googleapis.com/Secret" && resource.name.endsWith("-gateway-token"))`,
    `(resource.type == "secretmanager.googleapis.com/SecretVersion" && resource.name.extract("/secrets/{id}/versions/").endsWith("-gateway-token"))`,
  ].join(" || ");
}
