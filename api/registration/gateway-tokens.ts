/**
 * A registered host's gateway token, kept like a vault credential: sealed
 * with AES-256-GCM under a random data key bound to the user, the secret's id
 * and its kind, the data key wrapped by the vault's key wrapper (the user's
 * key derived from the master keyring). Plaintext exists only in memory.
 */
import type { Kysely, Transaction } from "kysely";
import { newId, nowIso } from "../db/ids";
import type { Database } from "../db/schema";
import { findUserKeySalt } from "../vault/credentials-repo";
import { newDataKey, open, seal } from "../vault/envelope";
import type { KeyWrapper, WrapContext } from "../vault/key-wrapper";
import "../jobs/tables";

const KIND = "gateway-token" as const;

type Db = Kysely<Database> | Transaction<Database>;

/** Seals and stores the token, replacing the instance's earlier one. Returns the secret's id. */
export async function storeGatewayToken(
  db: Db,
  wrapper: KeyWrapper,
  request: { userId: string; instanceId: string; token: string },
): Promise<string> {
  const salt = await findUserKeySalt(db as Kysely<Database>, request.userId);
  if (!salt) throw new Error("the instance's user no longer exists");
  const id = newId("isec");
  const context: WrapContext = { userId: request.userId, userKeySalt: salt, credentialId: id, kind: KIND };
  const dataKey = newDataKey();
  try {
    const sealed = seal(Buffer.from(request.token, "utf8"), dataKey, context);
    const { wrapped, keyVersion } = await wrapper.wrap(context, dataKey);
    await db.deleteFrom("instance_secrets").where("instance_id", "=", request.instanceId).where("kind", "=", KIND).execute();
    await db
      .insertInto("instance_secrets")
      .values({
        id,
        instance_id: request.instanceId,
        user_id: request.userId,
        kind: KIND,
        ciphertext: sealed.ciphertext,
        iv: sealed.iv,
        auth_tag: sealed.authTag,
        wrapped_key: wrapped,
        key_version: keyVersion,
        wrap_kind: wrapper.kind,
        created_at: nowIso(),
      })
      .execute();
  } finally {
    dataKey.fill(0);
  }
  return id;
}

/** Decrypts an instance's gateway token in memory (for the parts of ClawStack that talk to the host). */
export async function readGatewayToken(db: Kysely<Database>, wrapper: KeyWrapper, instanceId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("instance_secrets")
    .selectAll()
    .where("instance_id", "=", instanceId)
    .where("kind", "=", KIND)
    .executeTakeFirst();
  if (!row) return undefined;
  const salt = await findUserKeySalt(db, row.user_id);
  if (!salt) return undefined;
  const context: WrapContext = { userId: row.user_id, userKeySalt: salt, credentialId: row.id, kind: KIND };
  const dataKey = await wrapper.unwrap(context, row.wrapped_key, row.key_version, row.wrap_kind);
  try {
    return open({ ciphertext: row.ciphertext, iv: row.iv, authTag: row.auth_tag }, dataKey, context).toString("utf8");
  } finally {
    dataKey.fill(0);
  }
}
