import { CLAWCHAT_INSTALL_MODES, type ClawChatInstall } from "../cloud-init/bundle.js";
import { INSTANCE_ID_PATTERN, REGISTRATION_TOKEN_PATTERN, registrationUrlProblem } from "../cloud-init/registration.js";
import { ConfigError } from "./errors.js";
import { CLAWCHAT_PORT_RANGE, CLOUDS, type CloudName, MACHINE_SIZES, REGIONS, SIZE_PRESETS, type SizePreset } from "./presets.js";
import {
  describeGiven,
  parseBoolean,
  parseCidrList,
  parseInteger,
  parseName,
  parseObject,
  parseOneOf,
  parsePinnedVersion,
  parseSshPublicKey,
} from "./validation.js";

/** Weekdays as DigitalOcean's backup policy and GCP's weekly schedule spell them. */
export const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * Start hours (UTC) every cloud accepts: GCP daily schedules and DigitalOcean
 * backup windows start at 00/04/08/12/16/20 UTC.
 */
export const SNAPSHOT_HOURS = [0, 4, 8, 12, 16, 20] as const;

export interface SnapshotSchedule {
  /** `false` only when the stack says `snapshots: {enabled: false}` explicitly. */
  enabled: boolean;
  frequency: "daily" | "weekly";
  /** Start hour (UTC), one of SNAPSHOT_HOURS. */
  hourUtc: number;
  /** Day of the week for `weekly`. */
  weekday: Weekday;
  /** How many snapshots to keep. */
  retain: number;
}

export const DEFAULT_SNAPSHOTS: SnapshotSchedule = {
  enabled: true,
  frequency: "daily",
  hourUtc: 4,
  weekday: "SUN",
  retain: 7,
};

export interface SshAccess {
  publicKey: string;
  cidrs: string[];
}

/** The validated config of a `host` stack: everything `openClawStack` needs, as plain data. */
export interface HostConfig {
  cloud: CloudName;
  /** Base name of every resource and the host's hostname. */
  name: string;
  region: string;
  /** AWS availability zone or GCP zone; `undefined` on DigitalOcean. */
  zone: string | undefined;
  size: SizePreset;
  gatewayCidrs: string[];
  clawchatClientCidrs: string[];
  /** How the ClawChat server is installed; `auto` unless the stack says otherwise. */
  clawchat: ClawChatInstall;
  sshAccess: SshAccess | null;
  stateDiskGiB: number;
  versions: { openclaw: string; node: string };
  tags: Record<string, string>;
  /** A gateway token given as a Pulumi secret (AWS, GCP only); `undefined`: generated on the host. */
  gatewayToken: string | undefined;
  /** GCP project id (GCP only). */
  gcpProject: string | undefined;
  /** Customer-managed KMS key for EBS volumes and the SSM SecureString (AWS only). */
  awsKmsKeyArn: string | undefined;
  snapshots: SnapshotSchedule;
  /** Snapshot to create the state disk from (restore); `undefined`: a fresh empty disk. */
  restoreFromSnapshot: string | undefined;
  /**
   * First-boot registration with the provisioning API, as its job runner sets
   * it for an `up` (api/registration/prepare.ts); `undefined`: no registration.
   * `token` is a secret: the program wraps it with `pulumi.secret`.
   */
  registration: HostRegistration | undefined;
}

export interface HostRegistration {
  /** `https://<api>/v1/instances/<instanceId>/register`. */
  apiUrl: string;
  /** `inst_` + 32 hex. */
  instanceId: string;
  /** Single-use `csreg_...` token, valid one hour. */
  token: string;
}

/** Every `clawstack:*` key a host stack accepts (prefix stripped). */
export const HOST_CONFIG_KEYS = [
  "kind",
  "cloud",
  "name",
  "region",
  "zone",
  "size",
  "gatewayCidrs",
  "clawchatClientCidrs",
  "clawchat",
  "sshAccess",
  "stateDiskGiB",
  "versions",
  "tags",
  "gatewayToken",
  "gcpProject",
  "awsKmsKeyArn",
  "snapshots",
  "restoreFromSnapshot",
  "registration",
] as const;

