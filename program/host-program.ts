import * as pulumi from "@pulumi/pulumi";
import type { HostConfig } from "../core/host-config.js";
import { parseHostConfig } from "./host-config.js";
import type { StackKind } from "../core/stack-kind.js";

/** What a host stack exports. */
export type HostStackOutputs = {
  cloud: string;
  region: string;
  publicIpv4: pulumi.Output<string>;
  publicIpv6: pulumi.Output<string | null>;
  gatewayUrl: pulumi.Output<string>;
  instanceId: pulumi.Output<string>;
  stateDiskId: pulumi.Output<string>;
  /**
   * The host's cloud firewall, where the API opens a support grant's SSH rule (docs/zero-access.md): the
   * DigitalOcean Cloud Firewall's id, the AWS security group's id, or the GCP network and target tag.
   */
  firewallId?: pulumi.Output<string>;
  securityGroupId?: pulumi.Output<string>;
  network?: pulumi.Output<string>;
  networkTag?: pulumi.Output<string>;
  /** Where the owner reads the gateway token (docs/host.md). */
  gatewayTokenSource: string;
  snapshots: string;
};

/**
 * Stands up one user's OpenClaw host: the cloud's provider pinned to the
 * stack's region, the host component, and (unless the stack opts out) the
 * snapshot schedule covering its state disk. Plain data in, outputs out, no
 * global state: the provisioning API runs this as an Automation API inline
 * program. Only the chosen cloud's SDK is loaded.
 */
