/**
 * An index on the audit log's target: an instance's health history (its `instance.health.*` entries,
 * api/health/history-repo.ts) is read by target, newest first, without scanning the whole log.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema.createIndex("audit_log_target").on("audit_log").columns(["target", "id"]).execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropIndex("audit_log_target").execute();
}
