/**
 * Periodic tasks that every worker runs on a timer (the DigitalOcean snapshot
 * sweep) claim each time slot here first: the primary key (task, slot) lets
 * exactly one worker insert the row, and only that worker runs the slot.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("scheduler_runs")
    .addColumn("task", "text", (c) => c.notNull())
    /** `floor(epoch ms / interval)`, as text so both engines agree. */
    .addColumn("slot", "text", (c) => c.notNull())
    .addColumn("holder", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("finished_at", "text")
    .addPrimaryKeyConstraint("scheduler_runs_pk", ["task", "slot"])
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("scheduler_runs").execute();
}
