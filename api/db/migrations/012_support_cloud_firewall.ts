/**
 * A support grant's SSH rule in the host's cloud firewall (issue 17,
 * docs/zero-access.md): `jobs.operation` also takes `support-open` and
 * `support-close` (widened as migration 009 did: a new CHECK on PostgreSQL, a
 * table rebuild on SQLite), and each grant keeps where its cloud rule is:
 *
 * - `support_grants.cloud_firewall`: `opening` (wanted, not yet confirmed),
 *   `open`, `closing` (revoked or ended, removal pending), `closed`, `failed`
 *   (the last cloud call failed; the rule may be open: an ended grant in this
 *   state is closed again by the sweep). Grants made before this migration
 *   never had a cloud rule: `closed`.
 * - `support_grants.cloud_firewall_error`: the last failure's message, null once it succeeded.
 */
import { type Kysely, sql } from "kysely";
import { replaceOperationCheck } from "./009_power_operations";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

const BEFORE = "operation in ('preview', 'up', 'refresh', 'destroy', 'stop', 'start', 'reboot')";
const AFTER = "operation in ('preview', 'up', 'refresh', 'destroy', 'stop', 'start', 'reboot', 'support-open', 'support-close')";
const STATES = "cloud_firewall in ('opening', 'open', 'closing', 'closed', 'failed')";

export async function up(db: AnyKysely): Promise<void> {
  await replaceOperationCheck(db, BEFORE, AFTER);
  await db.schema
    .alterTable("support_grants")
    .addColumn("cloud_firewall", "text", (c) => c.notNull().defaultTo("closed").check(sql.raw(STATES)))
    .execute();
  await db.schema.alterTable("support_grants").addColumn("cloud_firewall_error", "text").execute();
  await db.schema.createIndex("support_grants_cloud_firewall").on("support_grants").columns(["cloud_firewall", "not_after"]).execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropIndex("support_grants_cloud_firewall").execute();
  await db.schema.alterTable("support_grants").dropColumn("cloud_firewall_error").execute();
  await db.schema.alterTable("support_grants").dropColumn("cloud_firewall").execute();
  await db.deleteFrom("jobs").where("operation", "in", ["support-open", "support-close"]).execute();
  await replaceOperationCheck(db, AFTER, BEFORE);
}
