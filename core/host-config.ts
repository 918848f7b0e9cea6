/**
 * The shape of one OpenClaw host's config, and its one table of defaults.
 * `program/host-config.ts` parses stack config and API requests into a
 * `HostConfig`; the host components take the same values (as
 * `components/host/args.ts` args) and resolve a missing one from the same
 * `HOST_DEFAULTS`, so a default is written once.
 */
import { ConfigError } from "./errors.js";
import type { HostMirrors, VersionPins } from "./mirrors.js";
import type { CloudName, SizePreset } from "./presets.js";
import { describeGiven, SHELL_SAFE_HTTPS_URL_PATTERN } from "./validation.js";
import { fromBase64 } from "./zero-access/encoding.js";
import type { UserPublicKey } from "./zero-access/user-keys.js";

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

/**
 * Support access (issue 17, docs/zero-access.md): the user's device keys pinned on the host at creation,
 * and the API the host's support agent asks for grants. Absent: no support agent, no support user, port
 * 22 only as `sshAccess` says. Set by the API's job runner with `registration` (the host's API credential
 * is sent at registration), never by the host itself.
 */
export interface SupportAccess {
  /** 1 to 16 device keys (base64 SPKI DER of P-256 keys); only grants signed by one of them are accepted. */
  pinnedKeys: UserPublicKey[];
  /** `https://<api>/v1`: the agent polls `<apiUrl>/host/instances/<id>/support-grants`. */
  apiUrl: string;
  /** How the support agent reaches the host. Absent: `HOST_DEFAULTS.supportAgent` (`{install: "auto"}`). */
  agent?: SupportAgentInstall;
}

/**
 * How the support agent (support/dist/clawstack-support.js) reaches a host (`supportAccess.agent.install`),
 * as the ClawChat bundle does: `auto` embeds it in user-data when the whole user-data still fits the
 * cloud's limit (DigitalOcean, GCP) and fetches it at first boot otherwise (AWS: 16 KiB); `embedded` and
 * `fetch` force one way. A fetched agent is checked against its SHA-256 pinned in user-data.
 */
export const SUPPORT_AGENT_INSTALL_MODES = ["auto", "embedded", "fetch"] as const;
export type SupportAgentInstallMode = (typeof SUPPORT_AGENT_INSTALL_MODES)[number];

export interface SupportAgentInstall {
  install: SupportAgentInstallMode;
  /**
   * https:// URL serving exactly support/dist/clawstack-support.js of this ClawStack version (its SHA-256 is
   * pinned in user-data). Defaults to `supportAgentUrl(apiUrl)`: the API's own `GET /v1/support/agent.js`.
   */
  bundleUrl?: string | undefined;
}

/** Where a host fetches its support agent when `supportAccess.agent.bundleUrl` is not set: the API's public route. */
export function supportAgentUrl(apiUrl: string): string {
  return `${apiUrl}/support/agent.js`;
}

export const SUPPORT_ACCESS_MAX_KEYS = 16;
/** DER header of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, uncompressed point): 26 bytes, then 64. */
const P256_SPKI_PREFIX = "3059301306072a8648ce3d020106082a8648ce3d03010703420004";
const API_V1_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~-]+)*\/v1$/;

function isP256Spki(value: unknown): boolean {
  if (typeof value !== "string" || value.length > 200 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const der = fromBase64(value);
  const hex = Array.from(der.subarray(0, 27), (byte) => byte.toString(16).padStart(2, "0")).join("");
  return der.length === 91 && hex === P256_SPKI_PREFIX;
}

/**
 * `supportAccess: {pinnedKeys: [{signing, sealing}], apiUrl}`. The shape is checked here (synchronously: the
 * config parser is synchronous); the host agent and the API import each key with WebCrypto again, which
 * also checks that the point is on the curve. Throws `ConfigError` naming the field.
 */
export function parseSupportAccess(key: string, value: unknown): SupportAccess | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(key, `\`${key}\` must be a map {pinnedKeys, apiUrl, agent}; got ${describeGiven(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const extra of Object.keys(record)) {
    if (extra !== "pinnedKeys" && extra !== "apiUrl" && extra !== "agent") {
      throw new ConfigError(`${key}.${extra}`, `\`${key}.${extra}\` is not a known key; allowed: pinnedKeys, apiUrl, agent`);
    }
  }
  const keys = record.pinnedKeys;
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > SUPPORT_ACCESS_MAX_KEYS) {
    throw new ConfigError(`${key}.pinnedKeys`, `\`${key}.pinnedKeys\` must list 1 to ${SUPPORT_ACCESS_MAX_KEYS} device keys {signing, sealing}; got ${describeGiven(keys)}`);
  }
  const pinnedKeys = keys.map((entry, i) => {
    const field = `${key}.pinnedKeys[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new ConfigError(field, `\`${field}\` must be a device key {signing, sealing}; got ${describeGiven(entry)}`);
    }
    const pair = entry as Record<string, unknown>;
    for (const extra of Object.keys(pair)) {
      if (extra !== "signing" && extra !== "sealing") throw new ConfigError(`${field}.${extra}`, `\`${field}.${extra}\` is not a known key; allowed: signing, sealing`);
    }
    for (const half of ["signing", "sealing"] as const) {
      if (!isP256Spki(pair[half])) {
        throw new ConfigError(`${field}.${half}`, `\`${field}.${half}\` must be the base64 SPKI DER of a P-256 public key (91 bytes); got ${describeGiven(pair[half])}`);
      }
    }
    return { signing: pair.signing as string, sealing: pair.sealing as string };
  });
  const seen = new Set(pinnedKeys.map((entry) => `${entry.signing}|${entry.sealing}`));
  if (seen.size !== pinnedKeys.length) throw new ConfigError(`${key}.pinnedKeys`, `\`${key}.pinnedKeys\` must not list a device key twice`);
  if (typeof record.apiUrl !== "string" || !API_V1_URL.test(record.apiUrl)) {
    throw new ConfigError(`${key}.apiUrl`, `\`${key}.apiUrl\` must be the API's https:// URL ending in /v1 (no query, no trailing slash), such as https://api.example.com/v1; got ${describeGiven(record.apiUrl)}`);
  }
  const agent = parseSupportAgentInstall(`${key}.agent`, record.agent);
  return { pinnedKeys, apiUrl: record.apiUrl, ...(agent === undefined ? {} : { agent }) };
}

