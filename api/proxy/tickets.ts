/**
 * Single-use tickets for the WebSocket pass-through. A browser cannot put an
 * `Authorization` header on a WebSocket, and an access token in a URL ends up
 * in proxy logs and browser history; so the user's token buys a ticket
 * (`POST /v1/instances/:id/gateway/tickets`), valid for seconds and for one
 * instance, and the ticket goes in the WebSocket URL. Only its SHA-256 is
 * stored (in the database, so any API process can redeem it), and redeeming
 * is one compare-and-set UPDATE: a replay is refused.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";

const TICKET_PATTERN = /^cstk_[A-Za-z0-9_-]{43}$/;

export function hashTicket(ticket: string): string {
  return createHash("sha256").update(ticket).digest("hex");
}

export interface IssuedTicket {
  ticket: string;
  expiresAt: string;
}

export async function issueTicket(
  db: Kysely<Database>,
  request: { userId: string; instanceId: string; apiKeyId: string | null; ttlMs: number; now?: Date },
): Promise<IssuedTicket> {
  const now = request.now ?? new Date();
  const ticket = `cstk_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date(now.getTime() + request.ttlMs).toISOString();
  // Spent and expired tickets are only a hash and an expiry: drop them as new ones are issued.
  await db.deleteFrom("gateway_tickets").where("expires_at", "<", new Date(now.getTime() - 3_600_000).toISOString()).execute();
  await db
    .insertInto("gateway_tickets")
    .values({
      ticket_hash: hashTicket(ticket),
      user_id: request.userId,
      instance_id: request.instanceId,
      api_key_id: request.apiKeyId,
      expires_at: expiresAt,
      used_at: null,
      created_at: now.toISOString(),
    })
    .execute();
  return { ticket, expiresAt };
}

export interface RedeemedTicket {
  userId: string;
  instanceId: string;
  apiKeyId: string | null;
  /** When the ticket was issued: a sign-out after this closes the connection. */
  issuedAt: string;
}

/** Burns the ticket if it is for `instanceId`, unused and unexpired; undefined otherwise (one answer for every refusal). */
export async function redeemTicket(db: Kysely<Database>, instanceId: string, ticket: string, now = new Date()): Promise<RedeemedTicket | undefined> {
  if (!TICKET_PATTERN.test(ticket)) return undefined;
  const hash = hashTicket(ticket);
  const at = now.toISOString();
  const burned = await db
    .updateTable("gateway_tickets")
    .set({ used_at: at })
    .where("ticket_hash", "=", hash)
    .where("instance_id", "=", instanceId)
    .where("used_at", "is", null)
    .where("expires_at", ">", at)
    .executeTakeFirst();
  if (Number(burned.numUpdatedRows) !== 1) return undefined;
  const row = await db.selectFrom("gateway_tickets").selectAll().where("ticket_hash", "=", hash).executeTakeFirstOrThrow();
  return { userId: row.user_id, instanceId: row.instance_id, apiKeyId: row.api_key_id, issuedAt: row.created_at };
}
