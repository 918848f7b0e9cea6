/** SQL for credentials and the per-user key salts. */
import type { Kysely } from "kysely";
import { nowIso } from "../db/ids";
import type { Credential, CredentialKind, CredentialsTable, Database } from "../db/schema";

type Db = Kysely<Database>;

export async function findUserKeySalt(db: Db, userId: string): Promise<Buffer | undefined> {
  const row = await db.selectFrom("user_keys").select("key_salt").where("user_id", "=", userId).executeTakeFirst();
  return row ? Buffer.from(row.key_salt, "base64") : undefined;
}

export async function insertCredential(db: Db, row: CredentialsTable): Promise<void> {
  await db.insertInto("credentials").values(row).execute();
}

export function findCredential(db: Db, userId: string, id: string): Promise<Credential | undefined> {
  return db.selectFrom("credentials").selectAll().where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
}

export function listCredentials(db: Db, userId: string): Promise<Credential[]> {
  return db.selectFrom("credentials").selectAll().where("user_id", "=", userId).orderBy("created_at").execute();
}

export async function deleteCredential(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom("credentials").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function markUsed(db: Db, id: string): Promise<void> {
  await db.updateTable("credentials").set({ last_used_at: nowIso() }).where("id", "=", id).execute();
}

export async function markTested(db: Db, id: string, ok: boolean): Promise<void> {
  await db.updateTable("credentials").set({ last_tested_at: nowIso(), last_test_ok: ok ? 1 : 0 }).where("id", "=", id).execute();
}

/**
 * Why a worker cannot provision on `cloud` with this credential, or undefined
 * when it can: the one "usable credential" rule. A worker has no passphrase,
 * so a credential in passphrase mode is never usable for a job.
 */
export function credentialUnusable(row: Pick<Credential, "kind" | "passphrase_salt">, cloud: CredentialKind): "other_cloud" | "passphrase" | undefined {
  if (row.kind !== cloud) return "other_cloud";
  if (row.passphrase_salt !== null) return "passphrase";
  return undefined;
}

/**
 * A credential of the user's a worker can use on `cloud`: the one named by
 * `id` if it is usable, else (no `id`) the newest usable one.
 */
export async function findUsableCredential(db: Db, userId: string, cloud: CredentialKind, id?: string): Promise<Credential | undefined> {
  if (id !== undefined) {
    const row = await findCredential(db, userId, id);
    return row && credentialUnusable(row, cloud) === undefined ? row : undefined;
  }
  const rows = await db.selectFrom("credentials").selectAll().where("user_id", "=", userId).where("kind", "=", cloud).orderBy("created_at", "desc").execute();
  return rows.find((row) => credentialUnusable(row, cloud) === undefined);
}
