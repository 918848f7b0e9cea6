/**
 * The host's own credential: a `cshost_` token the host makes at first boot
 * and sends once, at registration (POST /v1/instances/:id/register
 * `hostToken`). The API stores only its SHA-256 (`instances.host_token_hash`)
 * and compares in constant time. A host token opens only the host routes of
 * its own instance; it is never logged (the logger redacts `authorization`).
 */
import type { FastifyRequest } from "fastify";
import type { Kysely, Transaction } from "kysely";
import { equalHex, sha256Hex } from "../auth/tokens";
import type { Database } from "../db/schema";
import { HttpError } from "../http/errors";
import { findInstance, setHostTokenHash } from "./repo";

export const HOST_TOKEN_PATTERN = /^cshost_[A-Za-z0-9_-]{43}$/;

/** Who calls a host route: the instance whose token was presented, and its owner. */
export interface HostPrincipal {
  instanceId: string;
  ownerId: string;
  pinnedKeys: string | null;
}

const REFUSED = "`Authorization`: expected `Bearer cshost_...`, the host token this instance registered";

/**
 * Checks `Authorization: Bearer cshost_...` against the instance of the
 * path. An unknown instance, an instance without a host token and a token of
 * another instance answer alike (401): ids are not confirmed to strangers.
 */
export async function authenticateHost(db: Kysely<Database>, request: FastifyRequest, instanceId: string): Promise<HostPrincipal> {
  const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
  const token = match?.[1];
  if (token === undefined || !HOST_TOKEN_PATTERN.test(token)) throw new HttpError(401, REFUSED);
  const presented = sha256Hex(token);
  const instance = await findInstance(db, instanceId);
  // Compared even when there is nothing to compare with, so both paths take about as long.
  const stored = instance?.host_token_hash ?? "0".repeat(64);
  const matches = equalHex(stored, presented);
  // A destroyed instance's host is gone: its token opens nothing any more.
  if (!instance || instance.host_token_hash === null || !matches || instance.status === "destroyed") throw new HttpError(401, REFUSED);
  return { instanceId: instance.id, ownerId: instance.user_id, pinnedKeys: instance.pinned_keys };
}

/** Stores the hash of the token a host sent at registration (replacing an earlier one: a re-registration brings a new token). */
export async function storeHostToken(db: Kysely<Database> | Transaction<Database>, instanceId: string, token: string): Promise<void> {
  await setHostTokenHash(db, instanceId, sha256Hex(token));
}

/**
 * A host that registered without a credential has no support agent (docs/zero-access.md): a credential an
 * earlier host of the instance sent is forgotten, so the API never takes a grant this host cannot receive.
 */
export async function forgetHostToken(db: Kysely<Database> | Transaction<Database>, instanceId: string): Promise<void> {
  await setHostTokenHash(db, instanceId, null);
}
