import { isIPv4 } from "node:net";
import { ConfigError } from "../core/errors.js";
import { HOST_DEFAULTS, parseProxyDevice, parseSupportAccess } from "../core/host-config.js";
import { proxyDeviceProblem } from "./proxy-device.js";
import { mirrorPinProblem } from "../core/mirrors.js";
import { INSTANCE_ID_PATTERN, REGISTRATION_TOKEN_PATTERN, registrationUrlProblem } from "../core/registration.js";
import {
  describeGiven,
  EXACT_VERSION_PATTERN,
  GCP_PROJECT_ID_PATTERN,
  parseCidr,
  parseClawChatPortRange,
  parseSshPublicKey,
  SHELL_SAFE_HTTPS_URL_PATTERN,
} from "../core/validation.js";
import type { ClawChatBundleInput, HostBootInput, SupportAgentDelivery } from "./types.js";

/** Everything the renderer writes into files and scripts, checked and with defaults resolved. */
export interface ResolvedBootInput extends HostBootInput {
  clawchatBundle: ClawChatBundleInput;
  gatewayCidrs: string[];
  clawchat: { clientCidrs: string[]; portRange: [number, number] };
  ssh: { cidrs: string[]; authorizedKeys: string[] } | null;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9._:/+-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const NPM_INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/;
const SSM_PARAMETER = /^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const GCP_SECRET = /^[A-Za-z0-9_-]{1,255}$/;
/** What may follow an SSH key in `ssh_authorized_keys`: no line breaks, quotes or backslashes. */
const SSH_KEY_COMMENT = /^[^\n\r'"\\]{0,200}$/;

function refuse(key: string, allowed: string, given: unknown): never {
  throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(given)}`);
}

function check(pattern: RegExp, key: string, allowed: string, value: unknown): string {
  if (typeof value !== "string" || !pattern.test(value)) refuse(key, allowed, value);
  return value;
}

function cidrList(key: string, list: unknown): string[] {
  if (!Array.isArray(list)) refuse(key, "a list of CIDRs", list);
  return [...new Set(list.map((cidr, index) => parseCidr(`${key}[${index}]`, cidr)))];
}

/** The state disk's device path, as it goes into the host's settings file. */
export function checkStateDevicePath(value: unknown): string {
  return check(DEVICE_PATH, "stateDisk.devicePath", "a /dev path such as /dev/disk/by-id/...", value);
}

/** Checks how the ClawChat bundle is delivered (the part of the input the bundle choice decides). */
export function checkClawChatBundle(bundle: ClawChatBundleInput): ClawChatBundleInput {
  switch (bundle.kind) {
    case "embedded":
      if (!Buffer.isBuffer(bundle.bundle) || bundle.bundle.length === 0) {
        refuse("clawchatBundle.bundle", "the non-empty bytes of clawchat/dist/clawchat.js", typeof bundle.bundle);
      }
      return bundle;
    case "fetch":
      check(SHELL_SAFE_HTTPS_URL_PATTERN, "clawchatBundle.url", "an https:// URL without quotes or spaces", bundle.url);
      check(SHA256_HEX, "clawchatBundle.sha256", "64 lowercase hex characters", bundle.sha256);
      return bundle;
    case "disabled":
      return bundle;
    default: {
      const unknown: never = bundle;
      refuse("clawchatBundle.kind", "embedded, fetch or disabled", (unknown as { kind?: unknown }).kind);
    }
  }
}

/** Checks how the support agent is delivered: a fetch URL must be https:// and shell-safe (it is quoted in a settings file). */
function checkSupportAgentDelivery(delivery: SupportAgentDelivery): void {
  switch (delivery.kind) {
    case "embedded":
      return;
    case "fetch":
      check(SHELL_SAFE_HTTPS_URL_PATTERN, "supportAccess.delivery.url", "an https:// URL without quotes or spaces", delivery.url);
      return;
    default: {
      const unknown: never = delivery;
      refuse("supportAccess.delivery.kind", "embedded or fetch", (unknown as { kind?: unknown }).kind);
    }
  }
}

/**
 * The renderer's own guard: checks every value it puts into a file or a shell
 * variable, with the validators of `core/validation.ts`, so a rendered config
 * can never carry a broken or injected line. Stack config and API requests are
 * parsed before (`program/host-config.ts`); this guards direct callers too.
 */
export function resolveBootInput(input: HostBootInput): ResolvedBootInput {
  check(HOSTNAME, "hostname", "a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)", input.hostname);
  if (!Number.isInteger(input.memoryMiB) || input.memoryMiB < 512 || input.memoryMiB > 1024 * 1024) {
    refuse("memoryMiB", "a whole number of MiB from 512 to 1048576", input.memoryMiB);
  }
  checkStateDevicePath(input.stateDisk?.devicePath);
  check(EXACT_VERSION_PATTERN, "versions.openclaw", "an exact version such as 2026.1.29", input.versions?.openclaw);
  check(EXACT_VERSION_PATTERN, "versions.node", "an exact version such as 24.15.0", input.versions?.node);
  for (const arch of ["x64", "arm64"] as const) {
    const sha = input.versions.nodeSha256?.[arch];
    if (sha !== undefined) check(SHA256_HEX, `versions.nodeSha256.${arch}`, "64 lowercase hex characters", sha);
  }
  if (input.versions.openclawIntegrity !== undefined) {
    check(NPM_INTEGRITY, "versions.openclawIntegrity", "an npm integrity string sha512-<base64>", input.versions.openclawIntegrity);
  }

  const portRange = parseClawChatPortRange("clawchat.portRange", input.clawchat?.portRange);

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
      check(GCP_PROJECT_ID_PATTERN, "gatewayToken.project", "a GCP project id", token.project);
      break;
    default:
      refuse("gatewayToken.source", "generate, aws-ssm or gcp-secret-manager", (token as { source?: unknown } | undefined)?.source);
  }

  const bundle = checkClawChatBundle(input.clawchatBundle ?? HOST_DEFAULTS.clawchatBundle);

  if (input.mirrors !== undefined) {
    for (const field of ["npmRegistry", "nodeDist"] as const) {
      const url = input.mirrors[field];
      if (url !== undefined) check(SHELL_SAFE_HTTPS_URL_PATTERN, `mirrors.${field}`, "an https:// URL without spaces or quotes", url);
    }
    const problem = mirrorPinProblem("mirrors", input.mirrors, input.versions);
    if (problem !== undefined) throw new ConfigError(problem.key, problem.message);
  }

  if (input.publicIpv4 !== undefined && (typeof input.publicIpv4 !== "string" || !isIPv4(input.publicIpv4))) {
    refuse("publicIpv4", "an IPv4 address such as 203.0.113.10", input.publicIpv4);
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

  if (input.supportAccess !== undefined) {
    const { bundle, delivery, ...access } = input.supportAccess;
    parseSupportAccess("supportAccess", access);
    if (!Buffer.isBuffer(bundle) || bundle.length === 0) refuse("supportAccess.bundle", "the non-empty bytes of support/dist/clawstack-support.js", typeof bundle);
    checkSupportAgentDelivery(delivery ?? { kind: "embedded" });
    if (input.registration === undefined) {
      throw new ConfigError(
        "supportAccess",
        "`supportAccess` needs `registration`: the host sends its API credential when it registers, and its instance id names the host in every grant; the API's job runner sets both",
      );
    }
  }

  if (input.proxyDevice !== undefined) {
    parseProxyDevice("proxyDevice", input.proxyDevice);
    const problem = proxyDeviceProblem(input.proxyDevice);
    if (problem !== undefined) throw new ConfigError("proxyDevice.id", `\`proxyDevice.id\` ${problem}`);
  }

  const ssh = input.ssh === null
    ? null
    : {
        cidrs: cidrList("ssh.cidrs", input.ssh?.cidrs),
        authorizedKeys: (input.ssh?.authorizedKeys ?? []).map((key, index) => {
          const path = `ssh.authorizedKeys[${index}]`;
          const parsed = parseSshPublicKey(path, key);
          const comment = parsed.split(" ").slice(2).join(" ");
          if (!SSH_KEY_COMMENT.test(comment)) refuse(path, "an OpenSSH public key line whose comment has no quotes, backslashes or line breaks", key);
          return parsed;
        }),
      };
  if (ssh !== null && ssh.cidrs.length === 0) refuse("ssh.cidrs", "at least one CIDR (or `ssh: null` to keep port 22 closed)", []);

  return {
    ...input,
    gatewayCidrs: cidrList("gatewayCidrs", input.gatewayCidrs),
    clawchat: { clientCidrs: cidrList("clawchat.clientCidrs", input.clawchat.clientCidrs), portRange },
    ssh,
    clawchatBundle: bundle,
  };
}