export async function openClawStack(config: HostConfig): Promise<HostStackOutputs> {
  const stack = pulumi.getStack();
  const common = {
    name: config.name,
    region: config.region,
    size: config.size,
    gatewayCidrs: config.gatewayCidrs,
    clawchatClientCidrs: config.clawchatClientCidrs,
    clawchat: config.clawchat,
    sshAccess: config.sshAccess,
    stateDiskGiB: config.stateDiskGiB,
    versions: config.versions,
    image: config.image,
    ...(config.mirrors ? { mirrors: { ...config.mirrors } } : {}),
    tags: config.tags,
    ...(config.restoreFromSnapshot ? { restoreFromSnapshot: config.restoreFromSnapshot } : {}),
    // The components register user-data as a secret when it carries the registration token.
    ...(config.registration ? { registration: { ...config.registration } } : {}),
    ...(config.supportAccess ? { supportAccess: { ...config.supportAccess } } : {}),
    ...(config.proxyDevice ? { proxyDevice: { ...config.proxyDevice } } : {}),
  };
  const gatewayToken = config.cloud === "digitalocean" || config.gatewayToken === undefined ? undefined : pulumi.secret(config.gatewayToken);
  const schedule = config.snapshots;
  const snapshotsSummary = schedule.enabled
    ? `${schedule.frequency}${schedule.frequency === "weekly" ? ` on ${schedule.weekday}` : ""} at ${String(schedule.hourUtc).padStart(2, "0")}:00 UTC, keep ${schedule.retain}`
    : "disabled by the stack (snapshots.enabled: false)";

  let host: {
    publicIpv4: pulumi.Output<string>;
    publicIpv6: pulumi.Output<string | null>;
    gatewayUrl: pulumi.Output<string>;
    instanceId: pulumi.Output<string>;
    stateDiskId: pulumi.Output<string>;
  };
  let tokenSource: string;
  let firewall: Pick<HostStackOutputs, "firewallId" | "securityGroupId" | "network" | "networkTag">;

  switch (config.cloud) {
    case "digitalocean": {
      const [{ Provider }, { DigitalOceanHost }] = await Promise.all([
        import("@pulumi/digitalocean/provider.js"),
        import("../components/host/digitalocean.js"),
      ]);
      const provider = new Provider("digitalocean", {});
      const droplet = new DigitalOceanHost(
        config.name,
        { ...common, snapshots: schedule, ...(config.vpcUuid ? { vpcUuid: config.vpcUuid } : {}) },
        { providers: [provider] },
      );
      host = droplet;
      firewall = { firewallId: droplet.firewallId };
      tokenSource = "generated on the host at first boot";
      break;
    }
    case "aws": {
      const [{ Provider }, { AwsHost }, { AwsStateSnapshots }, { stateSnapshotTag }] = await Promise.all([
        import("@pulumi/aws/provider.js"),
        import("../components/host/aws.js"),
        import("../components/snapshots/aws.js"),
        import("../components/snapshots/schedule.js"),
      ]);
      const provider = new Provider("aws", { region: config.region as never });
      const targetTag = stateSnapshotTag(stack, config.name);
      const aws = new AwsHost(
        config.name,
        {
          ...common,
          ...(config.zone ? { availabilityZone: config.zone } : {}),
          ...(config.awsKmsKeyArn ? { kmsKeyArn: config.awsKmsKeyArn } : {}),
          ...(gatewayToken ? { gatewayToken } : {}),
          ...(config.awsPermissionsBoundaryArn ? { permissionsBoundaryArn: config.awsPermissionsBoundaryArn } : {}),
          ...(config.vpcId && config.subnetId ? { vpcId: config.vpcId, subnetId: config.subnetId } : {}),
          snapshotTargetTag: targetTag,
        },
        { providers: [provider] },
      );
      if (schedule.enabled) {
        new AwsStateSnapshots(`${config.name}-snapshots`, { name: config.name, targetTag, schedule, tags: config.tags }, { providers: [provider], dependsOn: [aws] });
      }
      host = aws;
      firewall = { securityGroupId: aws.securityGroupId };
      tokenSource = gatewayToken ? "AWS SSM SecureString (given as a Pulumi secret)" : "generated on the host at first boot";
      break;
    }
    case "gcp": {
      const [{ Provider }, { GcpHost }, { GcpStateSnapshots }] = await Promise.all([
        import("@pulumi/gcp/provider.js"),
        import("../components/host/gcp.js"),
        import("../components/snapshots/gcp.js"),
      ]);
      const project = config.gcpProject;
      const zone = config.zone;
      const provider = new Provider("gcp", { project, region: config.region, zone });
      const gcp = new GcpHost(
        config.name,
        {
          ...common,
          project,
          zone,
          ...(gatewayToken ? { gatewayToken } : {}),
          ...(config.network ? { network: config.network } : {}),
          ...(config.subnetwork ? { subnetwork: config.subnetwork } : {}),
        },
        { providers: [provider] },
      );
      if (schedule.enabled) {
        new GcpStateSnapshots(
          `${config.name}-snapshots`,
          { name: config.name, project, region: config.region, zone, diskName: gcp.stateDiskName, schedule, labels: config.tags },
          { providers: [provider] },
        );
      }
      host = gcp;
      firewall = { network: gcp.network, networkTag: gcp.networkTag };
      tokenSource = gatewayToken ? "GCP Secret Manager (given as a Pulumi secret)" : "generated on the host at first boot";
      break;
    }
    default: {
      const unknown: never = config;
      throw new Error(`unknown cloud ${String((unknown as HostConfig).cloud)}`);
    }
  }

  return {
    cloud: config.cloud,
    region: config.region,
    publicIpv4: host.publicIpv4,
    publicIpv6: host.publicIpv6,
    gatewayUrl: host.gatewayUrl,
    instanceId: host.instanceId,
    stateDiskId: host.stateDiskId,
    ...firewall,
    gatewayTokenSource: tokenSource,
    snapshots: snapshotsSummary,
  };
}

/** The `host` stack kind: an OpenClaw host with its snapshot schedule. */
export const hostKind: StackKind<HostConfig> = {
  kind: "host",
  description: "An OpenClaw host on DigitalOcean, AWS or GCP, closed by default, with state snapshots",
  parse: (raw) => parseHostConfig(raw, { allowRegistration: true }),
  run: openClawStack,
};
