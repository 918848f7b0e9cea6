/**
 * Key rotation without restarts: `key_holders` has one heartbeat row per API
 * and worker process (the key versions it holds and writes with, its JWT key
 * ids, when it was last seen), so `admin-cli master-key rewrap | retire` and
 * `jwt rotate | retire` can refuse while a live process would lose data or
 * tokens; `key_retirements` records each retired version, so a process that
 * still lists one stops writing with it.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("key_holders")
    .addColumn("process_id", "text", (c) => c.primaryKey())
    /** `api` or `worker`. */
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("pid", "integer", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("last_seen", "text", (c) => c.notNull())
    .addColumn("stopped_at", "text")
    /** The kind that wraps new data keys: `local`, `kms`, `gcp-kms`. */
    .addColumn("wrap_kind", "text", (c) => c.notNull())
    /** JSON, versions held per kind: `{"local":[1,2]}`. */
    .addColumn("key_versions", "text", (c) => c.notNull())
    /** The version new data keys are wrapped under; null while this process refuses to wrap. */
    .addColumn("write_version", "integer")
    /** JSON array of the JWT key ids (versions) held; null for workers. */
    .addColumn("jwt_versions", "text")
    .addColumn("jwt_write_version", "integer")
    /** When this process switched to `jwt_write_version` from an older key; null if it never signed with another. */
    .addColumn("jwt_write_since", "text")
    .execute();
  await db.schema
    .createTable("key_retirements")
    /** `master:local`, `master:kms`, `master:gcp-kms` or `jwt`. */
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("retired_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("key_retirements_pk", ["purpose", "version"])
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("key_retirements").execute();
  await db.schema.dropTable("key_holders").execute();
}
