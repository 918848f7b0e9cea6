/**
 * The host side of support access (docs/zero-access.md): the files cloud-init
 * writes when the input has `supportAccess`. The agent and the forced-command
 * wrapper are one bundle (support/, built by support/build.mjs); everything
 * else here is small text: the pinned keys, the agent's settings, its systemd
 * unit, and the launcher sshd runs as the forced command.
 */
import { createHash } from "node:crypto";
import { CLAWCHAT_SECURITY_DIR, STATE_MOUNT } from "./units.js";
import type { ResolvedBootInput } from "./validate.js";

const LIB = "/usr/local/lib/clawstack";
export const SUPPORT_BUNDLE_PATH = `${LIB}/clawstack-support.js`;
export const SUPPORT_SHELL_PATH = `${LIB}/support-shell`;
export const SUPPORT_AGENT_CONFIG = "/etc/clawstack/support/agent.json";
/** Where a host that fetches its agent finds the URL and the pinned SHA-256 (support-agent-fetch.sh sources it). */
export const SUPPORT_AGENT_SOURCE = "/etc/clawstack/support/agent-source.conf";
export const USER_KEYS_PATH = "/etc/clawstack/user-keys.json";
export const HOST_TOKEN_PATH = "/etc/clawstack/host-token";
export const SUPPORT_USER = "clawsupport";
export const SUPPORT_POLL_SECONDS = 30;
/**
 * The agent's state (spent nonces, installed grants, upload position) lives on the state disk, so a
 * replacement host still refuses a grant the old one already used.
 */
export const SUPPORT_STATE_DIR = `${STATE_MOUNT}/support`;
const NODE = "/usr/local/bin/node";

/** `'value'` for a POSIX shell. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The forced command: starts the wrapper under an empty environment but for
 * the two values sshd sets for it (so NODE_OPTIONS, LD_* or anything a client
 * sends never reaches Node or a command). `SSH_ORIGINAL_COMMAND` is passed
 * only when set: unset means an interactive session.
 */
export function supportShellLauncher(options: { node: string; bundle: string; config: string } = { node: NODE, bundle: SUPPORT_BUNDLE_PATH, config: SUPPORT_AGENT_CONFIG }): string {
  const tail = `${quote(options.node)} --max-old-space-size=64 ${quote(options.bundle)} shell --config ${quote(options.config)} "$@"`;
  return `#!/bin/sh
# ClawStack support: the forced command of every support session (docs/zero-access.md, "Forced command").
# No shell is ever offered: the wrapper runs allow-listed commands only.
if [ "\${SSH_ORIGINAL_COMMAND+set}" = set ]; then
  exec /usr/bin/env -i "SSH_ORIGINAL_COMMAND=$SSH_ORIGINAL_COMMAND" "SSH_USER_AUTH=\${SSH_USER_AUTH:-}" ${tail}
fi
exec /usr/bin/env -i "SSH_USER_AUTH=\${SSH_USER_AUTH:-}" ${tail}
`;
}

/** SHA-256 (hex) of the support bundle: what user-data pins when the agent is fetched. */
export function supportBundleSha256(bundle: Buffer): string {
  return createHash("sha256").update(bundle).digest("hex");
}

/** The fetched agent's source: its https:// URL (checked by the renderer's guard) and the SHA-256 it must have. */
export function supportAgentSource(url: string, bundle: Buffer): string {
  return `# Rendered by ClawStack: where the support agent is fetched at first boot, and the SHA-256 it must have.
SUPPORT_AGENT_URL=${quote(url)}
SUPPORT_AGENT_SHA256=${quote(supportBundleSha256(bundle))}
`;
}

/** /etc/clawstack/support/agent.json: what differs per host (paths and commands are the agent's defaults). */
export function supportAgentConfig(input: ResolvedBootInput): string {
  const access = input.supportAccess!;
  return `${JSON.stringify(
    {
      apiUrl: access.apiUrl,
      pollSeconds: SUPPORT_POLL_SECONDS,
      supportUser: SUPPORT_USER,
      // The stack keeps SSH closed: sshd runs only while a grant is active, for the support user only.
      sshManaged: input.ssh === null,
      ...(input.clawchatBundle.kind === "disabled" ? {} : { clawchatSecurityDir: CLAWCHAT_SECURITY_DIR }),
      paths: { stateDir: SUPPORT_STATE_DIR },
    },
    null,
    2,
  )}\n`;
}

/** /etc/clawstack/user-keys.json: the device keys pinned at creation, and the instance they belong to. */
export function userKeysFile(input: ResolvedBootInput): string {
  return `${JSON.stringify({ instanceId: input.registration!.instanceId, keys: input.supportAccess!.pinnedKeys.map(({ signing, sealing }) => ({ signing, sealing })) }, null, 2)}\n`;
}

/**
 * The agent's unit. It is root (it edits sshd's config and the firewall), so
 * it is confined by what it may write and which capabilities it keeps:
 * CAP_NET_ADMIN (nft), CAP_KILL (ending the support user's sessions),
 * CAP_CHOWN (its socket's group), CAP_DAC_READ_SEARCH (reading the ClawChat
 * keys, owned by openclaw), CAP_LINUX_IMMUTABLE (the command log's append-only
 * flag). Starting and stopping ssh.service goes through systemd.
 * Not set: ProtectProc=invisible (pkill must see the support user's
 * processes), MemoryDenyWriteExecute (V8's JIT).
 */
export function supportAgentUnit(): string {
  return `[Unit]
Description=ClawStack support agent (support grants signed by the user: docs/zero-access.md)
Wants=network-online.target
After=network-online.target clawstack-firewall.service
RequiresMountsFor=${STATE_MOUNT}

[Service]
Type=simple
ExecStart=${NODE} --use-openssl-ca --max-old-space-size=96 ${SUPPORT_BUNDLE_PATH} agent --config ${SUPPORT_AGENT_CONFIG}
Restart=always
RestartSec=5
MemoryMax=192M
RuntimeDirectory=clawstack
RuntimeDirectoryMode=0755
LogsDirectory=clawstack
LogsDirectoryMode=0700
ReadWritePaths=/etc/clawstack/support /etc/ssh/sshd_config.d ${SUPPORT_STATE_DIR}
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
NoNewPrivileges=yes
CapabilityBoundingSet=CAP_NET_ADMIN CAP_KILL CAP_CHOWN CAP_DAC_READ_SEARCH CAP_LINUX_IMMUTABLE
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}
