/**
 * Signing an account out everywhere (a password change, an admin's forced
 * sign-out): every refresh token is revoked, every access token issued
 * before now is refused, and every agent API key is revoked too, unless the
 * request explicitly keeps them (`keepApiKeys: true`). Whoever took over a
 * session could have minted a key; a sign-out that spared keys would leave
 * them in. Each revoked key gets its own audit entry, in the caller's
 * transaction.
 */
import type { AuditLog } from "../audit/audit-log";
import { revokeAllApiKeys } from "./api-keys-repo";
import { revokeAllForUser } from "./sessions-repo";
import type { Db } from "./users-repo";

export interface SignOutRequest {
  userId: string;
  /** Leave the account's API keys working (default: revoke them). */
  keepApiKeys: boolean;
  /** Why, for the audit action: `api_key.revoke.<reason>`. */
  reason: "password_change" | "sign_out";
  /** Who asked, for the audit entries. */
  by: { userId: string; ip: string; requestId: string };
}

/** Signs the account out everywhere in `trx`; returns how many API keys it revoked. */
export async function signOutEverywhere(trx: Db, audit: AuditLog, request: SignOutRequest): Promise<{ apiKeysRevoked: number }> {
  await revokeAllForUser(trx, request.userId);
  const entry = { result: "ok" as const, actorUserId: request.by.userId, actorKind: "user" as const, ip: request.by.ip, requestId: request.by.requestId };
  if (request.keepApiKeys) {
    await audit.record({ ...entry, action: `api_key.keep.${request.reason}`, target: request.userId }, trx);
    return { apiKeysRevoked: 0 };
  }
  const revoked = await revokeAllApiKeys(trx, request.userId);
  for (const keyId of revoked) await audit.record({ ...entry, action: `api_key.revoke.${request.reason}`, target: keyId }, trx);
  return { apiKeysRevoked: revoked.length };
}
