import { isIPv4, isIPv6 } from "node:net";
import { ConfigError } from "./errors.js";
import { CLAWCHAT_PORT_RANGE } from "./presets.js";

/**
 * The one set of validators for values that reach a cloud or a host: stack
 * config, API requests (through `program/host-config.ts`), component args and
 * the cloud-init renderer's guard all use these. Each one names the key in
 * backticks, says what is allowed and what was given, and throws
 * `ConfigError` so callers can point at the exact field.
 */

/** Renders a given value for an error message without ever echoing something huge. */
export function describeGiven(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A CIDR block, IPv4 (`203.0.113.0/24`) or IPv6 (`2001:db8::/32`). The address
 * must be the network address for its prefix (no host bits set), so a typo such
 * as `10.0.0.1/8` is caught instead of silently widening or narrowing access.
 */
export function parseCidr(key: string, value: unknown): string {
  const allowed = "an IPv4 or IPv6 CIDR block such as 203.0.113.0/24 or 2001:db8::/48";
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(value)}`);
  }
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(value);
  if (!match) {
    throw new ConfigError(key, `\`${key}\` must be ${allowed} (address/prefix); got ${describeGiven(value)}`);
  }
  const address = match[1] as string;
  const prefix = Number(match[2]);
  if (isIPv4(address)) {
    if (prefix > 32) {
      throw new ConfigError(key, `\`${key}\` must have an IPv4 prefix length from 0 to 32; got ${describeGiven(value)}`);
    }
    const bits = address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    assertNoHostBits(key, value, bits, 32, prefix);
    return value;
  }
  if (isIPv6(address)) {
    if (prefix > 128) {
      throw new ConfigError(key, `\`${key}\` must have an IPv6 prefix length from 0 to 128; got ${describeGiven(value)}`);
    }
    assertNoHostBits(key, value, ipv6ToBigInt(address), 128, prefix);
    return value;
  }
  throw new ConfigError(
    key,
    `\`${key}\` must be ${allowed}; ${describeGiven(address)} is not a valid IPv4 or IPv6 address (given ${describeGiven(value)})`,
  );
}

function assertNoHostBits(key: string, value: string, bits: bigint, width: number, prefix: number): void {
  const hostBits = BigInt(width - prefix);
  const hostMask = (1n << hostBits) - 1n;
  if ((bits & hostMask) !== 0n) {
    throw new ConfigError(
      key,
      `\`${key}\` must be a network address with no host bits set for its /${prefix} prefix; got ${describeGiven(value)}`,
    );
  }
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const octets = (v4[1] as string).split(".").map(Number);
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, v4.index)}${hex(octets[0] ?? 0, octets[1] ?? 0)}:${hex(octets[2] ?? 0, octets[3] ?? 0)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headParts = head ? head.split(":").filter((part) => part !== "") : [];
  const tailParts = tail ? tail.split(":").filter((part) => part !== "") : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16)), 0n);
}

/** A list of CIDR blocks; `allowEmpty: false` refuses `[]` (closed by default means explicit sources). */
export function parseCidrList(key: string, value: unknown, options: { allowEmpty: boolean }): string[] {
  if (!Array.isArray(value)) {
    throw new ConfigError(key, `\`${key}\` must be a list of CIDR blocks; got ${describeGiven(value)}`);
  }
  if (value.length === 0 && !options.allowEmpty) {
    throw new ConfigError(
      key,
      `\`${key}\` must list at least one CIDR block (opening to everyone must be written out as 0.0.0.0/0 and ::/0); got []`,
    );
  }
  const cidrs = value.map((entry, index) => parseCidr(`${key}[${index}]`, entry));
  return [...new Set(cidrs)];
}

const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
] as const;

/**
 * An OpenSSH public key line (`<type> <base64> [comment]`). The base64 blob
 * must decode and start with the same key type, which catches truncated or
 * pasted-wrong keys. RSA keys must be at least 3072 bits.
 */
export function parseSshPublicKey(key: string, value: unknown): string {
  const allowed = `an OpenSSH public key line (${SSH_KEY_TYPES.join(", ")}) such as "ssh-ed25519 AAAAC3Nza... you@laptop"`;
  if (typeof value !== "string") {
    throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(value)}`);
  }
  const trimmed = value.trim();
  if (/PRIVATE KEY/.test(trimmed)) {
    // Never echo what looks like a private key back into logs.
    throw new ConfigError(key, `\`${key}\` must be ${allowed}; got what looks like a PRIVATE key (not shown). Remove it from the config now.`);
  }
  const [type, blob, ...rest] = trimmed.split(/\s+/);
  const comment = rest.join(" ");
  if (!type || !(SSH_KEY_TYPES as readonly string[]).includes(type) || !blob) {
    throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(value)}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) {
    throw new ConfigError(key, `\`${key}\` must carry a base64 key blob after \`${type}\`; got ${describeGiven(blob)}`);
  }
  const decoded = Buffer.from(blob, "base64");
  const embeddedTypeLength = decoded.length >= 4 ? decoded.readUInt32BE(0) : -1;
  const embeddedType =
    embeddedTypeLength > 0 && embeddedTypeLength + 4 <= decoded.length
      ? decoded.subarray(4, 4 + embeddedTypeLength).toString("latin1")
      : "";
  if (embeddedType !== type) {
    throw new ConfigError(
      key,
      `\`${key}\` is malformed: its base64 blob does not encode a \`${type}\` key (truncated or mixed up?); got ${describeGiven(value)}`,
    );
  }
  if (type === "ssh-rsa") {
    const bits = rsaModulusBits(decoded, 4 + embeddedTypeLength);
    if (bits < 3072) {
      throw new ConfigError(key, `\`${key}\` must be an RSA key of at least 3072 bits (or, better, ssh-ed25519); got ${bits} bits`);
    }
  }
  return comment ? `${type} ${blob} ${comment}` : `${type} ${blob}`;
}

