import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/gcp/compute";
import * as secretmanager from "@pulumi/gcp/secretmanager";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import type { GatewayTokenSource } from "../../cloud-init/index.js";
import { HOST_DEFAULTS } from "../../core/host-config.js";
import { MACHINE_SIZES } from "../../core/presets.js";
import { type HostArgs, type HostOutputs, type KnownHostArgs, knownSources, resolveHostArgs } from "./args.js";
import { hostUserData, stateDevicePaths, userDataInput } from "./boot.js";
import { type IngressRule, ingressRules, splitCidrsByFamily } from "./firewall.js";
import { gcpLabels } from "./tags.js";
import { IMAGE_SOURCES } from "./images.js";

export interface GcpHostArgs extends HostArgs {
  project: string;
  /** Zone of the instance and its state disk. Defaults to `<region>-a` (`HOST_DEFAULTS.zone`). */
  zone?: string;
  /** VPC network (name or self link, for example another resource's `network.id`). Defaults to `default`. */
  network?: pulumi.Input<string>;
  /**
   * Subnetwork of the region (name or self link, for example another resource's `subnetwork.id`), in
   * `network`. Defaults to none: the network's subnet of the region (auto-mode networks such as `default`).
   */
  subnetwork?: pulumi.Input<string>;
}

/** The state disk's device name; the host mounts `/dev/disk/by-id/google-<this>`. */
export const GCP_STATE_DEVICE_NAME = "openclaw-state";
export const GCP_BOOT_DISK_GIB = 20;

/** The network tag the host's firewall rules target. */
export function gcpGatewayTag(hostName: string): string {
  return `${hostName}-openclaw`;
}

export interface GcpFirewallRule {
  /** Child resource suffix, e.g. `gateway-v4`. */
  id: string;
  allows: { protocol: string; ports: string[] }[];
  sourceRanges: string[];
  description: string;
}

