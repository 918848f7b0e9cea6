/**
 * The chat path (docs/proxy.md): `gateway_tickets` holds the single-use
 * tickets a browser spends to open the WebSocket pass-through (SHA-256 of
 * the ticket only, valid for seconds), and the instance gets its gateway's
 * health as the checker last saw it. Nothing here holds message content.
 */
import type { Kysely } from "kysely";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against whatever schema exists at that point
type AnyKysely = Kysely<any>;

export async function up(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable("gateway_tickets")
    /** hex SHA-256 of the ticket; the ticket itself is never stored. */
    .addColumn("ticket_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("instance_id", "text", (c) => c.notNull())
    /** The agent API key that asked for it, if an agent did (its revocation closes the connection). */
    .addColumn("api_key_id", "text")
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("gateway_tickets_expiry").on("gateway_tickets").column("expires_at").execute();

  /** `unknown` until first checked, then `up`, `down` or `cert_mismatch`. */
  await db.schema.alterTable("instances").addColumn("health_status", "text", (c) => c.notNull().defaultTo("unknown")).execute();
  await db.schema.alterTable("instances").addColumn("health_checked_at", "text").execute();
  /** Last time the gateway answered ready over the pinned TLS. */
  await db.schema.alterTable("instances").addColumn("health_last_seen_at", "text").execute();
  await db.schema.alterTable("instances").addColumn("health_latency_ms", "integer").execute();
  /** `match` or `mismatch` (the gateway presented another certificate than the pinned one), null before a TLS handshake. */
  await db.schema.alterTable("instances").addColumn("health_cert_state", "text").execute();
  /** hex SHA-256 of the certificate presented at the last mismatch (an alarm: never re-pinned by the checker). */
  await db.schema.alterTable("instances").addColumn("health_seen_cert_sha256", "text").execute();
}

export async function down(db: AnyKysely): Promise<void> {
  for (const column of ["health_seen_cert_sha256", "health_cert_state", "health_latency_ms", "health_last_seen_at", "health_checked_at", "health_status"]) {
    await db.schema.alterTable("instances").dropColumn(column).execute();
  }
  await db.schema.dropTable("gateway_tickets").execute();
}