/**
 * The key types EC2's ImportKeyPair takes: RSA and ED25519 only (no ECDSA, no
 * FIDO security keys `sk-*`). An AWS host with `sshAccess` imports its key.
 */
export const AWS_IMPORTABLE_SSH_KEY_TYPES = ["ssh-rsa", "ssh-ed25519"] as const;

/** Refuses, naming `key`, an OpenSSH public key EC2 cannot import (checked after `parseSshPublicKey`). */
export function checkAwsImportableSshKey(key: string, publicKey: string): void {
  const type = publicKey.trim().split(/\s+/)[0] ?? "";
  if (!(AWS_IMPORTABLE_SSH_KEY_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(
      key,
      `\`${key}\` on aws must be an ssh-ed25519 or ssh-rsa key (EC2 ImportKeyPair imports RSA and ED25519 keys only, no ECDSA or security-key sk-* keys); got a ${type || "key of no type"} key`,
    );
  }
}

function rsaModulusBits(decoded: Buffer, offset: number): number {
  // ssh-rsa blob: string type, mpint e, mpint n.
  const exponentLength = decoded.readUInt32BE(offset);
  const modulusOffset = offset + 4 + exponentLength;
  if (modulusOffset + 4 > decoded.length) return 0;
  let modulus = decoded.subarray(modulusOffset + 4, modulusOffset + 4 + decoded.readUInt32BE(modulusOffset));
  while (modulus.length > 0 && modulus[0] === 0) modulus = modulus.subarray(1);
  if (modulus.length === 0) return 0;
  return (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0] as number));
}

/**
 * An exact, pinned version: `MAJOR.MINOR.PATCH` with an optional pre-release
 * (`2026.2.3`, `24.15.0`, `1.0.0-rc.1`). Ranges and tags (`latest`, `^1.2`,
 * `22.x`, `~1.2.3`, `lts`) are refused: a host must install exactly what was reviewed.
 */
export const EXACT_VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

export function parsePinnedVersion(key: string, value: unknown): string {
  if (typeof value === "string" && EXACT_VERSION_PATTERN.test(value)) {
    return value;
  }
  throw new ConfigError(
    key,
    `\`${key}\` must be an exact pinned version such as 24.15.0 (no ranges, tags or wildcards like latest, ^1.2, 22.x); got ${describeGiven(value)}`,
  );
}

/** One value out of a fixed list. */
export function parseOneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(key, `\`${key}\` must be one of ${allowed.join(", ")}; got ${describeGiven(value)}`);
}

/** An integer within [min, max]. */
export function parseInteger(key: string, value: unknown, min: number, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ConfigError(key, `\`${key}\` must be a whole number from ${min} to ${max}; got ${describeGiven(value)}`);
}

export function parseBoolean(key: string, value: unknown): boolean {
  if (typeof value === "boolean") return value;
  throw new ConfigError(key, `\`${key}\` must be true or false; got ${describeGiven(value)}`);
}

/** A plain object (YAML map); refuses keys outside `known` so typos never fall back to defaults silently. */
export function parseObject(key: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(key, `\`${key}\` must be a map with keys ${known.join(", ")}; got ${describeGiven(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!known.includes(field)) {
      const path = key ? `${key}.${field}` : field;
      throw new ConfigError(path, `\`${path}\` is not a known key; allowed here: ${known.join(", ")}`);
    }
  }
  return record;
}

/** A lowercase DNS-label-like name: 1 to `maxLength` chars of `[a-z0-9-]`, starting with a letter. */
export function parseName(key: string, value: unknown, maxLength: number): string {
  const pattern = new RegExp(`^[a-z]([a-z0-9-]{0,${maxLength - 2}}[a-z0-9])?$`);
  if (typeof value === "string" && pattern.test(value)) return value;
  throw new ConfigError(
    key,
    `\`${key}\` must be 1 to ${maxLength} characters of lowercase letters, digits and dashes, starting with a letter and not ending with a dash; got ${describeGiven(value)}`,
  );
}

