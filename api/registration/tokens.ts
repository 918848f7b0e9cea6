/**
 * Single-use registration tokens. An `up` job issues one per attempt and
 * hands it to the host through user-data; the host spends it once, at first
 * boot, to register its gateway token and TLS fingerprint. Only the SHA-256 of
 * a token is stored; a token is valid for one hour and is burned when used
 * (a replay is refused), and issuing a new one revokes the instance's unused ones.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/schema";

/** One hour: long enough for a slow first boot, short enough that a leaked user-data is soon useless. */
export const REGISTRATION_TOKEN_TTL_MS = 3_600_000;

const TOKEN_PATTERN = /^csreg_[A-Za-z0-9_-]{43}$/;

type Db = Kysely<Database> | Transaction<Database>;

export function hashRegistrationToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function looksLikeRegistrationToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** Issues a token for `instanceId` and revokes its earlier unused ones. Returns the token (never stored). */
export async function issueRegistrationToken(
  db: Db,
  request: { instanceId: string; jobId: string | null; ttlMs?: number; now?: Date },
): Promise<{ token: string; expiresAt: string }> {
  const now = request.now ?? new Date();
  const token = `csreg_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date(now.getTime() + (request.ttlMs ?? REGISTRATION_TOKEN_TTL_MS)).toISOString();
  await db.deleteFrom("registration_tokens").where("instance_id", "=", request.instanceId).where("used_at", "is", null).execute();
  await db
    .insertInto("registration_tokens")
    .values({
      token_hash: hashRegistrationToken(token),
      instance_id: request.instanceId,
      job_id: request.jobId,
      expires_at: expiresAt,
      used_at: null,
      created_at: now.toISOString(),
    })
    .execute();
  return { token, expiresAt };
}

export type RedeemOutcome = "ok" | "unknown" | "used" | "expired";

/**
 * Burns the token if it is this instance's, unused and unexpired: one
 * compare-and-set UPDATE, so two concurrent redemptions cannot both succeed.
 */
export async function redeemRegistrationToken(db: Db, instanceId: string, token: string, now = new Date()): Promise<RedeemOutcome> {
  if (!looksLikeRegistrationToken(token)) return "unknown";
  const hash = hashRegistrationToken(token);
  const at = now.toISOString();
  const burned = await db
    .updateTable("registration_tokens")
    .set({ used_at: at })
    .where("token_hash", "=", hash)
    .where("instance_id", "=", instanceId)
    .where("used_at", "is", null)
    .where("expires_at", ">", at)
    .executeTakeFirst();
  if (Number(burned.numUpdatedRows) === 1) return "ok";
  const row = await db
    .selectFrom("registration_tokens")
    .select(["used_at", "expires_at"])
    .where("token_hash", "=", hash)
    .where("instance_id", "=", instanceId)
    .executeTakeFirst();
  if (!row) return "unknown";
  return row.used_at !== null ? "used" : "expired";
}
