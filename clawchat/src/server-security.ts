/**
 * The server's security directory (protocol §10): the bootstrap key, the
 * current security file and its shared secret, and re-issuing a new file (new
 * secret, old files deleted) on expiry or compromise.
 */
import { promises as fs } from "node:fs";
import { basename, join } from "node:path";
import { ConfigError } from "./errors";
import { deriveHandshakeKey, wipe } from "./keys";
import type { ServerContext } from "./server-session";
import { checkSecurityDirectory, issueSecurityFile, listSecurityFiles, loadSecurityFile, readBootstrapKey } from "./security-dir";
import { BOOTSTRAP_KEY_FILE, checkValidity, DEFAULT_ITERATIONS, type SecurityFileContent } from "./security-file";
import type { TimerHandle } from "./clock";

export class SecurityFiles {
  file!: { path: string; content: SecurityFileContent };
  sharedSecret: Buffer = Buffer.alloc(0);
  handshakeKey: Buffer = Buffer.alloc(0);
  /** Resolves once the re-issue in flight (compromise, expiry) has finished. */
  rotating: Promise<void> = Promise.resolve();
  private bootstrapKey: Buffer = Buffer.alloc(0);
  private expiryTimer?: TimerHandle;
  private scheduling = false;

  constructor(
    private readonly context: ServerContext,
    private readonly dir: string,
    private readonly iterations = DEFAULT_ITERATIONS,
  ) {}

  /** Checks the directory and files, loads the newest file (re-issuing it if expired). */
  async load(): Promise<void> {
    await checkSecurityDirectory(this.dir);
    this.bootstrapKey = await readBootstrapKey(join(this.dir, BOOTSTRAP_KEY_FILE));
    const [newest] = await listSecurityFiles(this.dir);
    if (!newest) throw new ConfigError("dir", `\`--dir\` ${this.dir} holds no clawchat-*.sec file; run \`clawchat init --dir ${this.dir}\``);
    this.file = await loadSecurityFile(newest, this.bootstrapKey);
    try {
      checkValidity(this.file.content, this.context.clock.now(), basename(newest));
    } catch {
      await this.reissue("expired");
    }
    this.useSecret(Buffer.from(this.file.content.shared_secret, "base64"));
  }

  /** From now on, issues the next file at `valid_until` (running sessions are not affected). */
  startExpiry(): void {
    this.scheduling = true;
    this.scheduleExpiry();
  }

  /**
   * Writes a new security file (new shared secret, same server identity and
   * bootstrap key), then deletes every other `.sec` file; new HELLOs must use
   * the new secret. Established sessions keep their own keys.
   */
  async reissue(reason: "expired" | "compromised"): Promise<void> {
    const content = this.file.content;
    const issued = await issueSecurityFile(this.dir, this.bootstrapKey, {
      serverIp: content.server_public_ip,
      port: content.server_udp_port,
      name: content.server_name,
      serverId: content.server_id,
      validitySeconds: content.valid_until - content.valid_from,
      iterations: this.iterations,
      nowMs: this.context.clock.now(),
    });
    const deleted: string[] = [];
    for (const path of await listSecurityFiles(this.dir)) {
      if (path === issued.path) continue;
      await fs.rm(path, { force: true });
      deleted.push(basename(path));
    }
    this.file = issued;
    if (this.sharedSecret.length > 0) this.useSecret(Buffer.from(issued.content.shared_secret, "base64"));
    this.context.logger.log("warn", "security_file_issued", { reason, file: basename(issued.path), deleted: deleted.join(",") });
    if (this.scheduling) this.scheduleExpiry();
  }

  /** Queues work after any re-issue in flight; a failure is logged, never thrown. */
  enqueue(work: () => Promise<void>): void {
    this.rotating = this.rotating.then(work).catch((error: unknown) => {
      this.context.logger.log("error", "security_event", { kind: "reissue_failed", reason: error instanceof Error ? error.message : "unknown" });
    });
  }

  wipe(): void {
    wipe(this.sharedSecret, this.handshakeKey, this.bootstrapKey);
  }

  private useSecret(secret: Buffer): void {
    wipe(this.sharedSecret, this.handshakeKey);
    this.sharedSecret = secret;
    this.handshakeKey = deriveHandshakeKey(secret);
  }

  private scheduleExpiry(): void {
    this.context.disarm(this.expiryTimer);
    const due = this.file.content.valid_until * 1000 - this.context.clock.now();
    this.expiryTimer = this.context.arm(() => this.enqueue(() => this.reissue("expired")), Math.max(0, due));
  }
}
