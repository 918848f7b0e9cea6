import { ConfigError } from "../core/errors.js";
import {
  CLAWCHAT_INSTALL_MODES,
  type ClawChatInstall,
  DEFAULT_SNAPSHOTS,
  DEFAULT_SNAPSHOT_WEEKDAY,
  HOST_DEFAULTS,
  HOST_IMAGES,
  type HostConfig,
  parseProxyDevice,
  parseSupportAccess,
  type HostRegistration,
  SNAPSHOT_HOURS,
  type SnapshotSchedule,
  type SshAccess,
  WEEKDAYS,
} from "../core/host-config.js";
import { parseHostMirrors, parseVersionPins } from "../core/mirrors.js";
import { CLAWCHAT_PORT_RANGE, CLOUDS, type CloudName, REGIONS, SIZE_PRESETS } from "../core/presets.js";
import { INSTANCE_ID_PATTERN, REGISTRATION_TOKEN_PATTERN, registrationUrlProblem } from "../core/registration.js";
import {
  describeGiven,
  parseBoolean,
  parseCidrList,
  parseGcpProjectId,
  parseInteger,
  parseName,
  parseObject,
  parseOneOf,
  parsePinnedVersion,
  parseSshPublicKey,
  SHELL_SAFE_HTTPS_URL_PATTERN,
  checkAwsImportableSshKey,
  parseAwsIamPolicyArn,
  parseAwsSubnetId,
  parseAwsVpcId,
  parseDigitalOceanVpcUuid,
  parseGcpNetwork,
  parseGcpSubnetwork,
} from "../core/validation.js";

/**
 * The one parser of a host's config. Each entry point calls it once: `pulumi
 * up` and the offline synth on the stack config (through the `host` stack
 * kind), the API on a create request (`api/engine/host-config.ts`) and on the
 * stored config when a job runs. Its result is normalized (every default of
 * `HOST_DEFAULTS` filled in, nothing of another cloud), and parsing a result
 * again gives the same value, so the API stores it as parsed.
 */

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
  "image",
  "mirrors",
  "tags",
  "gatewayToken",
  "gcpProject",
  "awsKmsKeyArn",
  "snapshots",
  "restoreFromSnapshot",
  "registration",
  "awsPermissionsBoundaryArn",
  "vpcId",
  "subnetId",
  "network",
  "subnetwork",
  "vpcUuid",
  "supportAccess",
  "proxyDevice",
] as const;

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
  if (record.proxyDevice !== undefined && options.allowRegistration !== true) {
    throw new ConfigError("proxyDevice", "`proxyDevice` is set by the provisioning API's job runner for an `up` (the chat proxy's device), not in a request or by hand; leave it out");
  }
  const cloud = parseOneOf("cloud", record.cloud, CLOUDS);
  // Checked in the order of HOST_CONFIG_KEYS, so a config with several problems always names the same one first.
  const name = record.name === undefined ? HOST_DEFAULTS.name : parseName("name", record.name, 24);
  const region = parseOneOf("region", record.region, REGIONS[cloud]);
  const zone = cloud === "digitalocean" ? refuseOnCloud("zone", cloud, record.zone, "aws and gcp") : parseZone(cloud, region, record.zone);
  const size = record.size === undefined ? HOST_DEFAULTS.size : parseOneOf("size", record.size, SIZE_PRESETS);
  const gatewayCidrs = parseCidrList("gatewayCidrs", record.gatewayCidrs, { allowEmpty: false });
  const clawchatClientCidrs =
    record.clawchatClientCidrs === undefined
      ? [...HOST_DEFAULTS.clawchatClientCidrs]
      : parseCidrList("clawchatClientCidrs", record.clawchatClientCidrs, { allowEmpty: true });
  const stateDiskGiB =
    record.stateDiskGiB === undefined ? HOST_DEFAULTS.stateDiskGiB : parseInteger("stateDiskGiB", record.stateDiskGiB, 10, 1024);
  const versionsRecord = parseObject("versions", record.versions, ["openclaw", "node", "nodeSha256", "openclawIntegrity"]);
  const versions = {
    openclaw: parsePinnedVersion("versions.openclaw", versionsRecord.openclaw),
    node: parsePinnedVersion("versions.node", versionsRecord.node),
    ...parseVersionPins(versionsRecord),
  };
  const image = record.image === undefined ? HOST_DEFAULTS.image : parseOneOf("image", record.image, HOST_IMAGES);
  const mirrors = parseHostMirrors("mirrors", record.mirrors, versions);
  const gcpProject = cloud === "gcp" ? parseGcpProjectId("gcpProject", record.gcpProject) : refuseOnCloud("gcpProject", cloud, record.gcpProject, "gcp");
  const common = {
    name,
    region,
    size,
    gatewayCidrs,
    clawchatClientCidrs,
    clawchat: parseClawChatInstall(record.clawchat, clawchatClientCidrs),
    sshAccess: parseSshAccess(cloud, record.sshAccess),
    stateDiskGiB,
    versions,
    image,
    ...optional("mirrors", mirrors),
    tags: parseTags(cloud, record.tags),
  };
  const gatewayToken = parseGatewayToken(cloud, record.gatewayToken);
  const awsKmsKeyArn = cloud === "aws" ? parseAwsKmsKeyArn(record.awsKmsKeyArn) : refuseOnCloud("awsKmsKeyArn", cloud, record.awsKmsKeyArn, "aws");
  const rest = {
    snapshots: parseSnapshotSchedule(record.snapshots),
    ...optional("restoreFromSnapshot", parseRestoreFromSnapshot(cloud, record.restoreFromSnapshot)),
    ...optional("registration", parseRegistration(record.registration)),
    // Support access (docs/zero-access.md): the pinned device keys and the API the host's agent asks.
    ...optional("supportAccess", parseSupportAccess("supportAccess", record.supportAccess)),
    // The chat proxy's device (docs/proxy.md): set by the API's job runner with `registration`.
    ...optional("proxyDevice", parseProxyDevice("proxyDevice", record.proxyDevice)),
  };
  const network = parseNetworkKeys(cloud, region, record);
  switch (cloud) {
    case "digitalocean":
      return { cloud, ...common, ...rest, ...network };
    case "aws":
      return { cloud, ...common, zone: zone as string, awsKmsKeyArn, gatewayToken, ...rest, ...network };
    case "gcp":
      return { cloud, ...common, zone: zone as string, gcpProject: gcpProject as string, gatewayToken, ...rest, ...network };
    default: {
      const unknown: never = cloud;
      return unknown;
    }
  }
}