/** `supportAccess.agent: {install: auto|embedded|fetch, bundleUrl}`; absent stays absent (the default is `auto`). */
function parseSupportAgentInstall(key: string, value: unknown): SupportAgentInstall | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(key, `\`${key}\` must be a map {install, bundleUrl}; got ${describeGiven(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const extra of Object.keys(record)) {
    if (extra !== "install" && extra !== "bundleUrl") throw new ConfigError(`${key}.${extra}`, `\`${key}.${extra}\` is not a known key; allowed: install, bundleUrl`);
  }
  const install = record.install ?? "auto";
  if (typeof install !== "string" || !(SUPPORT_AGENT_INSTALL_MODES as readonly string[]).includes(install)) {
    throw new ConfigError(`${key}.install`, `\`${key}.install\` must be one of ${SUPPORT_AGENT_INSTALL_MODES.join(", ")}; got ${describeGiven(record.install)}`);
  }
  if (record.bundleUrl === undefined) return { install: install as SupportAgentInstallMode };
  if (typeof record.bundleUrl !== "string" || record.bundleUrl.length > 2048 || !SHELL_SAFE_HTTPS_URL_PATTERN.test(record.bundleUrl)) {
    throw new ConfigError(
      `${key}.bundleUrl`,
      `\`${key}.bundleUrl\` must be an https:// URL without spaces or quotes, serving support/dist/clawstack-support.js of this ClawStack version; got ${describeGiven(record.bundleUrl)}`,
    );
  }
  return { install: install as SupportAgentInstallMode, bundleUrl: record.bundleUrl };
}

/**
 * The chat proxy's device (docs/proxy.md "Device identity"): the public half of the deployment's Ed25519
 * key, which the host's first boot pins and approves as an operator device of its gateway. Set by the
 * API's job runner with `registration`, never by the host or a request.
 */
export interface ProxyDevice {
  /** 64 hex: SHA-256 of the raw public key (OpenClaw's device id). */
  id: string;
  /** The raw 32-byte Ed25519 public key, base64url without padding (43 characters). */
  publicKey: string;
}

/** `proxyDevice: {id, publicKey}` (shapes; cloud-init also checks that the id is the key's). Throws `ConfigError` naming the field. */
export function parseProxyDevice(key: string, value: unknown): ProxyDevice | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(key, `\`${key}\` must be a map {id, publicKey}; got ${describeGiven(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const extra of Object.keys(record)) {
    if (extra !== "id" && extra !== "publicKey") throw new ConfigError(`${key}.${extra}`, `\`${key}.${extra}\` is not a known key; allowed: id, publicKey`);
  }
  const { id, publicKey } = record;
  if (typeof publicKey !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(publicKey) || fromBase64(publicKey.replace(/-/g, "+").replace(/_/g, "/") + "=").length !== 32) {
    throw new ConfigError(`${key}.publicKey`, `\`${key}.publicKey\` must be a raw Ed25519 public key, 32 bytes in base64url without padding (43 characters); got ${describeGiven(publicKey)}`);
  }
  if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id)) {
    throw new ConfigError(`${key}.id`, `\`${key}.id\` must be the device id, 64 lowercase hex (SHA-256 of the public key); got ${describeGiven(id)}`);
  }
  return { id, publicKey };
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
  /** Support access and the pinned device keys (docs/zero-access.md); absent: no support agent on the host. */
  supportAccess?: SupportAccess;
  /** The chat proxy's device, approved on the gateway at first boot (docs/proxy.md); absent: none. */
  proxyDevice?: ProxyDevice;
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
  /** `supportAccess.agent`: embedded when user-data still fits the cloud's limit, fetched at first boot otherwise. */
  supportAgent: { install: "auto" } as SupportAgentInstall,
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
