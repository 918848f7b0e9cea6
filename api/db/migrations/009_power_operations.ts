/**
 * Power jobs (issue 14 item 6): `jobs.operation` also takes `stop`, `start`
 * and `reboot`. They run on the instance's stack lock like the Pulumi
 * operations, so a power action never overlaps an `up` or a `destroy`.
 *
 * PostgreSQL replaces the column's CHECK constraint. SQLite cannot alter a
 * CHECK, so the table is rebuilt from its own stored definition (every column
 * later migrations added is kept), following SQLite's documented procedure:
 * foreign keys off, new table, copy, drop, rename, indexes again, foreign key
 * check, foreign keys on.
 */
import { type Kysely, sql } from "kysely";
import { dialectOf } from "../portable";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

const BEFORE = "operation in ('preview', 'up', 'refresh', 'destroy')";
const AFTER = "operation in ('preview', 'up', 'refresh', 'destroy', 'stop', 'start', 'reboot')";

export async function up(db: AnyKysely): Promise<void> {
  await replaceOperationCheck(db, BEFORE, AFTER);
}

export async function down(db: AnyKysely): Promise<void> {
  await db.deleteFrom("jobs").where("operation", "in", ["stop", "start", "reboot"]).execute();
  await replaceOperationCheck(db, AFTER, BEFORE);
}

export async function replaceOperationCheck(db: AnyKysely, from: string, to: string): Promise<void> {
  if (dialectOf(db) === "postgres") {
    await sql`alter table jobs drop constraint jobs_operation_check`.execute(db);
    await sql.raw(`alter table jobs add constraint jobs_operation_check check (${to})`).execute(db);
    return;
  }
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'jobs'`.execute(db);
  const definition = table.rows[0]?.sql;
  if (!definition || !definition.includes(from)) {
    throw new Error("jobs table definition does not hold the expected operation check; refusing to rebuild it");
  }
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'jobs' and sql is not null`.execute(db);
  const rebuilt = definition.replace(from, to).replace(/^create table "?jobs"?/i, 'create table "jobs_rebuilt"');
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await sql.raw(rebuilt).execute(db);
      await sql`insert into jobs_rebuilt select * from jobs`.execute(db);
      await sql`drop table jobs`.execute(db);
      await sql`alter table jobs_rebuilt rename to jobs`.execute(db);
      for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
      const broken = await sql`pragma foreign_key_check`.execute(db);
      if (broken.rows.length > 0) throw new Error(`foreign key check failed after rebuilding jobs: ${JSON.stringify(broken.rows.slice(0, 3))}`);
      await sql`commit`.execute(db);
    } catch (error) {
      await sql`rollback`.execute(db);
      throw error;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
