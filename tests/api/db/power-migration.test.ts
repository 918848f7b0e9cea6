/**
 * Migration 009 (power jobs) on both engines: a database at 008 with jobs and
 * their events is migrated; every row and column survives, the new operations
 * are accepted, anything else is still refused, the events still cascade with
 * their job, and `down` goes back.
 */
import { Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../../api/db/connect";
import { FolderMigrationProvider, MIGRATIONS_DIR } from "../../../api/db/migrate";
import { engines } from "../support";
import { freshDatabases, now, seedInstanceJobs } from "./migration-support";

const open = freshDatabases();

async function seed(handle: DatabaseHandle): Promise<void> {
  const db = await seedInstanceJobs(handle, { cloud: "digitalocean", region: "fra1", size: "s-1vcpu-2gb" }, [["job_1", "up", "succeeded"], ["job_2", "refresh", "queued"]] as const, 512);
  for (const id of ["job_1", "job_2"]) await db.insertInto("job_events").values({ job_id: id, seq: 1, at: now, type: "state", data: "{}" }).execute();
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
