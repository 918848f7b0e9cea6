/**
 * The agent's settings: /etc/clawstack/support/agent.json (rendered by
 * cloud-init) over the defaults below. Every path and every command the agent
 * runs is here, so tests run the same agent against a scratch directory, their
 * own sshd and a network namespace.
 */
import { readFileSync } from "node:fs";
import { parseUserPublicKey, type UserPublicKey } from "../core/zero-access/user-keys.js";

export interface AgentPaths {
  /** `{instanceId, keys: UserPublicKey[]}`: the device keys pinned at creation (root 0644). */
  userKeys: string;
  /** The host's API credential `cshost_...` (root 0600), made at first boot. */
  hostToken: string;
  /** The forced command's allow-list (root 0644). */
  commands: string;
  /** The support user's authorized keys (root 0644: sshd reads it as that user). */
  authorizedKeys: string;
  sshdDropIn: string;
  /** nonces.json, grants.json, uploaded.json, clawchat.json (root 0700). */
  stateDir: string;
  /** The command log, root 0600, appended to only. */
  commandLog: string;
  /** The socket the wrapper reports to. */
  socket: string;
  /** The forced command sshd runs. */
  wrapper: string;
  /** The gateway's environment file (`OPENCLAW_GATEWAY_TOKEN=...`, openclaw 0600): a rotation writes the new token here. */
  gatewayEnv: string;
  /** The gateway certificate's SHA-256 (the registered pin), sent with a rotated token. */
  gatewayFingerprint: string;
  /** host.conf: `TOKEN_SOURCE` says whether this host makes its gateway token (only then does it rotate it). */
  hostConf: string;
  /** The chat proxy's pinned device (cloud-init/proxy-device.ts); absent: no gateway setup window on this host. */
  proxyDeviceConf: string;
}

/** Commands as argv lists (no shell). `nft` reads its script on stdin (`-f -`). */
export interface AgentCommands {
  nft: string[];
  /** Checks sshd's config before a start or reload; empty: not done here (the service does it). */
  sshdTest: string[];
  startSsh: string[];
  reloadSsh: string[];
  stopSsh: string[];
  /** Kills every process of the support user (its sessions); the user name is appended. */
  killSessions: string[];
  /** Marks the command log append-only (`chattr +a`); the path is appended. Empty: not done. */
  appendOnly: string[];
  /** Restarts the gateway after its token changed. */
  restartGateway: string[];
  /** A gateway setup window is open: approve the proxy device's pending admin upgrade (support/gateway-admin.ts). */
  proxyAdminOpen: string[];
  /** The window closed: reject pending admin requests, remove the device (its connections close). */
  proxyAdminClose: string[];
  /** After a close: the chat scopes' approval runs again. */
  proxyDeviceTimer: string[];
}

export interface AgentConfig {
  /** `https://<api>/v1`; http only to a loopback address (tests). */
  apiUrl: string;
  pollSeconds: number;
  supportUser: string;
  /** True when the stack keeps SSH closed: sshd runs only while a grant is active, and only for the support user. */
  sshManaged: boolean;
  /** Where the ClawChat server writes its bootstrap key and security files; absent: no ClawChat on this host. */
  clawchatSecurityDir?: string;
  /** The gateway's own readiness on loopback, waited for after a token rotation's restart. */
  gatewayReadyUrl: string;
  paths: AgentPaths;
  commands: AgentCommands;
}

export const DEFAULT_GATEWAY_READY_URL = "http://127.0.0.1:18789/readyz";

/** An http:// URL on a loopback address (the gateway listens on loopback only). */
function loopbackUrl(field: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== "http:" || !LOOPBACK_HOSTS.has(url.hostname)) throw new AgentConfigError(field, `\`${field}\` must be an http:// URL on a loopback address`);
  return url.toString();
}

export const DEFAULT_PATHS: AgentPaths = {
  userKeys: "/etc/clawstack/user-keys.json",
  hostToken: "/etc/clawstack/host-token",
  commands: "/etc/clawstack/support/commands.json",
  authorizedKeys: "/etc/clawstack/support/authorized_keys",
  sshdDropIn: "/etc/ssh/sshd_config.d/50-clawstack-support.conf",
  stateDir: "/var/lib/clawstack/support",
  commandLog: "/var/log/clawstack/support-commands.log",
  socket: "/run/clawstack/support.sock",
  wrapper: "/usr/local/lib/clawstack/support-shell",
  gatewayEnv: "/var/lib/openclaw/state/.env",
  gatewayFingerprint: "/var/lib/openclaw/gateway-cert.sha256",
  hostConf: "/etc/clawstack/host.conf",
  proxyDeviceConf: "/etc/clawstack/proxy-device.conf",
};

export const DEFAULT_COMMANDS: AgentCommands = {
  nft: ["/usr/sbin/nft", "-f", "-"],
  // None on a host: Debian's and Ubuntu's ssh.service run `sshd -t` before every start and reload (and a bare
  // `sshd -t` fails while ssh.service is stopped, its /run/sshd being gone).
  sshdTest: [],
  startSsh: ["/usr/bin/systemctl", "start", "ssh.service"],
  reloadSsh: ["/usr/bin/systemctl", "reload", "ssh.service"],
  stopSsh: ["/usr/bin/systemctl", "stop", "ssh.service"],
  killSessions: ["/usr/bin/pkill", "-KILL", "-u"],
  appendOnly: ["/usr/bin/chattr", "+a"],
  restartGateway: ["/usr/bin/systemctl", "restart", "openclaw-gateway.service"],
  proxyAdminOpen: ["/usr/bin/systemctl", "start", "clawstack-proxy-device-admin@admin-open.service"],
  proxyAdminClose: ["/usr/bin/systemctl", "start", "clawstack-proxy-device-admin@admin-close.service"],
  proxyDeviceTimer: ["/usr/bin/systemctl", "restart", "clawstack-proxy-device.timer"],
};

