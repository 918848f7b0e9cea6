/**
 * Which process holds which keys: the heartbeat rows (`key_holders`), the
 * retired versions (`key_retirements`), and the rules built on them.
 *
 * - A process writes with the highest version that every live process of
 *   its wrap kind holds and nobody retired (`agreeVersion`): a version added
 *   to one process's source is used only once all of them can unwrap it.
 * - `master-key rewrap | retire` refuse while a live process does not hold
 *   the current version or writes with another one (`masterKeyBlockers`).
 * - `jwt retire <v>` refuses while a token signed with `v` may still be valid
 *   (`jwtRetireBlockers`), `jwt rotate` while the last rotation has not reached
 *   every live API process (`jwtRotateBlockers`).
 */
import type { Kysely } from "kysely";
import type { Database, KeyHoldersTable } from "../db/schema";

type Db = Kysely<Database>;

/** A heartbeat row, parsed. */
export interface KeyHolder {
  processId: string;
  kind: "api" | "worker";
  host: string;
  pid: number;
  lastSeen: string;
  stoppedAt: string | null;
  wrapKind: string;
  keyVersions: Record<string, number[]>;
  writeVersion: number | null;
  jwtVersions: number[] | null;
  jwtWriteVersion: number | null;
  jwtWriteSince: string | null;
}

/** How often a process reports; it re-reads its key files at the same pace (`CLAWSTACK_KEY_RELOAD_MS`, at most 5 s). */
export function heartbeatMs(reloadMs: number): number {
  return reloadMs > 0 ? Math.min(reloadMs, 5_000) : 5_000;
}

/** A row not refreshed for this long belongs to a process that is gone (crashed, paused, cut off). */
export function staleAfterMs(reloadMs: number): number {
  return 3 * heartbeatMs(reloadMs) + 2_000;
}

/** Rows older than this are deleted (a crashed process's row, kept long enough to explain refusals). */
const FORGET_AFTER_MS = 24 * 3600_000;

export async function upsertHolder(db: Db, row: KeyHoldersTable): Promise<void> {
  const { process_id: _id, started_at: _started, ...changes } = row;
  const updated = await db.updateTable("key_holders").set(changes).where("process_id", "=", row.process_id).executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) await db.insertInto("key_holders").values(row).execute();
}

export async function markStopped(db: Db, processId: string, at: string): Promise<void> {
  await db.updateTable("key_holders").set({ stopped_at: at, last_seen: at }).where("process_id", "=", processId).execute();
}

/** Deletes rows not seen for `FORGET_AFTER_MS` (the heartbeat does, now and then). */
export async function forgetOldHolders(db: Db, now = Date.now()): Promise<void> {
  await db.deleteFrom("key_holders").where("last_seen", "<", new Date(now - FORGET_AFTER_MS).toISOString()).execute();
}

/** Every row (reads only: the CLI polls it while the API writes). */
export async function listHolders(db: Db): Promise<KeyHolder[]> {
  const rows = await db.selectFrom("key_holders").selectAll().orderBy("process_id").execute();
  return rows.map((row) => ({
    processId: row.process_id,
    kind: row.kind,
    host: row.host,
    pid: Number(row.pid),
    lastSeen: row.last_seen,
    stoppedAt: row.stopped_at,
    wrapKind: row.wrap_kind,
    keyVersions: JSON.parse(row.key_versions) as Record<string, number[]>,
    writeVersion: row.write_version === null ? null : Number(row.write_version),
    jwtVersions: row.jwt_versions === null ? null : (JSON.parse(row.jwt_versions) as number[]),
    jwtWriteVersion: row.jwt_write_version === null ? null : Number(row.jwt_write_version),
    jwtWriteSince: row.jwt_write_since,
  }));
}

/** Running and reporting: not stopped, seen within `staleMs`. */
export function isLive(holder: KeyHolder, staleMs: number, now = Date.now()): boolean {
  return holder.stoppedAt === null && Date.parse(holder.lastSeen) >= now - staleMs;
}

export type RetirementPurpose = `master:${string}` | "jwt";

export async function listRetired(db: Db, purpose: RetirementPurpose): Promise<Set<number>> {
  const rows = await db.selectFrom("key_retirements").select("version").where("purpose", "=", purpose).execute();
  return new Set(rows.map((row) => Number(row.version)));
}

/** One statement (no read first: on SQLite a transaction that reads, then writes, fails when another process wrote meanwhile). */
export async function recordRetirement(db: Db, purpose: RetirementPurpose, version: number): Promise<void> {
  await db
    .insertInto("key_retirements")
    .values({ purpose, version, retired_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.columns(["purpose", "version"]).doNothing())
    .execute();
}

/**
 * The highest of `mine` that every one of `others` holds and is not retired;
 * undefined when there is none.
 */
export function agreeVersion(mine: readonly number[], others: readonly (readonly number[])[], retired: ReadonlySet<number>): number | undefined {
  return [...mine]
    .filter((version) => !retired.has(version))
    .sort((a, b) => b - a)
    .find((version) => others.every((held) => held.includes(version)));
}

/** "api process host-1234-ab12 (pid 1234 on host): holds 1, writes with 1". */
export function describeHolder(holder: KeyHolder, what: "master" | "jwt"): string {
  const held = what === "master" ? (holder.keyVersions[holder.wrapKind] ?? []) : (holder.jwtVersions ?? []);
  const writes = what === "master" ? holder.writeVersion : holder.jwtWriteVersion;
  return (
    `${holder.kind} process ${holder.processId} (pid ${holder.pid} on ${holder.host}, last seen ${holder.lastSeen}): ` +
    `holds ${held.join(", ") || "nothing"}, ${what === "master" ? "writes" : "signs"} with ${writes ?? "nothing (refusing)"}`
  );
}

/** Live processes of `wrapKind` that do not hold `target` or do not write with it. */
export function masterKeyBlockers(holders: readonly KeyHolder[], wrapKind: string, target: number, staleMs: number, now = Date.now()): KeyHolder[] {
  return holders.filter(
    (holder) =>
      isLive(holder, staleMs, now) &&
      holder.wrapKind === wrapKind &&
      (!(holder.keyVersions[wrapKind] ?? []).includes(target) || holder.writeVersion !== target),
  );
}

/** Live API processes that do not sign with `newest` yet. */
export function jwtRotateBlockers(holders: readonly KeyHolder[], newest: number, staleMs: number, now = Date.now()): KeyHolder[] {
  return holders.filter((holder) => holder.kind === "api" && isLive(holder, staleMs, now) && holder.jwtWriteVersion !== newest);
}

/**
 * API processes whose tokens signed with `version` may still be valid: any
 * row (live or not) that still signs with `version` or older and was seen
 * within the token lifetime, and any that switched to a newer key less than a
 * token lifetime ago. `graceMs` is the lifetime plus the clock tolerance.
 */
export function jwtRetireBlockers(holders: readonly KeyHolder[], version: number, graceMs: number, now = Date.now()): { holder: KeyHolder; until: string }[] {
  const blockers: { holder: KeyHolder; until: string }[] = [];
  for (const holder of holders) {
    if (holder.kind !== "api" || holder.jwtWriteVersion === null) continue;
    // `jwtWriteSince` is null for a process that never signed with an older key.
    const until =
      holder.jwtWriteVersion <= version
        ? Date.parse(holder.lastSeen) + graceMs
        : holder.jwtWriteSince === null
          ? 0
          : Date.parse(holder.jwtWriteSince) + graceMs;
    if (until > now) blockers.push({ holder, until: new Date(until).toISOString() });
  }
  return blockers;
}