export const HOST_DEFAULTS = {
  name: "openclaw",
  size: "small" as SizePreset,
  stateDiskGiB: 20,
};

/** Tag keys ClawStack sets itself; a stack cannot override them. */
const RESERVED_TAG_KEYS = ["managedby", "managed-by", "name", "clawstack-snapshots"];

/**
 * Validates a host stack's config (the `clawstack:*` keys, prefix stripped).
 * `registration` is accepted only with `allowRegistration` (the stack kind's
 * `parse`, which the API's engine and the CLI program use).
 * Throws `ConfigError` naming the key, what is allowed and what was given,
 * before any resource exists.
 */
export function parseHostConfig(raw: Record<string, unknown>, options: { allowRegistration?: boolean } = {}): HostConfig {
  const record = parseObject("", raw, HOST_CONFIG_KEYS);
  // `registration` carries a secret the API itself issues for an `up`; a client's request (the
  // API's create validation calls this without the option) must not set or store one.
  if (record.registration !== undefined && options.allowRegistration !== true) {
    throw new ConfigError(
      "registration",
      "`registration` is set by the provisioning API's job runner for an `up` (from CLAWSTACK_PUBLIC_URL), not in a request or by hand; leave it out (got a value, not shown)",
    );
  }
  const cloud = parseOneOf("cloud", record.cloud, CLOUDS);
  const name = record.name === undefined ? HOST_DEFAULTS.name : parseName("name", record.name, 24);
  const region = parseOneOf("region", record.region, REGIONS[cloud]);
  const zone = parseZone(cloud, region, record.zone);
  const size = record.size === undefined ? HOST_DEFAULTS.size : parseOneOf("size", record.size, SIZE_PRESETS);
  const gatewayCidrs = parseCidrList("gatewayCidrs", record.gatewayCidrs, { allowEmpty: false });
  const clawchatClientCidrs =
    record.clawchatClientCidrs === undefined
      ? []
      : parseCidrList("clawchatClientCidrs", record.clawchatClientCidrs, { allowEmpty: true });
  const stateDiskGiB =
    record.stateDiskGiB === undefined ? HOST_DEFAULTS.stateDiskGiB : parseInteger("stateDiskGiB", record.stateDiskGiB, 10, 1024);
  const versionsRecord = parseObject("versions", record.versions, ["openclaw", "node"]);
  const versions = {
    openclaw: parsePinnedVersion("versions.openclaw", versionsRecord.openclaw),
    node: parsePinnedVersion("versions.node", versionsRecord.node),
  };
  const gcpProject = parseGcpProject(cloud, record.gcpProject);
  return {
    cloud,
    name,
    region,
    zone,
    size,
    gatewayCidrs,
    clawchatClientCidrs,
    clawchat: parseClawChatInstall(record.clawchat, clawchatClientCidrs),
    sshAccess: parseSshAccess(record.sshAccess),
    stateDiskGiB,
    versions,
    tags: parseTags(cloud, record.tags),
    gatewayToken: parseGatewayToken(cloud, record.gatewayToken),
    gcpProject,
    awsKmsKeyArn: parseAwsKmsKeyArn(cloud, record.awsKmsKeyArn),
    snapshots: parseSnapshotSchedule(record.snapshots),
    restoreFromSnapshot: parseRestoreFromSnapshot(cloud, record.restoreFromSnapshot),
    registration: parseRegistration(record.registration),
  };
}

/**
 * `registration: {apiUrl, instanceId, token}`: the formats the API issues
 * (cloud-init/registration.ts). The token is never echoed in an error.
 */
