/**
 * Migration 013 (the state disk's snapshot listing) on both engines: a
 * database at 012 with jobs is migrated; every job and column survives, a
 * `snapshots` job is accepted and anything else still refused, the
 * one-active-job-per-stack index survives the rebuild, and `down` goes back
 * (removing the listings).
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
    .values({ id: "inst_1", user_id: "usr_1", cloud: "aws", region: "eu-west-1", size: "small", config: "{}", stack_name: "s-1", status: "ready", created_at: now, updated_at: now })
    .execute();
  for (const [id, operation, state] of [["job_1", "up", "succeeded"], ["job_2", "support-open", "queued"]] as const) {
    await db
      .insertInto("jobs")
      .values({ id, instance_id: "inst_1", user_id: "usr_1", stack_name: "s-1", operation, state, stack_lock: state === "queued" ? "s-1" : null, max_attempts: 3, memory_mb: 64, run_after: now, created_at: now, updated_at: now })
      .execute();
  }
}

describe.each(engines("the snapshot listing migration"))("migration 013 on $engine", ({ engine, skip }) => {
  it.skipIf(skip)("keeps every job, accepts `snapshots` on the stack lock, refuses other operations, and goes back down", async () => {
    const handle = await open(engine);
    const migrator = new Migrator({ db: handle.db, provider: new FolderMigrationProvider(MIGRATIONS_DIR) });
    expect((await migrator.migrateTo("012_support_cloud_firewall")).error).toBeUndefined();
    await seed(handle);
    const columnsBefore = Object.keys((await sql<Record<string, unknown>>`select * from jobs where id = 'job_1'`.execute(handle.db)).rows[0] ?? {});
    const insert = (id: string, operation: string, lock: string | null = null) =>
      sql`insert into jobs (id, instance_id, user_id, stack_name, operation, state, stack_lock, max_attempts, memory_mb, run_after, result, created_at, updated_at)
          values (${id}, 'inst_1', 'usr_1', 's-1', ${operation}, ${lock ? "queued" : "succeeded"}, ${lock}, 1, 64, ${now}, ${'{"snapshots":[]}'}, ${now}, ${now})`.execute(handle.db);
    await expect(insert("job_early", "snapshots")).rejects.toThrow(/check/i);

    expect((await migrator.migrateTo("013_snapshot_listing")).error).toBeUndefined();
    const rows = (await sql<Record<string, unknown>>`select * from jobs order by id`.execute(handle.db)).rows;
    expect(rows.map((row) => [row.id, row.operation, row.state])).toEqual([["job_1", "up", "succeeded"], ["job_2", "support-open", "queued"]]);
    expect(Object.keys(rows[0] ?? {})).toEqual(columnsBefore);

    await insert("job_list", "snapshots");
    await expect(insert("job_bad", "snapshots-delete")).rejects.toThrow(/check/i);
    // The stack already has a queued job (job_2): a second active one is refused by the rebuilt index.
    await expect(insert("job_dup", "snapshots", "s-1")).rejects.toThrow(/unique|duplicate/i);

    expect((await migrator.migrateTo("012_support_cloud_firewall")).error).toBeUndefined();
    await expect(insert("job_list_again", "snapshots")).rejects.toThrow(/check/i);
    expect((await sql<{ id: string }>`select id from jobs order by id`.execute(handle.db)).rows.map((row) => row.id)).toEqual(["job_1", "job_2"]);
  });
});