/** A GCP project id: 6 to 30 of `[a-z0-9-]`, starting with a letter, not ending with a dash. */
export const GCP_PROJECT_ID_PATTERN = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export function parseGcpProjectId(key: string, value: unknown): string {
  if (typeof value === "string" && GCP_PROJECT_ID_PATTERN.test(value)) return value;
  throw new ConfigError(key, `\`${key}\` must be a GCP project id (6 to 30 of [a-z0-9-], starting with a letter); got ${describeGiven(value)}`);
}

/** An https:// URL that is safe in a shell variable: no spaces, quotes or backslashes. */
export const SHELL_SAFE_HTTPS_URL_PATTERN = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$/;

/** A `[low, high]` UDP port range inside ClawChat's range (`CLAWCHAT_PORT_RANGE`, the dynamic ports). */
export function parseClawChatPortRange(key: string, value: unknown): [number, number] {
  const [min, max] = CLAWCHAT_PORT_RANGE;
  if (Array.isArray(value) && value.length === 2) {
    const [low, high] = value as unknown[];
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) >= min && (high as number) <= max && (low as number) <= (high as number)) {
      return [low as number, high as number];
    }
  }
  throw new ConfigError(key, `\`${key}\` must be [low, high] with ${min} <= low <= high <= ${max}; got ${describeGiven(value)}`);
}

/** AWS VPC and subnet ids: `vpc-`/`subnet-` and 8 or 17 hex digits. */
export const AWS_VPC_ID_PATTERN = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const AWS_SUBNET_ID_PATTERN = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
/** An IAM managed policy ARN (a permissions boundary): `arn:<partition>:iam::<account>:policy/<path/><name>`. */
export const AWS_IAM_POLICY_ARN_PATTERN = /^arn:aws(-[a-z]+)*:iam::\d{12}:policy\/([\x21-\x7e]+\/)?[\w+=,.@-]{1,128}$/;
/** GCP resource names (RFC 1035, 1 to 63 characters), as the Compute API reference gives them. */
export const GCP_RESOURCE_NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const GCP_COMPUTE_URL_PREFIX = "(?:https://www\\.googleapis\\.com/compute/v1/)?";
/** A DigitalOcean VPC id: a UUID. */
export const DIGITALOCEAN_VPC_UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parsePattern(key: string, value: unknown, pattern: RegExp, allowed: string): string {
  if (typeof value === "string" && pattern.test(value)) return value;
  throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(value)}`);
}

export function parseAwsVpcId(key: string, value: unknown): string {
  return parsePattern(key, value, AWS_VPC_ID_PATTERN, "a VPC id such as vpc-0123456789abcdef0");
}

export function parseAwsSubnetId(key: string, value: unknown): string {
  return parsePattern(key, value, AWS_SUBNET_ID_PATTERN, "a subnet id such as subnet-0123456789abcdef0");
}

export function parseAwsIamPolicyArn(key: string, value: unknown): string {
  return parsePattern(key, value, AWS_IAM_POLICY_ARN_PATTERN, "an IAM policy ARN such as arn:aws:iam::123456789012:policy/claw-cloud/claw-cloud-workload-boundary");
}

/** A GCP VPC network: its name, or its self link `projects/<project>/global/networks/<name>` (optionally the full URL). */
export function parseGcpNetwork(key: string, value: unknown): string {
  const pattern = new RegExp(`^(${GCP_RESOURCE_NAME_PATTERN.source.slice(1, -1)}|${GCP_COMPUTE_URL_PREFIX}projects/${GCP_PROJECT_ID_PATTERN.source.slice(1, -1)}/global/networks/${GCP_RESOURCE_NAME_PATTERN.source.slice(1, -1)})$`);
  return parsePattern(key, value, pattern, "a VPC network name (lowercase letters, digits and -, 1 to 63 characters, starting with a letter) or projects/<project>/global/networks/<name>");
}

/** A GCP subnetwork of `region`: its name, or `projects/<project>/regions/<region>/subnetworks/<name>`. */
export function parseGcpSubnetwork(key: string, value: unknown, region: string): string {
  const name = GCP_RESOURCE_NAME_PATTERN.source.slice(1, -1);
  const pattern = new RegExp(`^(${name}|${GCP_COMPUTE_URL_PREFIX}projects/${GCP_PROJECT_ID_PATTERN.source.slice(1, -1)}/regions/${region}/subnetworks/${name})$`);
  return parsePattern(key, value, pattern, `a subnetwork name or projects/<project>/regions/${region}/subnetworks/<name> (a subnetwork of the stack's region)`);
}

export function parseDigitalOceanVpcUuid(key: string, value: unknown): string {
  return parsePattern(key, value, DIGITALOCEAN_VPC_UUID_PATTERN, "a VPC id (a UUID such as 5a4981aa-9653-4bd1-bef5-d6bff52042e4; `doctl vpcs list`)");
}
