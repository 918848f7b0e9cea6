import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NodeSSH } from "node-ssh";
import { openSealed } from "../core/zero-access/sealed-box.js";
import { signGrant, type SignedGrant } from "../core/zero-access/support-grant.js";
import { exportUserPublicKey, generateUserKeyPair, type UserKeyPair, type UserPublicKey } from "../core/zero-access/user-keys.js";
import { HOST_FROM_GUEST } from "./paths.js";
import { answers } from "./probe.js";
import type { SupportApiStandIn } from "./services/support-api.js";

/** The agent's poll interval as cloud-init renders it (cloud-init/support.ts), and the margin a check waits on top. */
const POLL_MS = 30_000;
const MARGIN_MS = 15_000;

export interface DeviceKey {
  pair: UserKeyPair;
  publicKey: UserPublicKey;
}

/** The user's device key pinned in the booted host, and one that is not. */
export interface SupportKeys {
  owner: DeviceKey;
  stranger: DeviceKey;
  /** The operator's SSH key (ed25519, made with ssh-keygen) and its public line. */
  sshKeyPath: string;
  sshPublicLine: string;
}

export async function makeSupportKeys(dir: string): Promise<SupportKeys> {
  const device = async (): Promise<DeviceKey> => {
    const pair = await generateUserKeyPair({ extractable: false });
    return { pair, publicKey: await exportUserPublicKey(pair) };
  };
  const sshKeyPath = join(dir, "support_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", sshKeyPath]);
  return {
    owner: await device(),
    stranger: await device(),
    sshKeyPath,
    sshPublicLine: readFileSync(`${sshKeyPath}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" "),
  };
}

export interface SupportCheckContext {
  instanceId: string;
  /** The host port forwarded to the guest's 22. */
  sshPort: number;
  api: SupportApiStandIn;
  keys: SupportKeys;
  /** Whether the host runs a ClawChat server (then its sealed keys must arrive). */
  clawchat: boolean;
  check: (name: string, ok: boolean, detail: string) => void;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(1000);
  }
  return false;
}

/**
 * The checks of `--support-access` (docs/boot.md) against a booted host: the
 * same cases as tests/support/ on loopback, through QEMU's forwarded
 * port 22, with the host's real agent, sshd, wrapper and nftables. Forwarded
 * connections reach the guest from 10.0.2.2, the grants' source. Each check is
 * recorded; none is skipped silently.
 */
export async function runSupportChecks(ctx: SupportCheckContext): Promise<void> {
  const { api, keys, check } = ctx;
  const grant = (signer: DeviceKey, options: { notBefore?: Date; notAfter?: Date } = {}): Promise<SignedGrant> =>
    signGrant(
      { instanceId: ctx.instanceId, supportKeys: [keys.sshPublicLine], sources: [`${HOST_FROM_GUEST}/32`], reason: "boot test", ...options },
      { publicKey: signer.publicKey, signingKey: signer.pair.signing.privateKey },
    );
  const login = async (): Promise<NodeSSH> => {
    const ssh = new NodeSSH();
    await ssh.connect({ host: "127.0.0.1", port: ctx.sshPort, username: "clawsupport", privateKeyPath: keys.sshKeyPath, readyTimeout: 60_000 });
    return ssh;
  };
  const pollsPass = async (count: number) => {
    const target = api.polls + count;
    return until(() => api.polls >= target, count * POLL_MS + MARGIN_MS);
  };

  check("support.agentPolls", await pollsPass(1), `the agent asked for grants (${api.polls} polls)`);
  check("support.noGrantPort22Silent", !(await answers(ctx.sshPort)), "no grant: nothing answers on 22");

  // Refused grants: a key that is not pinned, an ended grant.
  const now = Date.now();
  api.grants = [
    { id: "stranger", ...(await grant(keys.stranger)) },
    { id: "expired", ...(await grant(keys.owner, { notBefore: new Date(now - 2 * 3600_000), notAfter: new Date(now - 3600_000) })) },
  ];
  await pollsPass(2);
  check("support.foreignAndExpiredRefused", !(await answers(ctx.sshPort)), "a grant signed by another key and an expired one: 22 stays silent");

  // A grant signed by the user.
  const valid = { id: "boot-grant", ...(await grant(keys.owner, { notAfter: new Date(Date.now() + 20 * 60_000) })) };
  api.grants = [valid];
  const opened = await until(() => answers(ctx.sshPort), POLL_MS + MARGIN_MS);
  let ssh: NodeSSH | undefined;
  try {
    ssh = opened ? await login() : undefined;
    const result = ssh ? await ssh.execCommand("uptime") : undefined;
    check("support.grantLogin", result?.code === 0 && /load average/.test(result.stdout), result ? `uptime exit ${result.code}` : opened ? "login failed" : "22 never opened");
    const audited = await until(() => api.commands.some((entry) => entry.commandLine === "uptime" && entry.exitStatus === 0 && entry.stdoutBytes > 0), 30_000);
    check("support.commandAudited", audited, audited ? "uptime arrived at the API with exit 0 and its byte counts" : `records: ${api.commands.length}`);
    let escaped = 0;
    const attempts = ["uptime; id", "$(id)", "`id`", "uptime | sh", "/bin/sh", "../../bin/sh", "uptime\nid"];
    for (const command of attempts) {
      const attempt = ssh ? await ssh.execCommand(command) : undefined;
      if (!attempt || attempt.code !== 126 || /uid=\d+/.test(attempt.stdout)) escaped += 1;
    }
    const pty = ssh ? await ssh.execCommand("id", { execOptions: { pty: true } }).then(() => "granted", (error: Error) => error.message) : "no session";
    const sftp = ssh ? await ssh.requestSFTP().then(() => "opened", () => "refused") : "no session";
    check("support.noShell", ssh !== undefined && escaped === 0 && /pseudo-terminal/.test(pty) && sftp === "refused", `${attempts.length - escaped}/${attempts.length} escapes refused; pty: ${pty}; sftp: ${sftp}`);
  } catch (error) {
    check("support.grantLogin", false, (error as Error).message);
  } finally {
    ssh?.dispose();
  }

  if (ctx.clawchat) {
    const arrived = await until(() => api.boxes.length > 0, POLL_MS + MARGIN_MS);
    let opens = false;
    if (arrived) {
      const box = api.boxes[api.boxes.length - 1]!;
      const plain = await openSealed(box, { publicKey: keys.owner.publicKey, sealingKey: keys.owner.pair.sealing.privateKey }, `clawchat-keys:${ctx.instanceId}`).catch(() => undefined);
      opens = plain !== undefined && /"bootstrapKey"/.test(new TextDecoder().decode(plain));
    }
    check("support.clawchatKeysSealed", opens, arrived ? (opens ? "the box opens with the user's key" : "the box does not open") : "no box arrived");
  }

  // Revocation: within a minute, and the open session closed.
  try {
    const session = await login();
    const shell = await session.requestShell(false);
    const closed = new Promise<number>((resolve) => {
      shell.on("close", () => resolve(Date.now()));
      session.connection!.on("close", () => resolve(Date.now()));
    });
    const revokedAt = Date.now();
    api.grants = [];
    api.revoked = [valid.id];
    const closedAt = await Promise.race([closed, sleep(90_000).then(() => undefined)]);
    const silent = await until(async () => !(await answers(ctx.sshPort)), 30_000);
    check("support.revokedWithinAMinute", closedAt !== undefined && closedAt - revokedAt <= 60_000 && silent,
      closedAt ? `session closed ${Math.round((closedAt - revokedAt) / 1000)} s after the revocation; 22 silent: ${silent}` : "the session stayed open");
    session.dispose();
  } catch (error) {
    check("support.revokedWithinAMinute", false, (error as Error).message);
  }

  // The revoked grant again, under a new id: its nonce is spent.
  api.revoked = [];
  api.grants = [{ ...valid, id: "boot-grant-replay" }];
  await pollsPass(2);
  check("support.replayRefused", !(await answers(ctx.sshPort)), "the same signed grant offered again: 22 stays silent");

  // The end of a grant with the API unreachable.
  const end = new Date(Date.now() + POLL_MS * 3);
  api.grants = [{ id: "boot-short", ...(await grant(keys.owner, { notAfter: end })) }];
  const up = await until(() => answers(ctx.sshPort), POLL_MS + MARGIN_MS);
  try {
    const session = up ? await login() : undefined;
    const shell = session ? await session.requestShell(false) : undefined;
    const closed = new Promise<number>((resolve) => {
      shell?.on("close", () => resolve(Date.now()));
      session?.connection!.on("close", () => resolve(Date.now()));
    });
    api.down = true;
    const closedAt = session ? await Promise.race([closed, sleep(end.getTime() - Date.now() + 60_000).then(() => undefined)]) : undefined;
    const silent = await until(async () => !(await answers(ctx.sshPort)), 30_000);
    check("support.expiryWithoutApi", closedAt !== undefined && closedAt >= end.getTime() - 2000 && closedAt <= end.getTime() + 15_000 && silent,
      closedAt ? `session closed ${Math.round((closedAt - end.getTime()) / 1000)} s after the grant's end, the API unreachable; 22 silent: ${silent}` : up ? "the session stayed open" : "22 never opened");
    session?.dispose();
  } catch (error) {
    check("support.expiryWithoutApi", false, (error as Error).message);
  } finally {
    api.down = false;
    api.grants = [];
  }
  ctx.log(`support: ${api.commands.length} command records uploaded, ${api.polls} polls`);
}