/** `{ key: value }`, or nothing when `value` is undefined (the normalized config leaves unset options out). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * `registration: {apiUrl, instanceId, token}`: the formats the API issues
 * (core/registration.ts). The token is never echoed in an error.
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

/**
 * The network keys of `cloud` (the others are refused): AWS `vpcId` with `subnetId` and the
 * `awsPermissionsBoundaryArn` of its host role, GCP `network` (with an optional `subnetwork`),
 * DigitalOcean `vpcUuid`. Left out, the cloud's default network is used (preflight says so).
 */
function parseNetworkKeys(
  cloud: CloudName,
  region: string,
  record: Record<string, unknown>,
): { awsPermissionsBoundaryArn?: string; vpcId?: string; subnetId?: string; network?: string; subnetwork?: string; vpcUuid?: string } {
  const only = (key: string, on: CloudName) => (cloud === on ? record[key] : refuseOnCloud(key, cloud, record[key], on));
  const boundary = only("awsPermissionsBoundaryArn", "aws");
  const vpcId = only("vpcId", "aws");
  const subnetId = only("subnetId", "aws");
  const network = only("network", "gcp");
  const subnetwork = only("subnetwork", "gcp");
  const vpcUuid = only("vpcUuid", "digitalocean");
  if ((vpcId === undefined) !== (subnetId === undefined)) {
    const [given, missing] = vpcId === undefined ? ["subnetId", "vpcId"] : ["vpcId", "subnetId"];
    throw new ConfigError(missing, `\`${missing}\` is required with \`${given}\`: the security group is created in the VPC and the instance in one of its subnets; give both or neither (got only \`${given}\`)`);
  }
  if (subnetwork !== undefined && network === undefined) {
    throw new ConfigError("network", "`network` is required with `subnetwork`: the firewall rules are created in the network; give the subnetwork's network (got only `subnetwork`)");
  }
  return {
    ...optional("awsPermissionsBoundaryArn", boundary === undefined ? undefined : parseAwsIamPolicyArn("awsPermissionsBoundaryArn", boundary)),
    ...optional("vpcId", vpcId === undefined ? undefined : parseAwsVpcId("vpcId", vpcId)),
    ...optional("subnetId", subnetId === undefined ? undefined : parseAwsSubnetId("subnetId", subnetId)),
    ...optional("network", network === undefined ? undefined : parseGcpNetwork("network", network)),
    ...optional("subnetwork", subnetwork === undefined ? undefined : parseGcpSubnetwork("subnetwork", subnetwork, region)),
    ...optional("vpcUuid", vpcUuid === undefined ? undefined : parseDigitalOceanVpcUuid("vpcUuid", vpcUuid)),
  };
}

function refuseOnCloud(key: string, cloud: CloudName, value: unknown, allowedOn: string): undefined {
  if (value !== undefined) {
    throw new ConfigError(key, `\`${key}\` applies to ${allowedOn} only; this stack's \`cloud\` is ${cloud} (got ${describeGiven(value)})`);
  }
}

