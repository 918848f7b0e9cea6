/**
 * Every API and worker process's key heartbeat. Each beat (every
 * `CLAWSTACK_KEY_RELOAD_MS`, at most 5 s, and at once on SIGHUP via
 * `reloadNow`):
 *
 *   1. re-reads the key sources (master keyring or KMS lists, JWT key set)
 *      unless reloading is off (`CLAWSTACK_KEY_RELOAD_MS=0`: SIGHUP only);
 *   2. writes this process's row in `key_holders` (versions held, write
 *      version, JWT key ids, last seen);
 *   3. reads the live rows and the retired versions and agrees on the write
 *      version (and JWT signing version): the highest every live process holds
 *      and nobody retired (key-holders.ts `agreeVersion`). A process whose
 *      write version was retired stops writing with it at this beat; when no
 *      version qualifies it refuses to wrap.
 *
 * A wrap after the last good beat went stale (a paused process waking up)
 * is refused (503) while a beat runs, so it never writes with a version
 * retired meanwhile.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { JwtKeySet } from "../auth/jwt-keys";
import type { Database, KeyHoldersTable } from "../db/schema";
import { HttpError } from "../http/errors";
import {
  agreeVersion,
  heartbeatMs,
  forgetOldHolders,
  isLive,
  listHolders,
  listRetired,
  markStopped,
  staleAfterMs,
  upsertHolder,
} from "./key-holders";
import type { ReloadingKeyWrapper } from "./reloading-key-wrapper";

interface Logger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface KeyHeartbeatOptions {
  db: Kysely<Database>;
  kind: "api" | "worker";
  wrapper: ReloadingKeyWrapper;
  /** The JWT key set (API processes; workers sign nothing). */
  jwt?: JwtKeySet;
  reloadMs: number;
  accessTokenTtlSeconds?: number;
  logger: Logger;
}

/** How often a process deletes rows of processes long gone. */
const FORGET_EVERY_MS = 3600_000;

export class KeyHeartbeat {
  readonly processId: string;
  readonly intervalMs: number;
  readonly staleMs: number;
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  /** One beat at a time; the next waits for the running one. */
  private running: Promise<void> = Promise.resolve();
  private lastGoodBeat = 0;
  private jwtWriteVersion: number | undefined;
  private jwtWriteSince: string | null = null;
  private stopped = false;
  private lastForget = 0;

  constructor(private readonly options: KeyHeartbeatOptions) {
    this.processId = `${options.kind}-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.intervalMs = heartbeatMs(options.reloadMs);
    this.staleMs = staleAfterMs(options.reloadMs);
    // The wrap may run inside a transaction that holds the only SQLite connection, so it cannot beat here:
    // it refuses (503, retry) and beats in the background; the retry writes with what that beat agreed.
    options.wrapper.beforeWrite = async () => {
      if (this.stopped || Date.now() - this.lastGoodBeat <= this.staleMs / 2) return;
      void this.beat(this.options.reloadMs > 0);
      throw new HttpError(503, "this process has not confirmed its master key versions recently (paused or cut off from the database); retry in a moment");
    };
  }

  /** First beat (throws if the database refuses it), then one every `intervalMs`. */
  async start(): Promise<void> {
    await this.beat(false, true);
    this.timer = setInterval(() => void this.beat(this.options.reloadMs > 0).catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  /** Re-reads every key source now and reports (SIGHUP). */
  reloadNow(): Promise<void> {
    return this.beat(true);
  }

  /** Stops beating and marks the row stopped (the CLI no longer waits for this process). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await this.running.catch(() => undefined);
    await markStopped(this.options.db, this.processId, new Date().toISOString()).catch((error: unknown) =>
      this.options.logger.warn({ err: { message: (error as Error).message } }, "could not mark this process's key heartbeat stopped"),
    );
  }

  /** One beat; `reload`: re-read the key sources first. Errors are logged (and thrown when `rethrow`). */
  beat(reload: boolean, rethrow = false): Promise<void> {
    const next = this.running.then(() => this.beatOnce(reload));
    this.running = next.catch(() => undefined);
    return next.catch((error: unknown) => {
      this.options.logger.warn({ err: { message: (error as Error).message } }, "key heartbeat failed; keeping the keys held");
      if (rethrow) throw error;
    });
  }

  private async beatOnce(reload: boolean): Promise<void> {
    const { db, wrapper, jwt, logger } = this.options;
    if (reload) {
      if (wrapper.reload()) logger.info({ versions: wrapper.heldVersions() }, "master key sources changed: keys reloaded");
      if (jwt?.reload()) logger.info({ versions: jwt.held() }, "JWT key set changed: keys reloaded");
    }
    await this.write();
    const now = Date.now();
    if (now - this.lastForget > FORGET_EVERY_MS) {
      this.lastForget = now;
      await forgetOldHolders(db, now);
    }
    const live = (await listHolders(db)).filter((holder) => holder.processId !== this.processId && isLive(holder, this.staleMs, now));
    const kind = wrapper.kind;
    const retired = await listRetired(db, `master:${kind}`);
    const mine = wrapper.primaryVersions();
    const write = agreeVersion(
      mine,
      live.filter((holder) => holder.wrapKind === kind).map((holder) => holder.keyVersions[kind] ?? []),
      retired,
    );
    const before = wrapper.currentVersion();
    wrapper.agree(
      write,
      write === undefined
        ? `no ${kind} master key version is both held by every live process and not retired (this process holds ${mine.join(", ")}); it refuses to store new secrets until its keys are reloaded`
        : undefined,
    );
    if (write === undefined) logger.error({ held: mine, retired: [...retired] }, "no usable master key version to write with: refusing to wrap");
    else if (write !== before) logger.info({ version: write }, "now wrapping new data keys under this master key version");
    if (jwt) {
      const jwtRetired = await listRetired(db, "jwt");
      const sign = agreeVersion(
        jwt.held(),
        live.filter((holder) => holder.kind === "api").map((holder) => holder.jwtVersions ?? []),
        jwtRetired,
      );
      jwt.agree(sign, jwtRetired);
      const signing = jwt.signing().version;
      if (this.jwtWriteVersion !== undefined && signing !== this.jwtWriteVersion) {
        logger.info({ kid: signing }, "now signing access tokens with this JWT key");
        this.jwtWriteSince = new Date().toISOString();
      }
      this.jwtWriteVersion = signing;
    }
    await this.write();
    this.lastGoodBeat = Date.now();
  }

  private async write(): Promise<void> {
    const { db, kind, wrapper, jwt } = this.options;
    const at = new Date().toISOString();
    const row: KeyHoldersTable = {
      process_id: this.processId,
      kind,
      host: hostname(),
      pid: process.pid,
      started_at: this.startedAt,
      last_seen: at,
      stopped_at: this.stopped ? at : null,
      wrap_kind: wrapper.kind,
      key_versions: JSON.stringify(wrapper.heldVersions()),
      write_version: wrapper.refusing() ? null : wrapper.currentVersion(),
      jwt_versions: jwt ? JSON.stringify(jwt.held()) : null,
      jwt_write_version: jwt ? jwt.signing().version : null,
      jwt_write_since: jwt ? this.jwtWriteSince : null,
    };
    await upsertHolder(db, row);
  }
}
