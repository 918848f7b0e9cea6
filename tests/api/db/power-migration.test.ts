/**
 * Migration 009 (power jobs) on both engines: a database at 008 with jobs and
 * their events is migrated; every row and column survives, the new operations
 * are accepted, anything else is still refused, the events still cascade with
 * their job, and `down` goes back.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Migrator, sql } from "kysely";
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type DatabaseHandle } from "../../../api/db/connect";
import { FolderMigrationProvider, MIGRATIONS_DIR } from "../../../api/db/migrate";
import { POSTGRES_URL, engines } from "../support";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(engine: "sqlite" | "postgres"): Promise<DatabaseHandle> {
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
}

const now = new Date().toISOString();

async function seed(handle: DatabaseHandle): Promise<void> {
  const db = handle.db as unknown as import("kysely").Kysely<Record<string, Record<string, unknown>>>;
  await db.insertInto("users").values({ id: "usr_1", email: "a@example.com", password_hash: "x", role: "user", plan_id: "free", created_at: now, updated_at: now }).execute();
  await db
    .insertInto("instances")
    .values({ id: "inst_1", user_id: "usr_1", cloud: "digitalocean", region: "fra1", size: "s-1vcpu-2gb", config: "{}", stack_name: "s-1", status: "ready", created_at: now, updated_at: now })
    .execute();
  for (const [id, operation, state] of [["job_1", "up", "succeeded"], ["job_2", "refresh", "queued"]] as const) {
    await db
      .insertInto("jobs")
      .values({ id, instance_id: "inst_1", user_id: "usr_1", stack_name: "s-1", operation, state, stack_lock: state === "queued" ? "s-1" : null, max_attempts: 3, memory_mb: 512, run_after: now, created_at: now, updated_at: now })
      .execute();
    await db.insertInto("job_events").values({ job_id: id, seq: 1, at: now, type: "state", data: "{}" }).execute();
  }
}

describe.each(engines("the power-jobs migration"))("migration 009 on $engine", ({ engine, skip }) => {
  it.skipIf(skip)("keeps every job and event, accepts stop/start/reboot, refuses others, and goes back down", async () => {
    const handle = await open(engine);
    const migrator = new Migrator({ db: handle.db, provider: new FolderMigrationProvider(MIGRATIONS_DIR) });
    const before = await migrator.migrateTo("008_zero_access");
    expect(before.error).toBeUndefined();
    await seed(handle);
    const columnsBefore = Object.keys((await sql<Record<string, unknown>>`select * from jobs where id = 'job_1'`.execute(handle.db)).rows[0] ?? {});

    const up = await migrator.migrateTo("009_power_operations");
    expect(up.error).toBeUndefined();
    const rows = (await sql<Record<string, unknown>>`select * from jobs order by id`.execute(handle.db)).rows;
    expect(rows.map((row) => [row.id, row.operation, row.state])).toEqual([["job_1", "up", "succeeded"], ["job_2", "refresh", "queued"]]);
    expect(Object.keys(rows[0] ?? {})).toEqual(columnsBefore);

    const insert = (id: string, operation: string) =>
      sql`insert into jobs (id, instance_id, user_id, stack_name, operation, state, max_attempts, memory_mb, run_after, created_at, updated_at)
          values (${id}, 'inst_1', 'usr_1', 's-1', ${operation}, 'succeeded', 1, 256, ${now}, ${now}, ${now})`.execute(handle.db);
    for (const operation of ["stop", "start", "reboot"]) await insert(`job_${operation}`, operation);
    await expect(insert("job_bad", "format-disk")).rejects.toThrow(/check/i);
    // The one-active-job-per-stack index survived the rebuild.
    await expect(
      sql`insert into jobs (id, instance_id, user_id, stack_name, operation, state, stack_lock, max_attempts, memory_mb, run_after, created_at, updated_at)
          values ('job_dup', 'inst_1', 'usr_1', 's-1', 'stop', 'queued', 's-1', 1, 256, ${now}, ${now}, ${now})`.execute(handle.db),
    ).rejects.toThrow(/unique|duplicate/i);
    // Events still belong to their job: deleting the job deletes them.
    await sql`delete from jobs where id = 'job_1'`.execute(handle.db);
    expect((await sql<{ n: number | string }>`select count(*) as n from job_events where job_id = 'job_1'`.execute(handle.db)).rows[0]?.n).toEqual(engine === "postgres" ? "0" : 0);

    const down = await migrator.migrateTo("008_zero_access");
    expect(down.error).toBeUndefined();
    await expect(insert("job_stop_again", "stop")).rejects.toThrow(/check/i);
    expect((await sql<{ id: string }>`select id from jobs order by id`.execute(handle.db)).rows.map((row) => row.id)).toEqual(["job_2"]);
  });
});