export function parseRegistration(value: unknown): HostRegistration | undefined {
  if (value === undefined) return undefined;
  const allowed = ["apiUrl", "instanceId", "token"];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("registration", `\`registration\` must be a map with keys ${allowed.join(", ")}; got a ${Array.isArray(value) ? "list" : typeof value} (not shown)`);
  }
  const record = parseObject("registration", value, allowed);
  const instanceId = record.instanceId;
  if (typeof instanceId !== "string" || !INSTANCE_ID_PATTERN.test(instanceId)) {
    throw new ConfigError("registration.instanceId", `\`registration.instanceId\` must be the API's instance id, inst_ followed by 32 hex characters; got ${describeGiven(instanceId)}`);
  }
  const urlProblem = registrationUrlProblem(record.apiUrl, instanceId);
  if (urlProblem !== undefined) {
    throw new ConfigError(
      "registration.apiUrl",
      `\`registration.apiUrl\` must be https://<api>/v1/instances/<instanceId>/register (the API sets it from CLAWSTACK_PUBLIC_URL); ${urlProblem}; got ${describeGiven(record.apiUrl)}`,
    );
  }
  if (typeof record.token !== "string" || !REGISTRATION_TOKEN_PATTERN.test(record.token)) {
    throw new ConfigError(
      "registration.token",
      "`registration.token` must be a single-use registration token issued by the API (csreg_ followed by 43 base64url characters), given as a secret; the value given does not qualify (not shown)",
    );
  }
  return { apiUrl: record.apiUrl as string, instanceId, token: record.token };
}

function refuseOnCloud(key: string, cloud: CloudName, value: unknown, allowedOn: string): void {
  if (value !== undefined) {
    throw new ConfigError(key, `\`${key}\` applies to ${allowedOn} only; this stack's \`cloud\` is ${cloud} (got ${describeGiven(value)})`);
  }
}

function parseZone(cloud: CloudName, region: string, value: unknown): string | undefined {
  switch (cloud) {
    case "digitalocean":
      refuseOnCloud("zone", cloud, value, "aws and gcp");
      return undefined;
    case "aws": {
      if (value === undefined) return `${region}a`;
      if (typeof value === "string" && new RegExp(`^${region}[a-f]$`).test(value)) return value;
      throw new ConfigError("zone", `\`zone\` must be an availability zone of ${region} such as ${region}a; got ${describeGiven(value)}`);
    }
    case "gcp": {
      if (value === undefined) return `${region}-a`;
      if (typeof value === "string" && new RegExp(`^${region}-[a-f]$`).test(value)) return value;
      throw new ConfigError("zone", `\`zone\` must be a zone of ${region} such as ${region}-a; got ${describeGiven(value)}`);
    }
    default: {
      const unknown: never = cloud;
      return unknown;
    }
  }
}

/** An https:// URL the renderer can put in a shell variable (the same check as `cloud-init/validate.ts`). */
const BUNDLE_URL = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$/;

/**
 * `clawchat`: `{install: auto|embedded|fetch|none, bundleUrl}`. Defaults to
 * `auto`. A server nobody may reach, or UDP opened with no server behind it,
 * is refused rather than silently accepted.
 */
function parseClawChatInstall(value: unknown, clientCidrs: string[]): ClawChatInstall {
  if (value === undefined) return { install: "auto" };
  const record = parseObject("clawchat", value, ["install", "bundleUrl"]);
  const install = record.install === undefined ? "auto" : parseOneOf("clawchat.install", record.install, CLAWCHAT_INSTALL_MODES);
  let bundleUrl: string | undefined;
  if (record.bundleUrl !== undefined) {
    if (typeof record.bundleUrl !== "string" || !BUNDLE_URL.test(record.bundleUrl)) {
      throw new ConfigError(
        "clawchat.bundleUrl",
        `\`clawchat.bundleUrl\` must be an https:// URL without spaces or quotes, serving clawchat/dist/clawchat.js; got ${describeGiven(record.bundleUrl)}`,
      );
    }
    bundleUrl = record.bundleUrl;
  }
  if ((install === "embedded" || install === "fetch") && clientCidrs.length === 0) {
    throw new ConfigError(
      "clawchat.install",
      `\`clawchat.install\` must be auto or none while \`clawchatClientCidrs\` is empty (${install} would install a ClawChat server no client may reach; list its clients to install one); got ${describeGiven(install)}`,
    );
  }
  if (install === "none" && clientCidrs.length > 0) {
    throw new ConfigError(
      "clawchatClientCidrs",
      `\`clawchatClientCidrs\` opens UDP ${CLAWCHAT_PORT_RANGE[0]}-${CLAWCHAT_PORT_RANGE[1]} but \`clawchat.install\` is none (no server): empty the list or install ClawChat; got ${describeGiven(clientCidrs)}`,
    );
  }
  if (install === "fetch" && bundleUrl === undefined) {
    throw new ConfigError("clawchat.bundleUrl", "`clawchat.bundleUrl` is required with `clawchat.install: fetch`: an https:// URL serving clawchat/dist/clawchat.js; got nothing");
  }
  return bundleUrl === undefined ? { install } : { install, bundleUrl };
}

