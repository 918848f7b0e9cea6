/**
 * What the migration tests share: a fresh, empty database per test on either
 * engine (a SQLite file in a temporary folder, or a PostgreSQL database made
 * and dropped for the test), and a user with one instance and its jobs,
 * written with the columns every migration since 009 has.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { Client } from "pg";
import { afterEach } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../../api/db/connect";
import { POSTGRES_URL } from "../support";

export const now = new Date().toISOString();

/** Registers the cleanup (call at the top of a test file) and returns `open(engine)`: an empty database, removed after the test. */
export function freshDatabases(): (engine: "sqlite" | "postgres") => Promise<DatabaseHandle> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (engine) => {
    if (engine === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "clawstack-migration-"));
      const handle = openDatabase({ engine: "sqlite", file: join(dir, "clawstack.db") });
      cleanups.push(async () => {
        await handle.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return handle;
    }
    const name = `migration_${process.pid}_${Date.now()}`;
    const admin = new Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(POSTGRES_URL ?? "");
    url.pathname = `/${name}`;
    const handle = openDatabase({ engine: "postgres", url: url.href });
    cleanups.push(async () => {
      await handle.close();
      const drop = new Client({ connectionString: POSTGRES_URL });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    });
    return handle;
  };
}

/** `usr_1` with instance `inst_1` (stack `s-1`) on `cloud`, and `jobs` as `[id, operation, state]` (queued ones hold the stack lock). */
export async function seedInstanceJobs(
  handle: DatabaseHandle,
  instance: { cloud: string; region: string; size: string },
  jobs: readonly (readonly [string, string, string])[],
  memoryMb = 64,
): Promise<Kysely<Record<string, Record<string, unknown>>>> {
  const db = handle.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  await db.insertInto("users").values({ id: "usr_1", email: "a@example.com", password_hash: "x", role: "user", plan_id: "free", created_at: now, updated_at: now }).execute();
  await db
    .insertInto("instances")
    .values({ id: "inst_1", user_id: "usr_1", ...instance, config: "{}", stack_name: "s-1", status: "ready", created_at: now, updated_at: now })
    .execute();
  for (const [id, operation, state] of jobs) {
    await db
      .insertInto("jobs")
      .values({ id, instance_id: "inst_1", user_id: "usr_1", stack_name: "s-1", operation, state, stack_lock: state === "queued" ? "s-1" : null, max_attempts: 3, memory_mb: memoryMb, run_after: now, created_at: now, updated_at: now })
      .execute();
  }
  return db;
}
