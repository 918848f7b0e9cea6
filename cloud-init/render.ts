import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { renderNftables } from "./firewall.js";
import { REGISTRATION_TOKEN_FILE } from "./registration.js";
import { planMemory } from "./memory.js";
import type { HostBootInput } from "./types.js";
import {
  clawchatUnit,
  firewallUnit,
  gatewayUnit,
  nginxDropIn,
  nginxSite,
  tokenUnit,
} from "./units.js";
import { resolveBootInput, type ResolvedBootInput } from "./validate.js";
import {
  PROXY_DEVICE_ADMIN_SERVICE,
  PROXY_DEVICE_CONF,
  PROXY_DEVICE_TIMER,
  proxyDeviceAdminService,
  proxyDeviceConf,
  proxyDeviceService,
  proxyDeviceTimer,
} from "./proxy-device.js";
import {
  SUPPORT_AGENT_CONFIG,
  SUPPORT_AGENT_SOURCE,
  SUPPORT_BUNDLE_PATH,
  SUPPORT_SHELL_PATH,
  supportAgentConfig,
  supportAgentSource,
  supportAgentUnit,
  supportShellLauncher,
  USER_KEYS_PATH,
  userKeysFile,
} from "./support.js";

/** One `write_files` entry of the cloud-config. */
interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: "gz+b64";
}

const LIB = "/usr/local/lib/clawstack";

/** The host's shell and JS scripts, shipped verbatim from cloud-init/scripts/ (shellcheck-clean). */
function script(name: string): string {
  return readFileSync(join(__dirname, "scripts", name), "utf8");
}

function file(path: string, content: string, permissions = "0644"): WriteFile {
  return { path, content, permissions, owner: "root:root" };
}

/** `'value'` for a POSIX shell, whatever the value holds. */
function shellQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** The per-host settings every script sources: the only place where input values reach the shell. */
function hostConf(input: ResolvedBootInput): string {
  const token = input.gatewayToken;
  let tokenLocation: string;
  let tokenName: string;
  switch (token.source) {
    case "generate":
      tokenLocation = "";
      tokenName = "";
      break;
    case "aws-ssm":
      tokenLocation = token.region;
      tokenName = token.parameterName;
      break;
    case "gcp-secret-manager":
      tokenLocation = token.project;
      tokenName = token.secretName;
      break;
    default: {
      const unknown: never = token;
      throw new Error(`unhandled token source ${JSON.stringify(unknown)}`);
    }
  }
  const bundle = input.clawchatBundle;
  const values: Record<string, string | number> = {
    CLOUD: input.cloud,
    HOST_NAME: input.hostname,
    STATE_DEVICE: input.stateDisk.devicePath,
    NODE_VERSION: input.versions.node,
    NODE_SHA256_X64: input.versions.nodeSha256?.x64 ?? "",
    NODE_SHA256_ARM64: input.versions.nodeSha256?.arm64 ?? "",
    OPENCLAW_VERSION: input.versions.openclaw,
    OPENCLAW_INTEGRITY: input.versions.openclawIntegrity ?? "",
    TOKEN_SOURCE: token.source,
    TOKEN_LOCATION: tokenLocation,
    TOKEN_NAME: tokenName,
    CLAWCHAT_MODE: bundle.kind,
    CLAWCHAT_URL: bundle.kind === "fetch" ? bundle.url : "",
    CLAWCHAT_SHA256: bundle.kind === "fetch" ? bundle.sha256 : "",
    CLAWCHAT_PORT_MIN: input.clawchat.portRange[0],
    CLAWCHAT_PORT_MAX: input.clawchat.portRange[1],
    PUBLIC_IPV4: input.publicIpv4 ?? "",
    SSH_ENABLED: input.ssh === null ? 0 : 1,
    REGISTRATION_API_URL: input.registration?.apiUrl ?? "",
    REGISTRATION_INSTANCE_ID: input.registration?.instanceId ?? "",
    NPM_REGISTRY_URL: input.mirrors?.npmRegistry ?? "",
    NODE_DIST_URL: input.mirrors?.nodeDist ?? "",
  };
  const lines = Object.entries(values).map(([key, value]) => `${key}=${shellQuote(value)}`);
  return `# Rendered by ClawStack: this host's settings, sourced by ${LIB}/*.sh. No secrets.\n${lines.join("\n")}\n`;
}

