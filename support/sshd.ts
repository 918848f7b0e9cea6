/**
 * What the agent writes for sshd while a grant is active: the support user's
 * authorized_keys (one line per support key, with OpenSSH's own expiry and
 * source checks) and the sshd drop-in that confines the support user.
 */
import type { SupportGrant } from "../core/zero-access/support-grant.js";

/** `YYYYMMDDHHMMSSZ` (UTC), the `expiry-time` form sshd reads; seconds are cut, never rounded up. */
export function sshExpiryTime(iso: string): string {
  const date = new Date(Math.floor(Date.parse(iso) / 1000) * 1000);
  return date.toISOString().replace(/[-:T]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/** A grant id as it may appear in a forced command and a log (the API's ids are opaque to the host). */
export const GRANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface InstalledGrant {
  id: string;
  grant: SupportGrant;
}

/**
 * One line per support key of every active grant:
 * `restrict,expiry-time="...",from="<sources>",command="<wrapper> <grantId>" <key>`.
 * `restrict` turns off forwarding of every kind, the agent, X11, the pty and ~/.ssh/rc.
 */
export function authorizedKeys(grants: readonly InstalledGrant[], wrapper: string): string {
  const lines = ["# Written by the ClawStack support agent: the active support grants. Removed at their end."];
  for (const { id, grant } of grants) {
    if (!GRANT_ID_PATTERN.test(id)) throw new Error(`grant id ${JSON.stringify(id)} does not qualify`);
    for (const key of grant.supportKeys) {
      lines.push(`restrict,expiry-time="${sshExpiryTime(grant.notAfter)}",from="${grant.sources.join(",")}",command="${wrapper} ${id}" ${key}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export interface DropInOptions {
  user: string;
  authorizedKeysFile: string;
  wrapper: string;
  /** True when sshd runs only for support (the stack keeps SSH closed): then only the support user may log in. */
  supportOnly: boolean;
}

/**
 * The sshd drop-in (sshd_config.d is included first, so its global lines win):
 * the support user authenticates only with the agent's file, and every
 * session runs the wrapper whatever the client asks (ForceCommand also covers
 * subsystems such as sftp). `ExposeAuthInfo` lets the wrapper name the key
 * that logged in. No forwarding, tunnels, agent, X11 or pty.
 */
export function sshdDropIn(options: DropInOptions): string {
  return [
    "# Written by the ClawStack support agent while a support grant is active; removed at its end.",
    "PermitUserEnvironment no",
    ...(options.supportOnly ? [`AllowUsers ${options.user}`] : []),
    `Match User ${options.user}`,
    `    AuthorizedKeysFile ${options.authorizedKeysFile}`,
    "    AuthorizedKeysCommand none",
    "    AuthorizedPrincipalsFile none",
    "    AuthenticationMethods publickey",
    "    PubkeyAuthentication yes",
    "    PasswordAuthentication no",
    "    KbdInteractiveAuthentication no",
    `    ForceCommand ${options.wrapper}`,
    "    ExposeAuthInfo yes",
    "    PermitTTY no",
    "    PermitUserRC no",
    "    AllowTcpForwarding no",
    "    AllowStreamLocalForwarding no",
    "    AllowAgentForwarding no",
    "    X11Forwarding no",
    "    PermitTunnel no",
    "    PermitOpen none",
    "    PermitListen none",
    "    GatewayPorts no",
    "    MaxSessions 4",
    "    ClientAliveInterval 15",
    "    ClientAliveCountMax 4",
    "",
  ].join("\n");
}
