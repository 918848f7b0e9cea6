/**
 * What the zero-access route files share: the signed-in caller, the caller's own instance (with the
 * zero-access columns), and a refused grant as the HTTP error that names the statement's field.
 */
import type { FastifyRequest } from "fastify";
import { GrantError } from "../../core/zero-access/support-grant";
import type { Principal } from "../auth/principal";
import { HttpError, notFound, unauthorized } from "../http/errors";
import * as repo from "./repo";

/** The signed-in caller; the group's hook guarantees one, this says so to the type checker. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

export async function ownInstance(db: Parameters<typeof repo.findUserInstance>[0], userId: string, id: string): Promise<repo.ZeroAccessInstance> {
  const instance = await repo.findUserInstance(db, userId, id);
  if (!instance) throw notFound(`instance \`${id}\``);
  return instance;
}

/** A refused grant: 409 for a replay, else 400 naming the statement's field (or the signature). */
export function grantRefusal(error: GrantError): HttpError {
  const message = `grant refused (${error.code}): ${error.message}`;
  if (error.code === "replayed") return new HttpError(409, message, "body.statement.nonce");
  if (error.code === "bad-signature") return new HttpError(400, message, "body.signature");
  const named = /^`([A-Za-z]+)(?:\[\d+\])?`/.exec(error.message)?.[1];
  const field = named ?? { "unknown-signer": "signer", "wrong-instance": "instanceId", "not-yet-valid": "notBefore", expired: "notAfter", "too-long": "notAfter" }[error.code as string];
  return new HttpError(400, message, field ? `body.statement.${field}` : "body.statement");
}

/** A grant's status now, either kind: revoked, ended, or active. */
export function grantStatus(row: { revoked_at: string | null; not_after: string }, now: number): "active" | "revoked" | "expired" {
  if (row.revoked_at !== null) return "revoked";
  return Date.parse(row.not_after) <= now ? "expired" : "active";
}
