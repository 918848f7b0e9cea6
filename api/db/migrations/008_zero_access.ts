/**
 * Zero access (docs/zero-access.md): the user's device keys (public halves
 * only), the keys an instance pins at creation, the host's own credential
 * (SHA-256 of its `cshost_` token only), signed support grants, the support
 * commands hosts report (command line and counts, never output), the sealed
 * ClawChat keys (ciphertext the API cannot open) and the operators' support
 * SSH keys (public keys; they map a key fingerprint to an operator).
 */
import type { Kysely } from "kysely";

// Migrations are written against a schema-less db so they never depend on today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("device_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    /** `SHA256:` + 43 base64 characters over both public halves (core/zero-access/user-keys.ts). */
    .addColumn("fingerprint", "text", (c) => c.notNull())
    /** base64 SPKI DER of the ECDSA P-256 (signing) and ECDH P-256 (sealing) public keys. */
    .addColumn("signing", "text", (c) => c.notNull())
    .addColumn("sealing", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .addUniqueConstraint("device_keys_user_fingerprint", ["user_id", "fingerprint"])
    .execute();

  /** JSON list of UserPublicKey records copied from the owner's active device keys when the instance was created. */
  await db.schema.alterTable("instances").addColumn("pinned_keys", "text").execute();
  /** hex SHA-256 of the host's `cshost_` token (sent at registration); the token itself is never stored. */
  await db.schema.alterTable("instances").addColumn("host_token_hash", "text").execute();

  await db.schema
    .createTable("support_grants")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    /** The signed statement exactly as the user's device signed it, and its signature (base64url P1363). */
    .addColumn("statement", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addColumn("signer", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("not_before", "text", (c) => c.notNull())
    .addColumn("not_after", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    /** JSON lists, copied from the statement for listing. */
    .addColumn("sources", "text", (c) => c.notNull())
    .addColumn("support_key_fingerprints", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    /** A statement is accepted once per instance (its nonce): a replay is a 409. */
    .addUniqueConstraint("support_grants_instance_nonce", ["instance_id", "nonce"])
    .execute();
  await db.schema.createIndex("support_grants_instance_until").on("support_grants").columns(["instance_id", "not_after"]).execute();

  await db.schema
    .createTable("support_commands")
    .addColumn("instance_id", "text", (c) => c.notNull().references("instances.id").onDelete("cascade"))
    /** The host's own sequence number of the record: ingestion is idempotent on (instance, seq). */
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("grant_id", "text", (c) => c.notNull())
    /** What the host saw (the SSH key fingerprint the session authenticated with). */
    .addColumn("operator", "text", (c) => c.notNull())
    /** The operator that fingerprint belongs to (operator_support_keys), when known. */
    .addColumn("operator_user_id", "text")
    .addColumn("command_line", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text", (c) => c.notNull())
    .addColumn("exit_status", "integer", (c) => c.notNull())
    .addColumn("stdout_bytes", "bigint", (c) => c.notNull())
    .addColumn("stderr_bytes", "bigint", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("support_commands_pk", ["instance_id", "seq"])
    .execute();

  await db.schema
    .createTable("clawchat_keys")
    .addColumn("instance_id", "text", (c) => c.primaryKey().references("instances.id").onDelete("cascade"))
    /** JSON SealedBox (core/zero-access/sealed-box.ts): ciphertext sealed to the pinned device keys. */
    .addColumn("box", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("operator_support_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    /** `ssh-ed25519 AAAA...` or `ecdsa-sha2-nistp256 AAAA...`, no comment. */
    .addColumn("public_key", "text", (c) => c.notNull())
    /** OpenSSH's `SHA256:<base64>` fingerprint of the key blob (what `ssh-keygen -lf` and sshd print). */
    .addColumn("fingerprint", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
}

export async function down(db: AnyKysely): Promise<void> {
  await db.schema.dropTable("operator_support_keys").execute();
  await db.schema.dropTable("clawchat_keys").execute();
  await db.schema.dropTable("support_commands").execute();
  await db.schema.dropTable("support_grants").execute();
  await db.schema.alterTable("instances").dropColumn("host_token_hash").execute();
  await db.schema.alterTable("instances").dropColumn("pinned_keys").execute();
  await db.schema.dropTable("device_keys").execute();
}