function parseSshAccess(value: unknown): SshAccess | null {
  if (value === undefined || value === null) return null;
  const record = parseObject("sshAccess", value, ["publicKey", "cidrs"]);
  return {
    publicKey: parseSshPublicKey("sshAccess.publicKey", record.publicKey),
    cidrs: parseCidrList("sshAccess.cidrs", record.cidrs, { allowEmpty: false }),
  };
}

function parseTags(cloud: CloudName, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("tags", `\`tags\` must be a map of tag names to string values; got ${describeGiven(value)}`);
  }
  // GCP labels are lowercase only; DigitalOcean tags are `key:value` strings of [A-Za-z0-9_:-], so no colons in keys.
  const patterns: Record<CloudName, { key: RegExp; value: RegExp }> = {
    aws: { key: /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, value: /^[A-Za-z0-9_.:\/=+@ -]{0,63}$/ },
    gcp: { key: /^[a-z][a-z0-9_-]{0,62}$/, value: /^[a-z0-9_-]{0,63}$/ },
    digitalocean: { key: /^[A-Za-z][A-Za-z0-9_-]{0,62}$/, value: /^[A-Za-z0-9_:-]{0,63}$/ },
  };
  const { key: keyPattern, value: valuePattern } = patterns[cloud];
  const tags: Record<string, string> = {};
  for (const [key, tagValue] of Object.entries(value as Record<string, unknown>)) {
    const path = `tags.${key}`;
    if (!keyPattern.test(key)) {
      throw new ConfigError(path, `\`${path}\`: tag names on ${cloud} must match ${keyPattern.source}; got ${describeGiven(key)}`);
    }
    if (RESERVED_TAG_KEYS.includes(key.toLowerCase())) {
      throw new ConfigError(path, `\`${path}\` is set by ClawStack itself and cannot be overridden`);
    }
    if (typeof tagValue !== "string" || !valuePattern.test(tagValue)) {
      throw new ConfigError(path, `\`${path}\` must be a string matching ${valuePattern.source} on ${cloud}; got ${describeGiven(tagValue)}`);
    }
    tags[key] = tagValue;
  }
  return tags;
}

function parseGatewayToken(cloud: CloudName, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (cloud === "digitalocean") {
    throw new ConfigError(
      "gatewayToken",
      "`gatewayToken` cannot be used on digitalocean: it has no secret store only the host can read, so the host generates its token at first boot (leave `gatewayToken` unset)",
    );
  }
  // The same alphabet the host's fetch-secret.mjs accepts: a token it would refuse at boot is refused here.
  if (typeof value !== "string" || !/^[A-Za-z0-9._~+/=-]{32,512}$/.test(value)) {
    // Never echo the token itself.
    throw new ConfigError(
      "gatewayToken",
      "`gatewayToken` must be a secret string of 32 to 512 characters of A-Z a-z 0-9 . _ ~ + / = - (set it with `pulumi config set --secret clawstack:gatewayToken`); the value given does not qualify (not shown)",
    );
  }
  return value;
}

