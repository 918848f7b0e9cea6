import { isIPv4, isIPv6 } from "node:net";
import { ConfigError } from "../program/errors.js";
import type { ClawChatBundleInput, HostBootInput } from "./types.js";
import { INSTANCE_ID_PATTERN, REGISTRATION_TOKEN_PATTERN, registrationUrlProblem } from "./registration.js";

/** Everything the renderer writes into files and scripts, checked and with defaults resolved. */
export interface ResolvedBootInput extends HostBootInput {
  clawchatBundle: ClawChatBundleInput;
  gatewayCidrs: string[];
  clawchat: { clientCidrs: string[]; portRange: [number, number] };
  ssh: { cidrs: string[]; authorizedKeys: string[] } | null;
}

/** Defaults, in one place: no ClawChat server unless a bundle is given; no SSH keys. */
const DEFAULT_CLAWCHAT_BUNDLE: ClawChatBundleInput = { kind: "disabled" };

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9._:/+-]+$/;
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const NPM_INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/;
const SSM_PARAMETER = /^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const GCP_SECRET = /^[A-Za-z0-9_-]{1,255}$/;
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r'"\\]{0,200})?$/;
const CLAWCHAT_PORTS = { min: 49152, max: 65535 };

function refuse(key: string, allowed: string, given: unknown): never {
  throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${JSON.stringify(given)}`);
}

function check(pattern: RegExp, key: string, allowed: string, value: unknown): string {
  if (typeof value !== "string" || !pattern.test(value)) refuse(key, allowed, value);
  return value;
}

/** Parses an IPv4 or IPv6 CIDR and returns it with host bits cleared (nftables and the clouds want network addresses). */
export function canonicalCidr(key: string, cidr: string): string {
  const [address, prefixText, ...rest] = cidr.split("/");
  const allowed = "an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32";
  if (address === undefined || prefixText === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefixText)) {
    refuse(key, allowed, cidr);
  }
  const prefix = Number(prefixText);
  if (isIPv4(address)) {
    if (prefix > 32) refuse(key, `${allowed} (IPv4 prefix 0 to 32)`, cidr);
    const value = address.split(".").reduce((sum, octet) => sum * 256n + BigInt(octet), 0n);
    const network = prefix === 0 ? 0n : (value >> BigInt(32 - prefix)) << BigInt(32 - prefix);
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((network >> shift) & 255n));
    return `${octets.join(".")}/${prefix}`;
  }
  if (isIPv6(address) && !address.includes(".")) {
    if (prefix > 128) refuse(key, `${allowed} (IPv6 prefix 0 to 128)`, cidr);
    const [head = "", tail = ""] = address.split("::");
    const headGroups = head ? head.split(":") : [];
    const tailGroups = address.includes("::") ? (tail ? tail.split(":") : []) : [];
    const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
    const value = groups.reduce((sum, group) => sum * 65536n + BigInt(`0x${group}`), 0n);
    const network = prefix === 0 ? 0n : (value >> BigInt(128 - prefix)) << BigInt(128 - prefix);
    const words = Array.from({ length: 8 }, (_, index) => ((network >> BigInt(112 - 16 * index)) & 0xffffn).toString(16));
    return `${compressIPv6(words)}/${prefix}`;
  }
  refuse(key, allowed, cidr);
}

/** RFC 5952 text: the longest run of two or more zero groups becomes `::`. */
function compressIPv6(words: string[]): string {
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && words[start + length] === "0") length++;
    if (length > best.length && length >= 2) best = { start, length };
  }
  if (best.start < 0) return words.join(":");
  const head = words.slice(0, best.start).join(":");
  const tail = words.slice(best.start + best.length).join(":");
  return `${head}::${tail}`;
}

function cidrList(key: string, list: unknown): string[] {
  if (!Array.isArray(list)) refuse(key, "a list of CIDRs", list);
  return [...new Set(list.map((cidr, index) => canonicalCidr(`${key}[${index}]`, String(cidr))))];
}

/**
 * Checks every value the renderer puts into a file or a shell variable, so a
 * rendered config can never carry a broken or injected line. Host components
 * validate stack config first; this is the renderer's own guard.
 */
export function resolveBootInput(input: HostBootInput): ResolvedBootInput {
  check(HOSTNAME, "hostname", "a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)", input.hostname);
  if (!Number.isInteger(input.memoryMiB) || input.memoryMiB < 512 || input.memoryMiB > 1024 * 1024) {
    refuse("memoryMiB", "a whole number of MiB from 512 to 1048576", input.memoryMiB);
  }
  check(DEVICE_PATH, "stateDisk.devicePath", "a /dev path such as /dev/disk/by-id/...", input.stateDisk?.devicePath);
  check(EXACT_VERSION, "versions.openclaw", "an exact version such as 2026.1.29", input.versions?.openclaw);
  check(EXACT_VERSION, "versions.node", "an exact version such as 24.15.0", input.versions?.node);
  for (const arch of ["x64", "arm64"] as const) {
    const sha = input.versions.nodeSha256?.[arch];
    if (sha !== undefined) check(SHA256_HEX, `versions.nodeSha256.${arch}`, "64 lowercase hex characters", sha);
  }
  if (input.versions.openclawIntegrity !== undefined) {
    check(NPM_INTEGRITY, "versions.openclawIntegrity", "an npm integrity string sha512-<base64>", input.versions.openclawIntegrity);
  }

  const [low, high] = input.clawchat?.portRange ?? [];
  if (!Number.isInteger(low) || !Number.isInteger(high) || low! < CLAWCHAT_PORTS.min || high! > CLAWCHAT_PORTS.max || low! > high!) {
    refuse("clawchat.portRange", `[low, high] with ${CLAWCHAT_PORTS.min} <= low <= high <= ${CLAWCHAT_PORTS.max}`, input.clawchat?.portRange);
  }

  const token = input.gatewayToken;
  switch (token?.source) {
    case "generate":
      break;
    case "aws-ssm":
      check(SSM_PARAMETER, "gatewayToken.parameterName", "an SSM parameter name such as /clawstack/gateway-token", token.parameterName);
      check(AWS_REGION, "gatewayToken.region", "an AWS region such as eu-west-1", token.region);
      break;
    case "gcp-secret-manager":
      check(GCP_SECRET, "gatewayToken.secretName", "a Secret Manager secret id (A-Z a-z 0-9 _ -)", token.secretName);
      check(GCP_PROJECT, "gatewayToken.project", "a GCP project id", token.project);
      break;
    default:
      refuse("gatewayToken.source", "generate, aws-ssm or gcp-secret-manager", (token as { source?: unknown } | undefined)?.source);
  }

  const bundle = input.clawchatBundle ?? DEFAULT_CLAWCHAT_BUNDLE;
  switch (bundle.kind) {
    case "embedded":
      if (!Buffer.isBuffer(bundle.bundle) || bundle.bundle.length === 0) {
        refuse("clawchatBundle.bundle", "the non-empty bytes of clawchat/dist/clawchat.js", typeof bundle.bundle);
      }
      break;
    case "fetch":
      check(/^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/[A-Za-z0-9._~:/?#@!$&()*+,;=%-]*$/, "clawchatBundle.url", "an https:// URL without quotes or spaces", bundle.url);
      check(SHA256_HEX, "clawchatBundle.sha256", "64 lowercase hex characters", bundle.sha256);
      break;
    case "disabled":
      break;
    default: {
      const unknown: never = bundle;
      refuse("clawchatBundle.kind", "embedded, fetch or disabled", (unknown as { kind?: unknown }).kind);
    }
  }

  if (input.registration !== undefined) {
    const registration = input.registration;
    check(INSTANCE_ID_PATTERN, "registration.instanceId", "the API's instance id, inst_ followed by 32 hex characters", registration.instanceId);
    const urlProblem = registrationUrlProblem(registration.apiUrl, registration.instanceId);
    if (urlProblem !== undefined) {
      throw new ConfigError("registration.apiUrl", `\`registration.apiUrl\` must be https://<api>/v1/instances/<instanceId>/register; ${urlProblem} (got ${JSON.stringify(registration.apiUrl)})`);
    }
    if (typeof registration.token !== "string" || !REGISTRATION_TOKEN_PATTERN.test(registration.token)) {
      // Never echo the token.
      throw new ConfigError("registration.token", "`registration.token` must be a registration token issued by the API (csreg_ followed by 43 base64url characters); the value given does not qualify (not shown)");
    }
  }

  const ssh = input.ssh === null
    ? null
    : {
        cidrs: cidrList("ssh.cidrs", input.ssh?.cidrs),
        authorizedKeys: (input.ssh?.authorizedKeys ?? []).map((key, index) =>
          check(SSH_PUBLIC_KEY, `ssh.authorizedKeys[${index}]`, "an OpenSSH public key line (ssh-ed25519 AAAA... comment)", key),
        ),
      };
  if (ssh !== null && ssh.cidrs.length === 0) refuse("ssh.cidrs", "at least one CIDR (or `ssh: null` to keep port 22 closed)", []);

  return {
    ...input,
    gatewayCidrs: cidrList("gatewayCidrs", input.gatewayCidrs),
    clawchat: { clientCidrs: cidrList("clawchat.clientCidrs", input.clawchat.clientCidrs), portRange: [low!, high!] },
    ssh,
    clawchatBundle: bundle,
  };
}
