/** SQL for agent API keys. */
import { nowIso } from "../db/ids";
import type { ApiKey } from "../db/schema";
import type { Scope } from "./principal";
import type { Db } from "./users-repo";

export async function insertApiKey(
  db: Db,
  key: { id: string; userId: string; name: string; prefix: string; keyHash: string; scopes: Scope[]; expiresAt: string | null },
): Promise<ApiKey> {
  const row = {
    id: key.id,
    user_id: key.userId,
    name: key.name,
    prefix: key.prefix,
    key_hash: key.keyHash,
    scopes: JSON.stringify(key.scopes),
    created_at: nowIso(),
    expires_at: key.expiresAt,
    last_used_at: null,
    revoked_at: null,
  };
  await db.insertInto("api_keys").values(row).execute();
  return row;
}

export function findApiKeyByPrefix(db: Db, prefix: string): Promise<ApiKey | undefined> {
  return db.selectFrom("api_keys").selectAll().where("prefix", "=", prefix).executeTakeFirst();
}

export function listApiKeys(db: Db, userId: string): Promise<ApiKey[]> {
  return db.selectFrom("api_keys").selectAll().where("user_id", "=", userId).orderBy("created_at").execute();
}

export async function revokeApiKey(db: Db, userId: string, id: string): Promise<"revoked" | "already" | "missing"> {
  const key = await db
    .selectFrom("api_keys")
    .select(["id", "revoked_at"])
    .where("id", "=", id)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  if (!key) return "missing";
  if (key.revoked_at !== null) return "already";
  await db.updateTable("api_keys").set({ revoked_at: nowIso() }).where("id", "=", id).execute();
  return "revoked";
}

/** Revokes every active key of the account at once; returns the ids it revoked. */
export async function revokeAllApiKeys(db: Db, userId: string): Promise<string[]> {
  const revoked = await db
    .updateTable("api_keys")
    .set({ revoked_at: nowIso() })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .returning("id")
    .execute();
  return revoked.map((row) => row.id).sort();
}

export async function touchApiKey(db: Db, id: string, at: string): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
}