function parseZone(cloud: "aws" | "gcp", region: string, value: unknown): string {
  if (value === undefined) return HOST_DEFAULTS.zone(cloud, region);
  if (cloud === "aws") {
    if (typeof value === "string" && new RegExp(`^${region}[a-f]$`).test(value)) return value;
    throw new ConfigError("zone", `\`zone\` must be an availability zone of ${region} such as ${HOST_DEFAULTS.zone(cloud, region)}; got ${describeGiven(value)}`);
  }
  if (typeof value === "string" && new RegExp(`^${region}-[a-f]$`).test(value)) return value;
  throw new ConfigError("zone", `\`zone\` must be a zone of ${region} such as ${HOST_DEFAULTS.zone(cloud, region)}; got ${describeGiven(value)}`);
}

/**
 * `clawchat`: `{install: auto|embedded|fetch|none, bundleUrl}`. Defaults to
 * `auto`. A server nobody may reach, or UDP opened with no server behind it,
 * is refused rather than silently accepted.
 */
function parseClawChatInstall(value: unknown, clientCidrs: string[]): ClawChatInstall {
  if (value === undefined) return { ...HOST_DEFAULTS.clawchat };
  const record = parseObject("clawchat", value, ["install", "bundleUrl"]);
  const install = record.install === undefined ? HOST_DEFAULTS.clawchat.install : parseOneOf("clawchat.install", record.install, CLAWCHAT_INSTALL_MODES);
  let bundleUrl: string | undefined;
  if (record.bundleUrl !== undefined) {
    if (typeof record.bundleUrl !== "string" || !SHELL_SAFE_HTTPS_URL_PATTERN.test(record.bundleUrl)) {
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

function parseSshAccess(cloud: CloudName, value: unknown): SshAccess | null {
  if (value === undefined || value === null) return HOST_DEFAULTS.sshAccess;
  const record = parseObject("sshAccess", value, ["publicKey", "cidrs"]);
  const publicKey = parseSshPublicKey("sshAccess.publicKey", record.publicKey);
  if (cloud === "aws") checkAwsImportableSshKey("sshAccess.publicKey", publicKey);
  return {
    publicKey,
    cidrs: parseCidrList("sshAccess.cidrs", record.cidrs, { allowEmpty: false }),
  };
}

function parseTags(cloud: CloudName, value: unknown): Record<string, string> {
  if (value === undefined) return { ...HOST_DEFAULTS.tags };
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

function parseAwsKmsKeyArn(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(value)) return value;
  throw new ConfigError("awsKmsKeyArn", `\`awsKmsKeyArn\` must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/<uuid>; got ${describeGiven(value)}`);
}

/**
 * `snapshots`: on by default (daily at 04:00 UTC, 7 kept). Turning them off
 * takes `snapshots: {enabled: false}` written out in the stack.
 */
export function parseSnapshotSchedule(value: unknown): SnapshotSchedule {
  const defaults = HOST_DEFAULTS.snapshots;
  if (value === undefined) return { ...defaults };
  const record = parseObject("snapshots", value, ["enabled", "frequency", "hourUtc", "weekday", "retain"]);
  const enabled = record.enabled === undefined ? true : parseBoolean("snapshots.enabled", record.enabled);
  if (!enabled) {
    const extra = Object.keys(record).filter((key) => key !== "enabled");
    if (extra.length > 0) {
      throw new ConfigError(
        `snapshots.${extra[0]}`,
        `\`snapshots.${extra[0]}\` has no effect when \`snapshots.enabled\` is false; remove it or turn snapshots back on`,
      );
    }
    return { enabled: false };
  }
  const frequency =
    record.frequency === undefined ? DEFAULT_SNAPSHOTS.frequency : parseOneOf("snapshots.frequency", record.frequency, ["daily", "weekly"] as const);
  const hourUtc =
    record.hourUtc === undefined ? DEFAULT_SNAPSHOTS.hourUtc : Number(parseOneOf("snapshots.hourUtc", String(record.hourUtc), SNAPSHOT_HOURS.map(String)));
  if (record.weekday !== undefined && frequency !== "weekly") {
    throw new ConfigError("snapshots.weekday", "`snapshots.weekday` applies to `snapshots.frequency: weekly` only");
  }
  const retain = record.retain === undefined ? DEFAULT_SNAPSHOTS.retain : parseInteger("snapshots.retain", record.retain, 1, 90);
  if (frequency === "daily") return { enabled: true, frequency, hourUtc, retain };
  const weekday = record.weekday === undefined ? DEFAULT_SNAPSHOT_WEEKDAY : parseOneOf("snapshots.weekday", record.weekday, WEEKDAYS);
  return { enabled: true, frequency, hourUtc, weekday, retain };
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