/** The ClawChat server's files: the bundle itself only when it travels in user-data. */
function clawchatFiles(input: ResolvedBootInput, memory: ReturnType<typeof planMemory>): WriteFile[] {
  const bundle = input.clawchatBundle;
  switch (bundle.kind) {
    case "disabled":
      return [];
    case "embedded":
      return [
        { ...file("/opt/clawchat/clawchat.js", gzipSync(bundle.bundle, { level: 9 }).toString("base64")), encoding: "gz+b64" },
        file(`${LIB}/clawchat.sh`, script("clawchat.sh"), "0755"),
        file("/etc/systemd/system/clawchat.service", clawchatUnit(memory)),
      ];
    case "fetch":
      return [
        file(`${LIB}/clawchat.sh`, script("clawchat.sh"), "0755"),
        file("/etc/systemd/system/clawchat.service", clawchatUnit(memory)),
      ];
    default: {
      const unknown: never = bundle;
      throw new Error(`unhandled ClawChat bundle ${JSON.stringify(unknown)}`);
    }
  }
}

function tokenFiles(input: ResolvedBootInput): WriteFile[] {
  const source = input.gatewayToken.source;
  switch (source) {
    case "generate":
      return [];
    case "aws-ssm":
    case "gcp-secret-manager":
      return [file(`${LIB}/fetch-secret.mjs`, script("fetch-secret.mjs"))];
    default: {
      const unknown: never = source;
      throw new Error(`unhandled token source ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * First-boot registration with the provisioning API: the script, and the
 * single-use token in a root-only file the script deletes after success.
 */
function registrationFiles(input: ResolvedBootInput): WriteFile[] {
  if (input.registration === undefined) return [];
  return [
    file(`${LIB}/register.sh`, script("register.sh"), "0755"),
    file(REGISTRATION_TOKEN_FILE, `${input.registration.token}\n`, "0600"),
  ];
}

/**
 * Support access (docs/zero-access.md): the pinned keys, the agent and its wrapper, their settings and unit.
 * The agent travels in user-data, or (fetch) only its URL and SHA-256 do, with the script that fetches it.
 */
function supportFiles(input: ResolvedBootInput): WriteFile[] {
  if (input.supportAccess === undefined) return [];
  const { bundle } = input.supportAccess;
  const delivery = input.supportAccess.delivery ?? { kind: "embedded" };
  let agent: WriteFile[];
  switch (delivery.kind) {
    case "embedded":
      agent = [{ ...file(SUPPORT_BUNDLE_PATH, gzipSync(bundle, { level: 9 }).toString("base64"), "0755"), encoding: "gz+b64" }];
      break;
    case "fetch":
      agent = [file(SUPPORT_AGENT_SOURCE, supportAgentSource(delivery.url, bundle)), file(`${LIB}/support-agent-fetch.sh`, script("support-agent-fetch.sh"), "0755")];
      break;
    default: {
      const unknown: never = delivery;
      throw new Error(`unhandled support agent delivery ${JSON.stringify(unknown)}`);
    }
  }
  return [
    file(USER_KEYS_PATH, userKeysFile(input)),
    file(SUPPORT_AGENT_CONFIG, supportAgentConfig(input)),
    ...agent,
    file(SUPPORT_SHELL_PATH, supportShellLauncher(), "0755"),
    file(`${LIB}/support.sh`, script("support.sh"), "0755"),
    file("/etc/systemd/system/clawstack-support.service", supportAgentUnit()),
  ];
}

/**
 * First boot's steps: with support access, its setup comes first (the host credential must exist when first
 * boot registers) and the agent starts last. A fetched agent goes through support-agent-fetch.sh, which runs
 * neither half unless the agent it fetched matches the pinned SHA-256.
 */
function firstBootSteps(input: ResolvedBootInput): string[][] {
  if (input.supportAccess === undefined) return [[`${LIB}/first-boot.sh`]];
  const support = input.supportAccess.delivery?.kind === "fetch" ? `${LIB}/support-agent-fetch.sh` : `${LIB}/support.sh`;
  return [[support, "setup"], [`${LIB}/first-boot.sh`], [support, "start"]];
}

/** The chat proxy's device (docs/proxy.md): its public half, the approval script, its timer and the admin window's unit. */
function proxyDeviceFiles(input: ResolvedBootInput): WriteFile[] {
  if (input.proxyDevice === undefined) return [];
  return [
    file(PROXY_DEVICE_CONF, proxyDeviceConf(input.proxyDevice)),
    file(`${LIB}/approve-proxy-device.sh`, script("approve-proxy-device.sh"), "0755"),
    file("/etc/systemd/system/clawstack-proxy-device.service", proxyDeviceService(input.proxyDevice)),
    file(`/etc/systemd/system/${PROXY_DEVICE_TIMER}`, proxyDeviceTimer()),
    file(`/etc/systemd/system/${PROXY_DEVICE_ADMIN_SERVICE}`, proxyDeviceAdminService()),
  ];
}

const UNATTENDED_UPGRADES = `// Rendered by ClawStack: security updates every day, reboot at 04:30 when one needs it.
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
Unattended-Upgrade::Automatic-Reboot "true";
Unattended-Upgrade::Automatic-Reboot-Time "04:30";
`;

/**
 * Renders the host's `#cloud-config`. Pure: the same input always gives the
 * same text, and nothing is read but the shipped scripts. One code path for
 * the three clouds; the per-cloud parts arrive in the input.
 */
export function renderCloudConfig(rawInput: HostBootInput): string {
  return renderResolvedCloudConfig(resolveBootInput(rawInput));
}

/**
 * Renders an input `resolveBootInput` already checked: for callers that check
 * once and render (`renderHostUserData`), never for unchecked input.
 */
export function renderResolvedCloudConfig(input: ResolvedBootInput): string {
  const memory = planMemory(input.memoryMiB);

  const files: WriteFile[] = [
    file("/etc/clawstack/host.conf", hostConf(input), "0600"),
    file("/etc/clawstack/nftables.conf", renderNftables(input), "0600"),
    file("/etc/systemd/system/clawstack-firewall.service", firewallUnit()),
    file("/etc/apt/apt.conf.d/52clawstack-unattended-upgrades", UNATTENDED_UPGRADES),
    ...["first-boot.sh", "mount-state.sh", "install-node.sh", "install-openclaw.sh", "gateway-config.sh", "gateway-token.sh", "tls.sh"].map(
      (name) => file(`${LIB}/${name}`, script(name), "0755"),
    ),
    ...tokenFiles(input),
    file(`${LIB}/nginx-clawstack.conf`, nginxSite()),
    file("/etc/systemd/system/nginx.service.d/clawstack.conf", nginxDropIn()),
    file("/etc/systemd/system/openclaw-token.service", tokenUnit()),
    file("/etc/systemd/system/openclaw-gateway.service", gatewayUnit(memory)),
    ...clawchatFiles(input, memory),
    ...registrationFiles(input),
    ...supportFiles(input),
    ...proxyDeviceFiles(input),
  ];
  if (memory.swapMiB !== null) {
    files.push(file("/etc/sysctl.d/60-clawstack-swap.conf", "vm.swappiness = 10\n"));
  }

  const config = {
    hostname: input.hostname,
    preserve_hostname: false,
    ssh_pwauth: false,
    disable_root: true,
    ...(input.ssh !== null && input.ssh.authorizedKeys.length > 0 ? { ssh_authorized_keys: input.ssh.authorizedKeys } : {}),
    package_update: true,
    package_upgrade: true,
    packages: ["ca-certificates", "curl", "nftables", "nginx", "openssl", "unattended-upgrades", "xz-utils"],
    ...(memory.swapMiB === null
      ? {}
      : { swap: { filename: "/swapfile", size: memory.swapMiB * 1024 * 1024, maxsize: memory.swapMiB * 1024 * 1024 } }),
    write_files: files,
    runcmd: [
      ...firstBootSteps(input),
      ...(input.proxyDevice === undefined ? [] : [["systemctl", "enable", "--now", PROXY_DEVICE_TIMER]]),
    ],
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}
