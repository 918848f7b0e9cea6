/**
 * The shape of one OpenClaw host's config, and its one table of defaults.
 * `program/host-config.ts` parses stack config and API requests into a
 * `HostConfig`; the host components take the same values (as
 * `components/host/args.ts` args) and resolve a missing one from the same
 * `HOST_DEFAULTS`, so a default is written once.
 */
import type { HostMirrors, VersionPins } from "./mirrors.js";
import type { CloudName, SizePreset } from "./presets.js";

/** Weekdays as DigitalOcean's backup policy and GCP's weekly schedule spell them. */
export const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * Start hours (UTC) every cloud accepts: GCP daily schedules and DigitalOcean
 * backup windows start at 00/04/08/12/16/20 UTC.
 */
export const SNAPSHOT_HOURS = [0, 4, 8, 12, 16, 20] as const;

/** Snapshots of the state disk that run: daily, or weekly on `weekday`. */
export type ActiveSnapshotSchedule =
  | { enabled: true; frequency: "daily"; /** Start hour (UTC), one of SNAPSHOT_HOURS. */ hourUtc: number; /** How many snapshots to keep. */ retain: number }
  | { enabled: true; frequency: "weekly"; hourUtc: number; weekday: Weekday; retain: number };

/** `{ enabled: false }` only when the stack says `snapshots: {enabled: false}` explicitly. */
export type SnapshotSchedule = { enabled: false } | ActiveSnapshotSchedule;

/**
 * How the ClawChat server reaches a host (`clawstack:clawchat.install`):
 * `auto` embeds the bundle in user-data when it fits the cloud's budget and
 * fetches it from `bundleUrl` otherwise; `embedded` and `fetch` force one way;
 * `none` installs no ClawChat server.
 */
export const CLAWCHAT_INSTALL_MODES = ["auto", "embedded", "fetch", "none"] as const;
export type ClawChatInstallMode = (typeof CLAWCHAT_INSTALL_MODES)[number];

export interface ClawChatInstall {
  install: ClawChatInstallMode;
  /** https:// URL serving exactly `clawchat/dist/clawchat.js` (its SHA-256 is pinned in user-data). */
  bundleUrl?: string | undefined;
}

export interface SshAccess {
  publicKey: string;
  cidrs: string[];
}

/**
 * First-boot registration with the provisioning API, as its job runner sets it
 * for an `up` (api/registration/prepare.ts). `token` is a secret.
 */
export interface HostRegistration {
  /** `https://<api>/v1/instances/<instanceId>/register`. */
  apiUrl: string;
  /** `inst_` + 32 hex. */
  instanceId: string;
  /** Single-use `csreg_...` token, valid one hour. */
  token: string;
}

/** Exact versions installed on the host, with optional hashes (required by mirrors). */
export type HostVersions = { openclaw: string; node: string } & VersionPins;

/**
 * Supported host images: Debian 12 (the default, and the image the boot test
 * starts) and Ubuntu 24.04 LTS. Each cloud maps them to its own image names.
 */
export const HOST_IMAGES = ["debian-12", "ubuntu-24.04"] as const;
export type HostImage = (typeof HOST_IMAGES)[number];

/** What every cloud's host config holds. */
interface HostConfigBase {
  /** Base name of every resource and the host's hostname. */
  name: string;
  region: string;
  size: SizePreset;
  gatewayCidrs: string[];
  clawchatClientCidrs: string[];
  /** How the ClawChat server is installed; `auto` unless the stack says otherwise. */
  clawchat: ClawChatInstall;
  sshAccess: SshAccess | null;
  stateDiskGiB: number;
  versions: HostVersions;
  /** The host's OS image; `debian-12` unless the stack says otherwise. */
  image: HostImage;
  /** Internal mirrors to install from (`core/mirrors.ts`); absent: the public registries. */
  mirrors?: HostMirrors;
  tags: Record<string, string>;
  snapshots: SnapshotSchedule;
  /** Snapshot to create the state disk from (restore); absent: a fresh empty disk. */
  restoreFromSnapshot?: string;
  /** Set only by the API's job runner for an `up`; absent: the host does not register. */
  registration?: HostRegistration;
}

export interface DigitalOceanHostConfig extends HostConfigBase {
  cloud: "digitalocean";
  /** VPC the droplet joins (`vpcUuid`); absent: the account's default VPC of the region. */
  vpcUuid?: string;
}

export interface AwsHostConfig extends HostConfigBase {
  cloud: "aws";
  /** Availability zone of the instance and its state volume. */
  zone: string;
  /** Customer-managed KMS key for EBS volumes and the SSM SecureString; absent: AWS-managed keys. */
  awsKmsKeyArn?: string;
  /** A gateway token given as a Pulumi secret; absent: generated on the host. */
  gatewayToken?: string;
  /**
   * Permissions boundary (an IAM policy ARN) put on the host role a gateway token needs; absent: none.
   * Deploying with the `aws-access` provisioner role needs its `claw-cloud-workload-boundary` here.
   */
  awsPermissionsBoundaryArn?: string;
  /** VPC and subnet of the instance, given together; absent: the region's default VPC and its default subnet. */
  vpcId?: string;
  subnetId?: string;
}

export interface GcpHostConfig extends HostConfigBase {
  cloud: "gcp";
  zone: string;
  gcpProject: string;
  /** VPC network (name or self link); absent: the project's `default` network. */
  network?: string;
  /** Subnetwork of the region (name or self link), with `network`; absent: the network's subnet of the region. */
  subnetwork?: string;
  /** A gateway token given as a Pulumi secret; absent: generated on the host. */
  gatewayToken?: string;
}

/**
 * The validated, normalized config of a `host` stack, split by cloud: every
 * default resolved, nothing that does not apply to the cloud. Parsing it again
 * gives the same value, so the API stores it as parsed.
 */
export type HostConfig = DigitalOceanHostConfig | AwsHostConfig | GcpHostConfig;

export const DEFAULT_SNAPSHOTS: ActiveSnapshotSchedule & { frequency: "daily" } = {
  enabled: true,
  frequency: "daily",
  hourUtc: 4,
  retain: 7,
};

/** The weekday of a weekly schedule that names none. */
export const DEFAULT_SNAPSHOT_WEEKDAY: Weekday = "SUN";

/**
 * Every default of a host, in one place: the stack config parser fills them
 * in, and the components fall back to them when used directly. Closed by
 * default: no SSH, no ClawChat UDP, snapshots on.
 */
export const HOST_DEFAULTS = {
  name: "openclaw",
  size: "small" as SizePreset,
  image: "debian-12" as HostImage,
  stateDiskGiB: 20,
  clawchatClientCidrs: [] as string[],
  clawchat: { install: "auto" } as ClawChatInstall,
  sshAccess: null as SshAccess | null,
  tags: {} as Record<string, string>,
  snapshots: DEFAULT_SNAPSHOTS as SnapshotSchedule,
  /** The renderer's input when no ClawChat bundle is given: no ClawChat server on the host. */
  clawchatBundle: { kind: "disabled" } as const,
  /** AWS: the region's first availability zone; GCP: the region's `-a` zone. */
  zone(cloud: Exclude<CloudName, "digitalocean">, region: string): string {
    return cloud === "aws" ? `${region}a` : `${region}-a`;
  },
} as const;