function parseGcpProject(cloud: CloudName, value: unknown): string | undefined {
  if (cloud !== "gcp") {
    refuseOnCloud("gcpProject", cloud, value, "gcp");
    return undefined;
  }
  if (typeof value === "string" && /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(value)) return value;
  throw new ConfigError("gcpProject", `\`gcpProject\` must be a GCP project id (6 to 30 of [a-z0-9-], starting with a letter); got ${describeGiven(value)}`);
}

function parseAwsKmsKeyArn(cloud: CloudName, value: unknown): string | undefined {
  if (cloud !== "aws") {
    refuseOnCloud("awsKmsKeyArn", cloud, value, "aws");
    return undefined;
  }
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(value)) return value;
  throw new ConfigError("awsKmsKeyArn", `\`awsKmsKeyArn\` must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<uuid>; got ${describeGiven(value)}`);
}

/**
 * `snapshots`: on by default (daily at 04:00 UTC, 7 kept). Turning them off
 * takes `snapshots: {enabled: false}` written out in the stack.
 */
export function parseSnapshotSchedule(value: unknown): SnapshotSchedule {
  if (value === undefined) return { ...DEFAULT_SNAPSHOTS };
  const record = parseObject("snapshots", value, ["enabled", "frequency", "hourUtc", "weekday", "retain"]);
  const enabled = record.enabled === undefined ? DEFAULT_SNAPSHOTS.enabled : parseBoolean("snapshots.enabled", record.enabled);
  if (!enabled) {
    const extra = Object.keys(record).filter((key) => key !== "enabled");
    if (extra.length > 0) {
      throw new ConfigError(
        `snapshots.${extra[0]}`,
        `\`snapshots.${extra[0]}\` has no effect when \`snapshots.enabled\` is false; remove it or turn snapshots back on`,
      );
    }
    return { ...DEFAULT_SNAPSHOTS, enabled: false };
  }
  const frequency =
    record.frequency === undefined ? DEFAULT_SNAPSHOTS.frequency : parseOneOf("snapshots.frequency", record.frequency, ["daily", "weekly"] as const);
  const hourUtc =
    record.hourUtc === undefined ? DEFAULT_SNAPSHOTS.hourUtc : parseOneOf("snapshots.hourUtc", String(record.hourUtc), SNAPSHOT_HOURS.map(String));
  if (record.weekday !== undefined && frequency !== "weekly") {
    throw new ConfigError("snapshots.weekday", "`snapshots.weekday` applies to `snapshots.frequency: weekly` only");
  }
  const weekday = record.weekday === undefined ? DEFAULT_SNAPSHOTS.weekday : parseOneOf("snapshots.weekday", record.weekday, WEEKDAYS);
  const retain = record.retain === undefined ? DEFAULT_SNAPSHOTS.retain : parseInteger("snapshots.retain", record.retain, 1, 90);
  return { enabled, frequency, hourUtc: Number(hourUtc), weekday, retain };
}

const SNAPSHOT_ID_PATTERNS: Record<CloudName, { pattern: RegExp; example: string }> = {
  aws: { pattern: /^snap-[0-9a-f]{8,17}$/, example: "snap-0123456789abcdef0" },
  gcp: {
    pattern: /^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/snapshots\/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
    example: "openclaw-state-20260101 or projects/<project>/global/snapshots/<name>",
  },
  digitalocean: {
    pattern: /^([0-9]{1,20}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
    example: "a volume snapshot id such as 4f60fc64-85d1-11e6-a004-000f53315871",
  },
};

function parseRestoreFromSnapshot(cloud: CloudName, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const { pattern, example } = SNAPSHOT_ID_PATTERNS[cloud];
  if (typeof value === "string" && pattern.test(value)) return value;
  throw new ConfigError(
    "restoreFromSnapshot",
    `\`restoreFromSnapshot\` must be a ${cloud} snapshot of the state disk (${example}); got ${describeGiven(value)}`,
  );
}

/** The memory of the chosen preset on the chosen cloud. */
export function machineSizeOf(config: Pick<HostConfig, "cloud" | "size">) {
  return MACHINE_SIZES[config.cloud][config.size];
}
