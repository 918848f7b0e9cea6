/**
 * Core tables: plans, users, user_keys, sessions, api_keys, credentials,
 * audit_log. Portable across SQLite and PostgreSQL (see `../portable.ts`).
 * No table or column holds chat content, prompts, files or plaintext secrets.
 */
import { type Kysely, sql } from "kysely";
import { autoIncrementId } from "../portable";

// Migrations are written against a schema-less db so they never depend on today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("plans")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("max_instances", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db
    .insertInto("plans")
    .values({ id: "free", name: "Free", max_instances: 1, created_at: new Date().toISOString() })
    .execute();

  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().check(sql`role in ('user', 'admin')`))
    .addColumn("plan_id", "text", (c) => c.notNull().references("plans.id"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("user_keys")
    .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
    .addColumn("key_salt", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("family_id", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("spent_at", "text")
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("sessions_family").on("sessions").column("family_id").execute();
  await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull().unique())
    .addColumn("key_hash", "text", (c) => c.notNull())
    .addColumn("scopes", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text")
    .addColumn("last_used_at", "text")
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("api_keys_user").on("api_keys").column("user_id").execute();

  await db.schema
    .createTable("credentials")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('aws', 'gcp', 'digitalocean')`))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("metadata", "text", (c) => c.notNull())
    .addColumn("ciphertext", "text")
    .addColumn("iv", "text")
    .addColumn("auth_tag", "text")
    .addColumn("wrapped_key", "text")
    .addColumn("key_version", "integer")
    .addColumn("wrap_kind", "text")
    .addColumn("passphrase_salt", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .addColumn("last_tested_at", "text")
    .addColumn("last_test_ok", "integer")
    .execute();
  await db.schema.createIndex("credentials_user").on("credentials").column("user_id").execute();

  const id = autoIncrementId(db);
  await db.schema
    .createTable("audit_log")
    .addColumn("id", id.type, id.build)
    .addColumn("at", "text", (c) => c.notNull())
    // No foreign key: the trail outlives the account it describes.
    .addColumn("actor_user_id", "text")
    .addColumn("actor_kind", "text", (c) => c.notNull())
    .addColumn("api_key_id", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target", "text")
    .addColumn("result", "text", (c) => c.notNull())
    .addColumn("status_code", "integer")
    .addColumn("bytes_in", "integer", (c) => c.notNull())
    .addColumn("bytes_out", "integer", (c) => c.notNull())
    .addColumn("latency_ms", "real", (c) => c.notNull())
    .addColumn("ip", "text")
    .addColumn("request_id", "text")
    .execute();
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor_user_id", "id"]).execute();
}

export async function down(db: AnyKysely): Promise<void> {
  for (const table of ["audit_log", "credentials", "api_keys", "sessions", "user_keys", "users", "plans"]) {
    await db.schema.dropTable(table).execute();
  }
}
