/**
 * Gateway setup grants (issue 16, "first use without a shell";
 * core/zero-access/gateway-admin-grant.ts): the user's signed consent that the
 * chat proxy's device may hold OpenClaw's `operator.admin` on one instance for
 * at most an hour. The statement and its signature are kept as signed (the
 * host verifies them again); nothing secret is stored: the model key the
 * dashboard then sets travels through the proxy only.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("gateway_admin_grants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("statement", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addColumn("signer", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("not_before", "text", (c) => c.notNull())
    .addColumn("not_after", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .addUniqueConstraint("gateway_admin_grants_instance_nonce", ["instance_id", "nonce"])
    .execute();
  await db.schema.createIndex("gateway_admin_grants_instance_until").on("gateway_admin_grants").columns(["instance_id", "not_after"]).execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("gateway_admin_grants").execute();
}
