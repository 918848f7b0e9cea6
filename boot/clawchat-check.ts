/**
 * The ClawChat round trip of a booted host (docs/boot.md): the user's copy of
 * the server's security file and bootstrap key comes the way it reaches a real
 * user, sealed by the host to the pinned device key (boot/services/support-api.ts
 * records the box; zero access, docs/zero-access.md). The harness opens it with
 * the run's owner key, forwards the server's UDP ports from 127.0.0.1 (QEMU's
 * monitor, since the ports are known only once the host has made its file and
 * started its server) and
 * chats with the real ClawChat client: the server relays to the real gateway's
 * `/v1/chat/completions` on loopback, which asks the stand-in model. The files
 * stay in the run folder (mode 600) so the next boot reconnects with them, as
 * a user's client does after a replacement.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClawChatClient } from "../clawchat/src/client.js";
import { SystemClock } from "../clawchat/src/clock.js";
import { decryptSecurityFile } from "../clawchat/src/security-file.js";
import { openSealed } from "../core/zero-access/sealed-box.js";
import type { SealedBox } from "../core/zero-access/sealed-box.js";
import { hostfwdAdd } from "./qemu.js";
import { freePort } from "./services/process.js";
import type { SupportKeys } from "./support-checks.js";

/** A round trip under TCG takes under a minute; the client itself retries longer than a boot should wait. */
const ROUND_TRIP_TIMEOUT_MS = 180_000;

export interface ClawChatFiles {
  securityFile: string;
  bootstrapKey: string;
}

/** Opens the newest box the host sealed to the owner's key and writes the two files into `dir`. */
export async function openClawChatBox(box: SealedBox, keys: SupportKeys, instanceId: string, dir: string): Promise<ClawChatFiles> {
  const plain = await openSealed(box, { publicKey: keys.owner.publicKey, sealingKey: keys.owner.pair.sealing.privateKey }, `clawchat-keys:${instanceId}`);
  const { securityFile, bootstrapKey } = JSON.parse(new TextDecoder().decode(plain)) as { securityFile: string; bootstrapKey: string };
  plain.fill(0);
  const files = { securityFile: join(dir, "clawchat.sec"), bootstrapKey: join(dir, "bootstrap.key") };
  writeFileSync(files.securityFile, securityFile, { mode: 0o600 });
  writeFileSync(files.bootstrapKey, `${bootstrapKey}\n`, { mode: 0o600 });
  return files;
}

/** The server's UDP port named in the security file (decrypted with the bootstrap key, as the client does). */
async function serverPort(files: ClawChatFiles): Promise<number> {
  const key = Buffer.from(readFileSync(files.bootstrapKey, "utf8").trim(), "base64");
  const content = await decryptSecurityFile(readFileSync(files.securityFile, "utf8"), key, files.securityFile);
  key.fill(0);
  return content.server_udp_port;
}

/**
 * Forwards the server's ports, connects and sends one message; the answer must
 * be the stand-in model's phrase (compared by SHA-256, never printed).
 *
 * The home port (the file's) takes any free host port. The data port, which the
 * server announces in the WELCOME and the client then sends to at the same
 * address, is forwarded with the same number on both sides of QEMU's NAT:
 * `dataPort` asks the guest which one this boot's server drew.
 */
export async function clawchatRoundTrip(
  files: ClawChatFiles,
  monitorSocket: string,
  expectedAnswer: string,
  dataPort: () => Promise<number | undefined>,
): Promise<{ ok: boolean; detail: string }> {
  const guestPort = await serverPort(files);
  const guestDataPort = await dataPort();
  if (guestDataPort === undefined) return { ok: false, detail: `guest UDP ${guestPort}: the server's data port is not in its journal (not started?)` };
  const hostPort = await freePort();
  try {
    await hostfwdAdd(monitorSocket, "udp", hostPort, guestPort);
    await hostfwdAdd(monitorSocket, "udp", guestDataPort, guestDataPort);
  } catch (error) {
    return { ok: false, detail: `guest UDP ${guestPort}/${guestDataPort}: ${(error as Error).message.slice(0, 160)}` };
  }
  const started = Date.now();
  let client: ClawChatClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ROUND_TRIP_TIMEOUT_MS / 1000} s`)), ROUND_TRIP_TIMEOUT_MS);
  });
  try {
    const answer = await Promise.race([deadline, (async () => {
      client = await ClawChatClient.open(files.securityFile, files.bootstrapKey, { clock: new SystemClock(), server: { host: "127.0.0.1", port: hostPort } });
      return client.chat(`boot check ${Date.now()}`);
    })()]);
    const same = createHash("sha256").update(answer).digest("hex") === createHash("sha256").update(expectedAnswer).digest("hex");
    return { ok: same, detail: `guest UDP ${guestPort}, data ${guestDataPort}: answer ${same ? "is" : "is NOT"} the stand-in model's, ${Date.now() - started} ms` };
  } catch (error) {
    return { ok: false, detail: `guest UDP ${guestPort}: ${(error as Error).message.slice(0, 160)}` };
  } finally {
    clearTimeout(timer);
    await (client as ClawChatClient | undefined)?.close().catch(() => undefined);
  }
}
