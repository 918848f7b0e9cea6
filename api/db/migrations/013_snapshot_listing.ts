/**
 * The state disk's snapshots on the dashboard (issue 16, docs/jobs.md):
 * `jobs.operation` also takes `snapshots`, a read-only job on the stack lock
 * whose result is the list the cloud gave (widened as migration 009 did: a new
 * CHECK on PostgreSQL, a table rebuild on SQLite). Nothing else is stored: the
 * list lives on the job, and the newest such job is what the API serves (an
 * instance's jobs are found by the `jobs_instance` index).
 */
import type { Kysely } from "kysely";
import { replaceOperationCheck } from "./009_power_operations";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

const BEFORE = "operation in ('preview', 'up', 'refresh', 'destroy', 'stop', 'start', 'reboot', 'support-open', 'support-close')";
const AFTER = "operation in ('preview', 'up', 'refresh', 'destroy', 'stop', 'start', 'reboot', 'support-open', 'support-close', 'snapshots')";

export async function up(db: AnyKysely): Promise<void> {
  await replaceOperationCheck(db, BEFORE, AFTER);
}

export async function down(db: AnyKysely): Promise<void> {
  await db.deleteFrom("jobs").where("operation", "=", "snapshots").execute();
  await replaceOperationCheck(db, AFTER, BEFORE);
}
