/**
 * Single-use invitations to register (`CLAWSTACK_REGISTRATION=invite`, the
 * default). Admins create them for one email; the token is returned once and
 * stored hashed; registering spends it in the same transaction that creates
 * the account, so an invitation makes at most one account.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database, Invite } from "../db/schema";
import { newId } from "../db/ids";
import { randomToken, sha256Hex } from "./tokens";

type Db = Kysely<Database> | Transaction<Database>;

/** Invitation tokens start with this, so a leaked one is recognizable (and scannable). */
export const INVITE_PREFIX = "csi_";

export async function createInvite(db: Db, request: { email: string; createdBy: string; expiresInDays: number; now?: Date }): Promise<{ invite: Invite; token: string }> {
  const now = request.now ?? new Date();
  const token = `${INVITE_PREFIX}${randomToken()}`;
  const invite: Invite = {
    id: newId("inv"),
    email: request.email,
    token_hash: sha256Hex(token),
    created_by: request.createdBy,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + request.expiresInDays * 86_400_000).toISOString(),
    used_at: null,
    used_by: null,
  };
  await db.insertInto("invites").values(invite).execute();
  return { invite, token };
}

export function listInvites(db: Db): Promise<Invite[]> {
  return db.selectFrom("invites").selectAll().orderBy("created_at", "desc").execute();
}

export async function deleteInvite(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom("invites").where("id", "=", id).where("used_at", "is", null).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Spends the invitation `token` for `email` inside the registering transaction:
 * the invitation when it was unused, unexpired and for this email (it is now
 * used), otherwise undefined.
 */
export async function spendInvite(trx: Transaction<Database>, token: string, email: string, now = new Date()): Promise<Invite | undefined> {
  const invite = await trx.selectFrom("invites").selectAll().where("token_hash", "=", sha256Hex(token)).executeTakeFirst();
  if (!invite || invite.used_at !== null || invite.email !== email || invite.expires_at <= now.toISOString()) return undefined;
  const spent = await trx
    .updateTable("invites")
    .set({ used_at: now.toISOString() })
    .where("id", "=", invite.id)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return spent.numUpdatedRows > 0n ? invite : undefined;
}

export async function markInviteUser(trx: Transaction<Database>, id: string, userId: string): Promise<void> {
  await trx.updateTable("invites").set({ used_by: userId }).where("id", "=", id).execute();
}