/** One GCP ingress firewall rule per cloud-neutral rule and address family (GCP cannot mix them) (pure). */
export function gcpFirewallRules(rules: IngressRule[]): GcpFirewallRule[] {
  return rules.flatMap((rule) => {
    const { ipv4, ipv6 } = splitCidrsByFamily(rule.cidrs);
    const port = rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`;
    return [
      { family: "v4", ranges: ipv4 },
      { family: "v6", ranges: ipv6 },
    ]
      .filter(({ ranges }) => ranges.length > 0)
      .map(({ family, ranges }) => ({
        id: `${rule.id}-${family}`,
        allows: [{ protocol: rule.protocol, ports: [port] }],
        sourceRanges: ranges,
        description: rule.description,
      }));
  });
}

/**
 * An OpenClaw host on GCP: a Shielded VM (secure boot, vTPM, integrity
 * monitoring) on Debian 12 (default) or Ubuntu 24.04 with project-wide SSH keys blocked, running as a
 * dedicated service account with no roles; its state on a separate persistent
 * disk attached by its own resource; firewall rules by target tag admitting
 * only `ingressRules`. A gateway token given as a secret goes to Secret Manager,
 * readable only by this host's service account.
 */
export class GcpHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIpv4: pulumi.Output<string>;
  readonly publicIpv6: pulumi.Output<string | null>;
  readonly gatewayUrl: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly stateDiskId: pulumi.Output<string>;
  /** Name of the state disk (snapshot schedules attach by name). */
  readonly stateDiskName: pulumi.Output<string>;
  readonly serviceAccountEmail: pulumi.Output<string>;
  /** The VPC network the host's firewall rules are on, as given (`default` unless set). */
  readonly network: pulumi.Output<string>;
  /** The network tag the host's firewall rules target: a support grant's own rule targets it too (docs/zero-access.md). */
  readonly networkTag: pulumi.Output<string>;

  constructor(name: string, args: GcpHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("clawstack:host:GcpHost", name, {}, opts);
    const resolvedArgs = resolveHostArgs(args);
    let resolved: KnownHostArgs;
    try {
      // GCP keeps one firewall rule per address family, so how many rules exist depends on the CIDRs themselves.
      resolved = { ...resolvedArgs, ...knownSources(resolvedArgs) };
    } catch {
      throw new pulumi.ResourceError(
        "`gatewayCidrs` and `clawchatClientCidrs` must be plain lists on GCP (one firewall rule per address family is created from them); got outputs of other resources",
        this,
      );
    }
    const zone = args.zone ?? HOST_DEFAULTS.zone("gcp", resolved.region);
    const network = args.network ?? "default";
    const labels = gcpLabels(resolved.tags);
    const project = args.project;
    const networkTag = gcpGatewayTag(resolved.name);

    const imageSource = IMAGE_SOURCES[resolved.image];
    const image = compute.getImageOutput({ project: imageSource.gcp.project, family: imageSource.gcp.family }, { parent: this });

    const serviceAccount = new serviceaccount.Account(
      `${name}-host`,
      {
        project,
        accountId: `${resolved.name}-host`,
        displayName: `OpenClaw host ${resolved.name} (no roles)`,
        description: "Identity of one OpenClaw host. Granted no project roles; at most read access to its own gateway token secret.",
      },
      { parent: this },
    );

    for (const rule of gcpFirewallRules(ingressRules(resolved))) {
      new compute.Firewall(
        `${name}-${rule.id}`,
        {
          project,
          name: `${resolved.name}-${rule.id}`,
          network,
          direction: "INGRESS",
          description: rule.description,
          allows: rule.allows,
          sourceRanges: rule.sourceRanges,
          targetTags: [networkTag],
        },
        { parent: this },
      );
    }

    // The host's stable address: a static external IPv4 address of its region, kept across stop/start
    // and replacement, so `gatewayUrl` and what ClawChat clients hold stay valid.
    const address = new compute.Address(
      `${name}-ip`,
      {
        project,
        region: resolved.region,
        name: `${resolved.name}-ip`,
        addressType: "EXTERNAL",
        description: "OpenClaw host: its stable public address",
        labels,
      },
      { parent: this },
    );

    const disk = new compute.Disk(
      `${name}-state`,
      {
        project,
        zone,
        name: `${resolved.name}-state`,
        type: "pd-balanced",
        size: resolved.stateDiskGiB,
        description: "OpenClaw state (formatted at first boot only when empty)",
        ...(resolved.restoreFromSnapshot ? { snapshot: resolved.restoreFromSnapshot } : {}),
        labels,
      },
      // The disk's name is fixed (`<name>-state`), so a replacement (a restore in place through
      // `restoreFromSnapshot`) must delete the old disk first: created first, the new one would
      // collide with the name. Its attachment, which names the disk, is replaced with it.
      { parent: this, deleteBeforeReplace: true },
    );

    const token = this.deliverGatewayToken(name, resolved.name, project, resolved.gatewayToken, serviceAccount, labels);
    const { userData, fingerprint } = hostUserData("gcp", resolved, stateDevicePaths.gcp(GCP_STATE_DEVICE_NAME), token.source, {
      warn: (message) => pulumi.log.warn(message, this),
    });
    if (userData.encoding !== "gce-base64") {
      throw new pulumi.ResourceError(`GCP takes base64 metadata user-data; the encoder returned ${userData.encoding}`, this);
    }

    const instance = new compute.Instance(
      name,
      {
        project,
        zone,
        name: resolved.name,
        machineType: MACHINE_SIZES.gcp[resolved.size].machineType,
        bootDisk: {
          autoDelete: true,
          initializeParams: { image: image.selfLink, size: GCP_BOOT_DISK_GIB, type: "pd-balanced", labels },
        },
        networkInterfaces: [
          { network, ...(args.subnetwork !== undefined ? { subnetwork: args.subnetwork } : {}), accessConfigs: [{ natIp: address.address }] },
        ],
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        serviceAccount: { email: serviceAccount.email, scopes: ["https://www.googleapis.com/auth/cloud-platform"] },
        metadata: {
          "block-project-ssh-keys": "TRUE",
          "enable-oslogin": "FALSE",
          ...Object.fromEntries(Object.entries(userData.metadata).map(([key, value]) => [key, userDataInput(resolved, value)])),
          ...(resolved.sshAccess ? { "ssh-keys": `${imageSource.loginUser}:${resolved.sshAccess.publicKey}` } : {}),
        },
        tags: [networkTag],
        labels,
        allowStoppingForUpdate: true,
      },
      // The state disk is attached by its own resource below. A changed boot fingerprint (a version bump,
      // any setting cloud-init applies; not a fresh registration token) replaces the instance, so first boot
      // really runs it; the instance's name is fixed, so the old one goes first (with it, the state disk and
      // the address it held).
      {
        parent: this,
        ignoreChanges: ["attachedDisks"],
        replacementTrigger: fingerprint,
        deleteBeforeReplace: true,
        dependsOn: token.dependsOn,
      },
    );

    new compute.AttachedDisk(
      `${name}-state`,
      { project, zone, disk: disk.id, instance: instance.id, deviceName: GCP_STATE_DEVICE_NAME, mode: "READ_WRITE" },
      { parent: this, deleteBeforeReplace: true },
    );

    this.publicIpv4 = address.address;
    this.publicIpv6 = instance.networkInterfaces.apply((nics) => nics[0]?.ipv6AccessConfigs?.[0]?.externalIpv6 ?? null);
    this.gatewayUrl = pulumi.interpolate`https://${this.publicIpv4}:3000`;
    this.instanceId = instance.instanceId;
    this.stateDiskId = disk.id;
    this.stateDiskName = disk.name;
    this.serviceAccountEmail = serviceAccount.email;
    this.network = pulumi.output(network);
    this.networkTag = pulumi.output(networkTag);
    this.registerOutputs({
      publicIpv4: this.publicIpv4,
      publicIpv6: this.publicIpv6,
      gatewayUrl: this.gatewayUrl,
      instanceId: this.instanceId,
      stateDiskId: this.stateDiskId,
      network: this.network,
      networkTag: this.networkTag,
    });
  }

  private deliverGatewayToken(
    name: string,
    hostName: string,
    project: string,
    gatewayToken: pulumi.Input<string> | undefined,
    serviceAccount: serviceaccount.Account,
    labels: Record<string, string>,
  ): { source: GatewayTokenSource; dependsOn: pulumi.Resource[] } {
    if (gatewayToken === undefined) return { source: { source: "generate" }, dependsOn: [] };
    const secretName = `${hostName}-gateway-token`;
    const secret = new secretmanager.Secret(
      `${name}-gateway-token`,
      { project, secretId: secretName, replication: { auto: {} }, labels },
      { parent: this },
    );
    const version = new secretmanager.SecretVersion(
      `${name}-gateway-token`,
      { secret: secret.id, secretData: pulumi.secret(gatewayToken) },
      { parent: this },
    );
    const access = new secretmanager.SecretIamMember(
      `${name}-gateway-token`,
      {
        project,
        secretId: secret.secretId,
        role: "roles/secretmanager.secretAccessor",
        member: pulumi.interpolate`serviceAccount:${serviceAccount.email}`,
      },
      { parent: this },
    );
    // The host reads the secret at first boot: it must exist, with access granted, before the instance.
    return { source: { source: "gcp-secret-manager", secretName, project }, dependsOn: [version, access] };
  }
}
