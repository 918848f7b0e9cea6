/**
 * Gateway setup grants: the user's signed consent that Claw Cloud's chat
 * proxy may hold OpenClaw's `operator.admin` scope on one instance's gateway
 * for a short window, so that the dashboard can set the model provider and
 * its key through the proxy (OpenClaw gives `config.patch` and
 * `models.authSetApiKey` to admin only). Outside such a window the host
 * approves the proxy's device for the chat scopes only.
 *
 * Same envelope as support grants (core/zero-access/support-grant.ts): a JSON
 * statement signed by one of the user's device keys, verified by the API and
 * again by the host's agent against the keys pinned at creation. The provider
 * holds no user private key and so cannot mint one.
 */
import { randomBytes, toBase64Url } from "./encoding.js";
import { checkValidity, GrantError, SUPPORT_GRANT_MAX_REASON, type SignedGrant, signStatement, type VerifyOptions, verifyStatement } from "./support-grant.js";
import type { WebCryptoKey } from "./webcrypto-types.js";
import { type UserPublicKey, userKeyFingerprint } from "./user-keys.js";

export const GATEWAY_ADMIN_GRANT_KIND = "clawstack.gateway-admin-grant";
export const GATEWAY_ADMIN_GRANT_VERSION = 1;
/** A setup window lasts at most one hour; the dashboard asks for 15 minutes. */
export const GATEWAY_ADMIN_GRANT_MAX_MS = 60 * 60 * 1000;

const INSTANCE_ID = /^inst_[0-9a-f]{32}$/;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

export interface GatewayAdminGrant {
  v: typeof GATEWAY_ADMIN_GRANT_VERSION;
  kind: typeof GATEWAY_ADMIN_GRANT_KIND;
  instanceId: string;
  notBefore: string;
  notAfter: string;
  reason: string;
  /** base64url, at least 128 random bits. */
  nonce: string;
  /** Fingerprint of the device key that signs it. */
  signer: string;
}

export interface GatewayAdminGrantRequest {
  instanceId: string;
  reason: string;
  /** Default: now. */
  notBefore?: Date;
  /** Default: notBefore + 15 minutes; at most one hour after it. */
  notAfter?: Date;
}

/** Builds and signs a setup grant with the user's device key (its private half may be non-extractable). */
export async function signGatewayAdminGrant(request: GatewayAdminGrantRequest, signer: { publicKey: UserPublicKey; signingKey: WebCryptoKey }): Promise<SignedGrant> {
  const notBefore = request.notBefore ?? new Date();
  const notAfter = request.notAfter ?? new Date(notBefore.getTime() + 15 * 60 * 1000);
  const grant: GatewayAdminGrant = {
    v: GATEWAY_ADMIN_GRANT_VERSION,
    kind: GATEWAY_ADMIN_GRANT_KIND,
    instanceId: request.instanceId,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    reason: request.reason,
    nonce: toBase64Url(randomBytes(16)),
    signer: await userKeyFingerprint(signer.publicKey),
  };
  checkGatewayAdminGrantFields(grant);
  return signStatement(grant, signer.signingKey);
}

/** Verifies a signed setup grant for this instance now; returns it, or throws `GrantError`. */
export async function verifyGatewayAdminGrant(signed: unknown, options: VerifyOptions): Promise<GatewayAdminGrant> {
  const grant = await verifyStatement<GatewayAdminGrant>(signed, options.pinnedKeys, checkGatewayAdminGrantFields);
  checkValidity(grant, options, GATEWAY_ADMIN_GRANT_MAX_MS, "one hour");
  return grant;
}

/** Structural checks of every field; throws `GrantError` naming the field. */
export function checkGatewayAdminGrantFields(grant: GatewayAdminGrant): void {
  const fail = (field: string, allowed: string): never => {
    throw new GrantError("malformed", `\`${field}\` must be ${allowed}`);
  };
  if (typeof grant !== "object" || grant === null || Array.isArray(grant)) fail("statement", "a JSON object");
  const known = ["v", "kind", "instanceId", "notBefore", "notAfter", "reason", "nonce", "signer"];
  for (const key of Object.keys(grant)) if (!known.includes(key)) fail(key, `absent (allowed fields: ${known.join(", ")})`);
  if (grant.v !== GATEWAY_ADMIN_GRANT_VERSION) fail("v", String(GATEWAY_ADMIN_GRANT_VERSION));
  if (grant.kind !== GATEWAY_ADMIN_GRANT_KIND) fail("kind", `"${GATEWAY_ADMIN_GRANT_KIND}"`);
  if (typeof grant.instanceId !== "string" || !INSTANCE_ID.test(grant.instanceId)) fail("instanceId", "inst_ + 32 hex characters");
  for (const field of ["notBefore", "notAfter"] as const) {
    const value = grant[field];
    if (typeof value !== "string" || !ISO_UTC.test(value) || Number.isNaN(Date.parse(value))) fail(field, "an ISO 8601 UTC time (…Z)");
  }
  if (Date.parse(grant.notAfter) <= Date.parse(grant.notBefore)) fail("notAfter", "later than notBefore");
  if (Date.parse(grant.notAfter) - Date.parse(grant.notBefore) > GATEWAY_ADMIN_GRANT_MAX_MS) {
    throw new GrantError("too-long", "`notAfter` must be at most one hour after `notBefore`");
  }
  if (typeof grant.reason !== "string" || grant.reason.trim().length === 0 || grant.reason.length > SUPPORT_GRANT_MAX_REASON || /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(grant.reason)) {
    fail("reason", `1 to ${SUPPORT_GRANT_MAX_REASON} printable characters`);
  }
  if (typeof grant.nonce !== "string" || !NONCE.test(grant.nonce)) fail("nonce", "base64url of at least 16 random bytes");
  if (typeof grant.signer !== "string" || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(grant.signer)) fail("signer", "a device key fingerprint SHA256:<43 base64 characters>");
}
