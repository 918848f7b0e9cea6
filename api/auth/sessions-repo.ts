/** SQL for refresh-token sessions. */
import { newId, nowIso } from "../db/ids";
import type { Session } from "../db/schema";
import type { Db } from "./users-repo";

export async function insertSession(
  db: Db,
  session: { userId: string; familyId: string; tokenHash: string; expiresAt: string },
): Promise<void> {
  await db
    .insertInto("sessions")
    .values({
      id: newId("ses"),
      user_id: session.userId,
      family_id: session.familyId,
      token_hash: session.tokenHash,
      created_at: nowIso(),
      expires_at: session.expiresAt,
      spent_at: null,
      revoked_at: null,
    })
    .execute();
}

export function findSessionByHash(db: Db, tokenHash: string): Promise<Session | undefined> {
  return db.selectFrom("sessions").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
}

/** Marks the token spent; false when another request spent it first. */
export async function spendSession(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable("sessions")
    .set({ spent_at: nowIso() })
    .where("id", "=", id)
    .where("spent_at", "is", null)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function revokeFamily(db: Db, familyId: string): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ revoked_at: nowIso() })
    .where("family_id", "=", familyId)
    .where("revoked_at", "is", null)
    .execute();
}

/** Signs the account out everywhere: every refresh token revoked, every access token issued so far refused. */
export async function revokeAllForUser(db: Db, userId: string): Promise<void> {
  await db.updateTable("users").set({ tokens_valid_after: nowIso() }).where("id", "=", userId).execute();
  await db
    .updateTable("sessions")
    .set({ revoked_at: nowIso() })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .execute();
}
