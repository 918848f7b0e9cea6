/**
 * A registered host's gateway token, kept like a vault credential: sealed by
 * the vault's sealing service (`api/vault/sealing.ts`) and bound to the user,
 * the secret's id and its kind. Plaintext exists only in memory.
 */
import type { Kysely, Transaction } from "kysely";
import { newId, nowIso } from "../db/ids";
import type { Database, Instance } from "../db/schema";
import { findUserKeySalt } from "../vault/credentials-repo";
import type { KeyWrapper, WrapContext } from "../vault/key-wrapper";
import { openSecret, sealedColumns, sealSecret } from "../vault/sealing";
import { findInstanceSecret, replaceInstanceSecret } from "./instance-secrets-repo";

const KIND = "gateway-token" as const;

type Db = Kysely<Database> | Transaction<Database>;

/** Why an instance cannot rotate its gateway token now, or undefined. */
export function gatewayRotationRefusal(instance: Pick<Instance, "id" | "status" | "registered_at">): string | undefined {
  if (instance.status === "destroyed") return `instance \`${instance.id}\` is destroyed`;
  if (instance.registered_at === null) return `instance \`${instance.id}\` has not registered a gateway token yet; its host registers at first boot`;
  return undefined;
}

/** Seals and stores the token, replacing the instance's earlier one. Returns the secret's id. */
export async function storeGatewayToken(
  db: Db,
  wrapper: KeyWrapper,
  request: { userId: string; instanceId: string; token: string },
): Promise<string> {
  const salt = await findUserKeySalt(db, request.userId);
  if (!salt) throw new Error("the instance's user no longer exists");
  const id = newId("isec");
  const context: WrapContext = { userId: request.userId, userKeySalt: salt, credentialId: id, kind: KIND };
  const sealed = await sealSecret(wrapper, context, Buffer.from(request.token, "utf8"));
  await replaceInstanceSecret(db, {
    id,
    instance_id: request.instanceId,
    user_id: request.userId,
    kind: KIND,
    ...sealedColumns(sealed),
    created_at: nowIso(),
  });
  return id;
}

/** Decrypts an instance's gateway token in memory (for the parts of ClawStack that talk to the host). */
export async function readGatewayToken(db: Kysely<Database>, wrapper: KeyWrapper, instanceId: string): Promise<string | undefined> {
  const row = await findInstanceSecret(db, instanceId, KIND);
  if (!row) return undefined;
  const salt = await findUserKeySalt(db, row.user_id);
  if (!salt) return undefined;
  const context: WrapContext = { userId: row.user_id, userKeySalt: salt, credentialId: row.id, kind: KIND };
  const sealed = { ciphertext: row.ciphertext, iv: row.iv, authTag: row.auth_tag, wrappedKey: row.wrapped_key, keyVersion: row.key_version, wrapKind: row.wrap_kind };
  return (await openSecret(wrapper, context, sealed)).toString("utf8");
}
