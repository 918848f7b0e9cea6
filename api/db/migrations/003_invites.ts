/**
 * Invitations: with `CLAWSTACK_REGISTRATION=invite` (the default) an account
 * can only be registered with a single-use invitation an admin created for
 * that email. The token is shown to the admin once and stored as its SHA-256
 * (a 256-bit random value: nothing to brute-force).
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("invites")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_by", "text", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addColumn("used_by", "text", (c) => c.references("users.id").onDelete("set null"))
    .execute();
  await db.schema.createIndex("invites_email").on("invites").column("email").execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("invites").execute();
}
