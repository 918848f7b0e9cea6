import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { HOST_DEFAULTS, type SnapshotSchedule } from "../../core/host-config.js";
import { MACHINE_SIZES } from "../../core/presets.js";
import { digitalOceanBackupPolicy, digitalOceanVolumeSnapshotTags } from "../snapshots/schedule.js";
import { type HostArgs, type HostOutputs, resolveHostArgs, withKnownSources } from "./args.js";
import { hostUserData, stateDevicePaths, userDataInput, withPublicAddress } from "./boot.js";
import { type IngressRule, ingressRules, OPEN_EGRESS_CIDRS } from "./firewall.js";
import { digitalOceanTags } from "./tags.js";
import { IMAGE_SOURCES } from "./images.js";

export interface DigitalOceanHostArgs extends HostArgs {
  /**
   * Droplet backups (boot disk). Defaults to `HOST_DEFAULTS.snapshots` (daily at 04:00 UTC, keep 7). `enabled: false`
   * turns them off; the state volume's snapshots come from the volume snapshot job.
   */
  snapshots?: SnapshotSchedule;
  /** VPC the droplet joins (its UUID, for example another resource's `vpc.id`). Defaults to the account's default VPC of the region. */
  vpcUuid?: pulumi.Input<string>;
}


/** A DigitalOcean Cloud Firewall inbound rule for each cloud-neutral rule (pure). */
export function digitalOceanInboundRules(rules: IngressRule[]) {
  return rules.map((rule) => ({
    protocol: rule.protocol,
    portRange: rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`,
    sourceAddresses: rule.cidrs,
  }));
}

/** Open egress: TCP and UDP on every port, and ICMP (pure). */
export function digitalOceanOutboundRules() {
  return [
    { protocol: "tcp", portRange: "1-65535", destinationAddresses: OPEN_EGRESS_CIDRS },
    { protocol: "udp", portRange: "1-65535", destinationAddresses: OPEN_EGRESS_CIDRS },
    { protocol: "icmp", destinationAddresses: OPEN_EGRESS_CIDRS },
  ];
}

/**
 * An OpenClaw host on DigitalOcean: a Debian 12 (default) or Ubuntu 24.04 droplet with monitoring and
 * backups, its state on a separate volume attached by its own resource (so a
 * droplet replaced for new user-data leaves the volume alone), and a Cloud
 * Firewall that admits only the rules of `ingressRules`. The gateway token is
 * generated on the host (DigitalOcean has no secret store only the host reads).
 */
export class DigitalOceanHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIpv4: pulumi.Output<string>;
  readonly publicIpv6: pulumi.Output<string | null>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly stateDiskId: pulumi.Output<string>;
  /** The Cloud Firewall's id: the API adds and removes a support grant's SSH rule on it (docs/zero-access.md). */
  readonly firewallId: pulumi.Output<string>;

  constructor(name: string, args: DigitalOceanHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("clawstack:host:DigitalOceanHost", name, {}, opts);
    const resolved = resolveHostArgs(args);
    if (resolved.gatewayToken !== undefined) {
      throw new pulumi.ResourceError(
        "`gatewayToken` cannot be used on DigitalOcean: the host generates its token at first boot",
        this,
      );
    }
    const snapshots = args.snapshots ?? HOST_DEFAULTS.snapshots;
    const tags = digitalOceanTags(resolved.tags);
    const volumeName = `${resolved.name}-state`;

    const volume = new digitalocean.Volume(
      `${name}-state`,
      {
        name: volumeName,
        region: resolved.region,
        size: resolved.stateDiskGiB,
        description: "OpenClaw state (formatted at first boot only when empty)",
        ...(resolved.restoreFromSnapshot ? { snapshotId: resolved.restoreFromSnapshot } : {}),
        tags: [...tags, ...digitalOceanVolumeSnapshotTags(snapshots)],
      },
      // The volume's name is fixed (`<name>-state`, and the host finds the disk by it), so a
      // replacement (a restore in place through `restoreFromSnapshot`) must delete the old
      // volume first: created first, the new one would collide with the name in the region.
      // Its attachment, which names the volume, is replaced with it.
      { parent: this, deleteBeforeReplace: true },
    );

    const sshKey = resolved.sshAccess
      ? new digitalocean.SshKey(`${name}-ssh`, { name: `${resolved.name}-ssh`, publicKey: resolved.sshAccess.publicKey }, { parent: this })
      : undefined;

    // The host's stable address: a reserved IP of its region, kept across power cycles and droplet
    // replacement; first boot writes it into the ClawChat security file (on the state volume) rather than
    // the droplet's own address, which a replacement changes.
    const reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region: resolved.region }, { parent: this });

    const rendered = withKnownSources(resolved, (known) =>
      hostUserData("digitalocean", known, stateDevicePaths.digitalocean(volumeName), { source: "generate" }, {
        warn: (message) => pulumi.log.warn(message, this),
        publicIpv4StandIn: true,
      }),
    );
    const userData = pulumi.all([reservedIp.ipAddress, rendered]).apply(([publicIp, once]) => {
      const encoded = withPublicAddress("digitalocean", once, publicIp);
      if (encoded.encoding !== "plain") {
        throw new pulumi.ResourceError(`DigitalOcean takes plain user-data; the encoder returned ${encoded.encoding}`, this);
      }
      return encoded.userData;
    });

    const backupsOn = snapshots.enabled;
    const droplet = new digitalocean.Droplet(
      name,
      {
        name: resolved.name,
        image: IMAGE_SOURCES[resolved.image].digitalocean,
        region: resolved.region,
        size: MACHINE_SIZES.digitalocean[resolved.size].machineType,
        ipv6: true,
        monitoring: true,
        backups: backupsOn,
        ...(snapshots.enabled ? { backupPolicy: digitalOceanBackupPolicy(snapshots) } : {}),
        sshKeys: sshKey ? [sshKey.fingerprint] : [],
        userData: userDataInput(resolved, userData),
        ...(args.vpcUuid !== undefined ? { vpcUuid: args.vpcUuid } : {}),
        tags,
      },
      // DigitalOcean cannot change user-data in place, so the provider replaces the droplet on any change,
      // including the single-use registration token the API puts in at every `up`. Replacement is decided
      // by the boot fingerprint instead (the token masked), as on AWS and GCP: a version bump or any setting
      // cloud-init applies replaces the droplet, so first boot runs it, and the state volume and the
      // reserved IP move to the new droplet; a fresh token alone replaces nothing.
      { parent: this, ignoreChanges: ["userData"], replacementTrigger: pulumi.output(rendered).apply((once) => once.fingerprint) },
    );

    // The reserved IP's assignment names the droplet and is removed before a replacement's is made
    // (deleting the old one afterwards would unassign the address from the new droplet).
    new digitalocean.ReservedIpAssignment(
      `${name}-ip`,
      { ipAddress: reservedIp.ipAddress, dropletId: droplet.id.apply(Number) },
      { parent: this, deleteBeforeReplace: true },
    );

    // Its own resource, replaced before the droplet's replacement is attached:
    // the volume (and the state on it) is never touched by a droplet rebuild.
    new digitalocean.VolumeAttachment(
      `${name}-state`,
      { dropletId: droplet.id.apply(Number), volumeId: volume.id },
      { parent: this, deleteBeforeReplace: true },
    );

    const firewall = new digitalocean.Firewall(
      `${name}-firewall`,
      {
        name: `${resolved.name}-firewall`,
        dropletIds: [droplet.id.apply(Number)],
        inboundRules: withKnownSources(resolved, (known) => digitalOceanInboundRules(ingressRules(known))),
        outboundRules: digitalOceanOutboundRules(),
        // No `tags` here on purpose: a firewall's tags select droplets, so tagging
        // it `ManagedBy:claw-cloud` would apply this host's rules to every host.
      },
      { parent: this },
    );

    this.publicIpv4 = reservedIp.ipAddress;
    this.publicIpv6 = droplet.ipv6Address.apply((address) => address || null);
    this.gatewayUrl = pulumi.interpolate`https://${reservedIp.ipAddress}:3000`;
    this.instanceId = droplet.id;
    this.stateDiskId = volume.id;
    this.firewallId = firewall.id;
    this.registerOutputs({
      publicIpv4: this.publicIpv4,
      publicIpv6: this.publicIpv6,
      gatewayUrl: this.gatewayUrl,
      instanceId: this.instanceId,
      stateDiskId: this.stateDiskId,
      firewallId: this.firewallId,
    });
  }
}
