/**
 * Migration 013 (the state disk's snapshot listing) on both engines: a
 * database at 012 with jobs is migrated; every job and column survives, a
 * `snapshots` job is accepted and anything else still refused, the
 * one-active-job-per-stack index survives the rebuild, and `down` goes back
 * (removing the listings).
 */
import { Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../../api/db/connect";
import { FolderMigrationProvider, MIGRATIONS_DIR } from "../../../api/db/migrate";
import { engines } from "../support";
import { freshDatabases, now, seedInstanceJobs } from "./migration-support";

const open = freshDatabases();

async function seed(handle: DatabaseHandle): Promise<void> {
  const db = await seedInstanceJobs(handle, { cloud: "aws", region: "eu-west-1", size: "small" }, [["job_1", "up", "succeeded"], ["job_2", "support-open", "queued"]] as const);
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
