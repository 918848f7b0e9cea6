/**
 * The job queue: instances (one Pulumi stack each), jobs (operations on those
 * stacks), job_events (progress rows followed over SSE) and registration
 * tokens (single-use, stored hashed), instance secrets (a registered host's
 * gateway token, envelope-encrypted with the vault's keys). Portable across
 * SQLite and PostgreSQL.
 *
 * The rule "never two operations on one stack at once" lives here, in a unique
 * partial index: a job that changes a stack (`up`, `refresh`, `destroy`) sets
 * `stack_lock` to the stack name, and at most one queued or running job may
 * hold a given `stack_lock`. Offline previews leave it null and never block.
 */
import { type Kysely, sql } from "kysely";

// Migrations are written against a schema-less db so they never depend on today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("instances")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("cloud", "text", (c) => c.notNull().check(sql`cloud in ('aws', 'gcp', 'digitalocean')`))
    .addColumn("region", "text", (c) => c.notNull())
    .addColumn("size", "text", (c) => c.notNull())
    /** The vault credential the instance's jobs use (the user's choice, or their newest of that cloud). */
    .addColumn("credential_id", "text")
    /** JSON: the stack's `clawstack:*` config, prefix stripped. No secrets. */
    .addColumn("config", "text", (c) => c.notNull())
    .addColumn("stack_name", "text", (c) => c.notNull().unique())
    .addColumn("status", "text", (c) => c.notNull())
    /** JSON: the last stack outputs, secret outputs as `[secret]`. */
    .addColumn("outputs", "text")
    .addColumn("last_job_id", "text")
    .addColumn("idempotency_key", "text")
    /** hex SHA-256 of the create request, to refuse a reused key with a different body. */
    .addColumn("request_hash", "text")
    /** Id of the vault credential holding the host's gateway token, once registered. */
    .addColumn("gateway_token_ref", "text")
    /** hex SHA-256 of the host's TLS certificate (DER), pinned at registration. */
    .addColumn("tls_fingerprint", "text")
    .addColumn("registered_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("instances_idempotency")
    .on("instances")
    .columns(["user_id", "idempotency_key"])
    .unique()
    .execute();
  await db.schema.createIndex("instances_user").on("instances").columns(["user_id", "created_at"]).execute();

  await db.schema
    .createTable("jobs")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("stack_name", "text", (c) => c.notNull())
    .addColumn("operation", "text", (c) =>
      c.notNull().check(sql`operation in ('preview', 'up', 'refresh', 'destroy')`),
    )
    .addColumn("state", "text", (c) =>
      c.notNull().check(sql`state in ('queued', 'running', 'succeeded', 'failed', 'cancelled')`),
    )
    .addColumn("stack_lock", "text")
    .addColumn("attempt", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("memory_mb", "integer", (c) => c.notNull())
    .addColumn("run_after", "text", (c) => c.notNull())
    .addColumn("lease_owner", "text")
    .addColumn("lease_expires_at", "text")
    .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
    /** Set when a lease was taken over: the stale Pulumi lock is cancelled before the next attempt. */
    .addColumn("takeover", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("result", "text")
    .addColumn("error", "text")
    .addColumn("error_code", "text")
    .addColumn("error_field", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("finished_at", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("jobs_one_active_per_stack")
    .on("jobs")
    .column("stack_lock")
    .unique()
    .where(sql.ref("state"), "in", ["queued", "running"])
    .execute();
  await db.schema.createIndex("jobs_claim").on("jobs").columns(["state", "run_after"]).execute();
  await db.schema.createIndex("jobs_instance").on("jobs").columns(["instance_id", "created_at"]).execute();

  await db.schema
    .createTable("job_events")
    .addColumn("job_id", "text", (c) => c.notNull().references("jobs.id").onDelete("cascade"))
    /** 1, 2, 3... per job: the SSE event id. The primary key makes a duplicate row impossible. */
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    /** JSON, secrets redacted before the row is written. */
    .addColumn("data", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("job_events_pk", ["job_id", "seq"])
    .execute();

  await db.schema
    .createTable("registration_tokens")
    /** hex SHA-256 of the token; the token itself is never stored. */
    .addColumn("token_hash", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    .addColumn("job_id", "text")
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("registration_tokens_instance")
    .on("registration_tokens")
    .column("instance_id")
    .execute();

  await db.schema
    .createTable("instance_secrets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull())
    /** `gateway-token`. */
    .addColumn("kind", "text", (c) => c.notNull())
    /** AES-256-GCM under a random data key, as in the vault's credentials table. */
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("iv", "text", (c) => c.notNull())
    .addColumn("auth_tag", "text", (c) => c.notNull())
    .addColumn("wrapped_key", "text", (c) => c.notNull())
    .addColumn("key_version", "integer", (c) => c.notNull())
    .addColumn("wrap_kind", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("instance_secrets_instance").on("instance_secrets").columns(["instance_id", "kind"]).unique().execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("instance_secrets").execute();
  await db.schema.dropTable("registration_tokens").execute();
  await db.schema.dropTable("job_events").execute();
  await db.schema.dropTable("jobs").execute();
  await db.schema.dropTable("instances").execute();
}
