/**
 * Migration 012 (a support grant's cloud firewall rule) on both engines: a
 * database at 011 with jobs and a grant is migrated; every job survives, the
 * two new operations are accepted and anything else still refused, the
 * one-active-job-per-stack index survives the rebuild, an existing grant is
 * `closed` (it never had a cloud rule), an unknown state is refused, and
 * `down` goes back.
 */
import { Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../../api/db/connect";
import { FolderMigrationProvider, MIGRATIONS_DIR } from "../../../api/db/migrate";
import { engines } from "../support";
import { freshDatabases, now, seedInstanceJobs } from "./migration-support";

const open = freshDatabases();

async function seed(handle: DatabaseHandle): Promise<void> {
  const db = await seedInstanceJobs(handle, { cloud: "digitalocean", region: "fra1", size: "s-1vcpu-2gb" }, [["job_1", "up", "succeeded"], ["job_2", "stop", "queued"]] as const);
  await db
    .insertInto("support_grants")
    .values({
      id: "sgr_1",
      instance_id: "inst_1",
      user_id: "usr_1",
      statement: "{}",
      signature: "x",
      signer: "SHA256:x",
      nonce: "n1",
      not_before: now,
      not_after: now,
      reason: "r",
      sources: '["198.51.100.0/24"]',
      support_key_fingerprints: "[]",
      created_at: now,
    })
    .execute();
}

describe.each(engines("the support cloud firewall migration"))("migration 012 on $engine", ({ engine, skip }) => {
  it.skipIf(skip)("keeps every job, accepts support-open/support-close, tracks each grant's cloud rule, and goes back down", async () => {
    const handle = await open(engine);
    const migrator = new Migrator({ db: handle.db, provider: new FolderMigrationProvider(MIGRATIONS_DIR) });
    expect((await migrator.migrateTo("011_gateway_rotation_request")).error).toBeUndefined();
    await seed(handle);
    const columnsBefore = Object.keys((await sql<Record<string, unknown>>`select * from jobs where id = 'job_1'`.execute(handle.db)).rows[0] ?? {});

    expect((await migrator.migrateTo("012_support_cloud_firewall")).error).toBeUndefined();
    const rows = (await sql<Record<string, unknown>>`select * from jobs order by id`.execute(handle.db)).rows;
    expect(rows.map((row) => [row.id, row.operation, row.state])).toEqual([["job_1", "up", "succeeded"], ["job_2", "stop", "queued"]]);
    expect(Object.keys(rows[0] ?? {})).toEqual(columnsBefore);
    const grant = (await sql<Record<string, unknown>>`select cloud_firewall, cloud_firewall_error from support_grants where id = 'sgr_1'`.execute(handle.db)).rows[0];
    expect(grant).toEqual({ cloud_firewall: "closed", cloud_firewall_error: null });
    await sql`update support_grants set cloud_firewall = 'opening' where id = 'sgr_1'`.execute(handle.db);
    await expect(sql`update support_grants set cloud_firewall = 'wide-open' where id = 'sgr_1'`.execute(handle.db)).rejects.toThrow(/check/i);

    const insert = (id: string, operation: string, lock: string | null = null) =>
      sql`insert into jobs (id, instance_id, user_id, stack_name, operation, state, stack_lock, max_attempts, memory_mb, run_after, created_at, updated_at)
          values (${id}, 'inst_1', 'usr_1', 's-1', ${operation}, ${lock ? "queued" : "succeeded"}, ${lock}, 1, 64, ${now}, ${now}, ${now})`.execute(handle.db);
    for (const operation of ["support-open", "support-close"]) await insert(`job_${operation}`, operation);
    await expect(insert("job_bad", "support-wipe")).rejects.toThrow(/check/i);
    await expect(insert("job_dup", "support-open", "s-1")).rejects.toThrow(/unique|duplicate/i);

    expect((await migrator.migrateTo("011_gateway_rotation_request")).error).toBeUndefined();
    await expect(insert("job_open_again", "support-open")).rejects.toThrow(/check/i);
    expect((await sql<{ id: string }>`select id from jobs order by id`.execute(handle.db)).rows.map((row) => row.id)).toEqual(["job_1", "job_2"]);
    expect(Object.keys((await sql<Record<string, unknown>>`select * from support_grants`.execute(handle.db)).rows[0] ?? {})).not.toContain("cloud_firewall");
  });
});