export const DEFAULT_POLL_SECONDS = 30;
export const SUPPORT_USER = "clawsupport";
export const AGENT_CONFIG_PATH = "/etc/clawstack/support/agent.json";

export class AgentConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "AgentConfigError";
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** Checks agent.json's content and fills the defaults; throws naming the field. */
export function resolveAgentConfig(raw: unknown): AgentConfig {
  const fail = (field: string, allowed: string): never => {
    throw new AgentConfigError(field, `\`${field}\` must be ${allowed}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("agent.json", "an object");
  const value = raw as Record<string, unknown>;
  const known = ["apiUrl", "pollSeconds", "supportUser", "sshManaged", "clawchatSecurityDir", "gatewayReadyUrl", "paths", "commands"];
  for (const key of Object.keys(value)) if (!known.includes(key)) fail(key, `absent (known: ${known.join(", ")})`);
  let url: URL | undefined;
  try {
    url = typeof value.apiUrl === "string" ? new URL(value.apiUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) || url.search || url.hash) {
    fail("apiUrl", "an https:// URL of the API ending in /v1 (http:// only to a loopback address)");
  }
  if (!url!.pathname.replace(/\/$/, "").endsWith("/v1")) fail("apiUrl", "the API's URL ending in /v1");
  const pollSeconds = value.pollSeconds ?? DEFAULT_POLL_SECONDS;
  if (typeof pollSeconds !== "number" || !(pollSeconds >= 0.2 && pollSeconds <= 60)) fail("pollSeconds", "a number of seconds from 0.2 to 60 (revocation must take effect within a minute)");
  const supportUser = value.supportUser ?? SUPPORT_USER;
  if (typeof supportUser !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(supportUser)) fail("supportUser", "a Unix user name");
  if (value.sshManaged !== undefined && typeof value.sshManaged !== "boolean") fail("sshManaged", "true or false");
  const absolute = (field: string, path: unknown) => {
    if (typeof path !== "string" || !/^\/[^\0\n"]*$/.test(path) || /\s/.test(path)) fail(field, "an absolute path without blanks or quotes");
    return path as string;
  };
  const paths = { ...DEFAULT_PATHS };
  if (value.paths !== undefined) {
    if (typeof value.paths !== "object" || value.paths === null) fail("paths", "an object");
    for (const [key, path] of Object.entries(value.paths as Record<string, unknown>)) {
      if (!(key in DEFAULT_PATHS)) fail(`paths.${key}`, `one of ${Object.keys(DEFAULT_PATHS).join(", ")}`);
      paths[key as keyof AgentPaths] = absolute(`paths.${key}`, path);
    }
  }
  const commands = { ...DEFAULT_COMMANDS };
  if (value.commands !== undefined) {
    if (typeof value.commands !== "object" || value.commands === null) fail("commands", "an object");
    for (const [key, argv] of Object.entries(value.commands as Record<string, unknown>)) {
      if (!(key in DEFAULT_COMMANDS)) fail(`commands.${key}`, `one of ${Object.keys(DEFAULT_COMMANDS).join(", ")}`);
      if (!Array.isArray(argv) || argv.some((arg) => typeof arg !== "string") || (key !== "appendOnly" && key !== "sshdTest" && argv.length === 0)) fail(`commands.${key}`, "a list of strings (argv)");
      const list = argv as string[];
      if (list.length > 0) absolute(`commands.${key}[0]`, list[0]);
      commands[key as keyof AgentCommands] = [...list];
    }
  }
  return {
    apiUrl: url!.toString().replace(/\/$/, ""),
    pollSeconds: pollSeconds as number,
    supportUser: supportUser as string,
    sshManaged: value.sshManaged !== false,
    ...(value.clawchatSecurityDir === undefined ? {} : { clawchatSecurityDir: absolute("clawchatSecurityDir", value.clawchatSecurityDir) }),
    gatewayReadyUrl: loopbackUrl("gatewayReadyUrl", value.gatewayReadyUrl ?? DEFAULT_GATEWAY_READY_URL),
    paths,
    commands,
  };
}

export interface PinnedKeys {
  instanceId: string;
  keys: UserPublicKey[];
}

/** Reads user-keys.json: the instance id and its pinned device keys, each checked. */
export async function readPinnedKeys(path: string): Promise<PinnedKeys> {
  const value = JSON.parse(readFileSync(path, "utf8")) as { instanceId?: unknown; keys?: unknown };
  if (typeof value.instanceId !== "string" || !/^inst_[0-9a-f]{32}$/.test(value.instanceId)) {
    throw new AgentConfigError("instanceId", `\`instanceId\` in ${path} must be inst_ + 32 hex characters`);
  }
  if (!Array.isArray(value.keys) || value.keys.length < 1 || value.keys.length > 16) throw new AgentConfigError("keys", `\`keys\` in ${path} must list 1 to 16 device keys`);
  const keys: UserPublicKey[] = [];
  for (const [i, key] of value.keys.entries()) keys.push((await parseUserPublicKey(`keys[${i}]`, key)).key);
  return { instanceId: value.instanceId, keys };
}
