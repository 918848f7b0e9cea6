/**
 * Support-access grants: the only way anyone but the user gets into a host.
 *
 * A grant is a JSON statement signed by one of the user's device keys
 * (core/zero-access/user-keys.ts, ECDSA P-256 / SHA-256, signature in the
 * IEEE P1363 `r || s` form WebCrypto produces). The signed bytes are the
 * UTF-8 of `statement` exactly as sent: nobody re-serializes it, so there is
 * no canonical-JSON question. The provider holds no user private key and so
 * cannot mint one; the host checks the signature against the public keys
 * pinned in its user data at creation and refuses anything else.
 *
 * The same code signs (dashboard, CLI), and verifies (host agent, API).
 */
import { buffer, fromBase64, randomBytes, toBase64Url, utf8 } from "./encoding.js";
import type { WebCryptoKey } from "./webcrypto-types.js";
import { SIGNATURE_PARAMS, type UserPublicKey, importSigningPublicKey, userKeyFingerprint } from "./user-keys.js";

export const SUPPORT_GRANT_KIND = "clawstack.support-grant";
export const SUPPORT_GRANT_VERSION = 1;
/** A grant lasts at most 24 hours (seed 001 §2). */
export const SUPPORT_GRANT_MAX_MS = 24 * 60 * 60 * 1000;
/** Clock skew tolerated between the signer's device and the host. */
export const SUPPORT_GRANT_SKEW_MS = 5 * 60 * 1000;
export const SUPPORT_GRANT_MAX_KEYS = 4;
export const SUPPORT_GRANT_MAX_SOURCES = 8;
export const SUPPORT_GRANT_MAX_REASON = 200;
/** The largest statement accepted (bytes), checked before parsing. */
export const SUPPORT_GRANT_MAX_STATEMENT = 8 * 1024;

/** SSH key types a support key may have (no RSA, no FIDO: the operator side is node-ssh). */
const SUPPORT_SSH_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256) [A-Za-z0-9+/]{40,200}={0,2}$/;
/** IPv4 or IPv6 CIDR shape; the host agent checks it strictly again with core/validation.ts. */
const CIDR_SHAPE = /^[0-9A-Fa-f:.]{2,45}\/\d{1,3}$/;
const INSTANCE_ID = /^inst_[0-9a-f]{32}$/;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

export interface SupportGrant {
  v: typeof SUPPORT_GRANT_VERSION;
  kind: typeof SUPPORT_GRANT_KIND;
  instanceId: string;
  /** OpenSSH public key lines (ssh-ed25519 or ecdsa-sha2-nistp256) without comments. */
  supportKeys: string[];
  /** CIDRs the support SSH connection may come from. */
  sources: string[];
  notBefore: string;
  notAfter: string;
  reason: string;
  /** base64url, at least 128 random bits: a grant is accepted once per host. */
  nonce: string;
  /** Fingerprint of the device key that signs it. */
  signer: string;
}

export interface SignedGrant {
  /** The statement's exact UTF-8 text. */
  statement: string;
  /** base64url of the 64-byte P1363 ECDSA signature over `statement`. */
  signature: string;
}

/** Why a grant is refused; `code` is stable (tests, audit, host logs), `message` says it to people. */
export class GrantError extends Error {
  constructor(
    readonly code:
      | "malformed"
      | "unknown-signer"
      | "bad-signature"
      | "wrong-instance"
      | "not-yet-valid"
      | "expired"
      | "too-long"
      | "replayed",
    message: string,
  ) {
    super(message);
    this.name = "GrantError";
  }
}

export interface GrantRequest {
  instanceId: string;
  supportKeys: string[];
  sources: string[];
  reason: string;
  /** Default: now. */
  notBefore?: Date;
  /** Default and maximum: notBefore + 24 h. */
  notAfter?: Date;
}

/** Builds and signs a grant with the user's device key (its private signing half may be non-extractable). */
export async function signGrant(request: GrantRequest, signer: { publicKey: UserPublicKey; signingKey: WebCryptoKey }): Promise<SignedGrant> {
  const notBefore = request.notBefore ?? new Date();
  const notAfter = request.notAfter ?? new Date(notBefore.getTime() + SUPPORT_GRANT_MAX_MS);
  const grant: SupportGrant = {
    v: SUPPORT_GRANT_VERSION,
    kind: SUPPORT_GRANT_KIND,
    instanceId: request.instanceId,
    supportKeys: request.supportKeys.map((key) => key.trim().split(/\s+/).slice(0, 2).join(" ")),
    sources: request.sources,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    reason: request.reason,
    nonce: toBase64Url(randomBytes(16)),
    signer: await userKeyFingerprint(signer.publicKey),
  };
  checkGrantFields(grant);
  return signStatement(grant, signer.signingKey);
}

/** The statement's JSON and its signature with the user's device key: the envelope of every signed grant. */
export async function signStatement(value: object, signingKey: WebCryptoKey): Promise<SignedGrant> {
  const statement = JSON.stringify(value);
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign(SIGNATURE_PARAMS, signingKey, buffer(utf8.encode(statement))));
  return { statement, signature: toBase64Url(signature) };
}

export interface VerifyOptions {
  /** The device keys pinned on this host (from its user data). */
  pinnedKeys: readonly UserPublicKey[];
  /** The host's own instance id. */
  instanceId: string;
  now: Date;
  /** True when this nonce was already accepted on this host. */
  nonceSeen?: (nonce: string) => boolean;
}

/** Verifies a signed grant for this host now; returns it, or throws `GrantError`. */
export async function verifyGrant(signed: unknown, options: VerifyOptions): Promise<SupportGrant> {
  const grant = await verifyStatement<SupportGrant>(signed, options.pinnedKeys, checkGrantFields);
  checkValidity(grant, options, SUPPORT_GRANT_MAX_MS, "24 hours");
  return grant;
}

/**
 * The envelope of every signed grant: `{statement, signature}` of the right shapes, the statement's JSON passing
 * `check` (its fields, naming the one that fails), signed by `signer`, which must be one of `pinnedKeys`.
 */
export async function verifyStatement<T extends { signer: string }>(signed: unknown, pinnedKeys: readonly UserPublicKey[], check: (value: T) => void): Promise<T> {
  if (typeof signed !== "object" || signed === null) throw new GrantError("malformed", "a grant must be { statement, signature }");
  const { statement, signature } = signed as Record<string, unknown>;
  if (typeof statement !== "string" || statement.length > SUPPORT_GRANT_MAX_STATEMENT) {
    throw new GrantError("malformed", `statement must be a string of at most ${SUPPORT_GRANT_MAX_STATEMENT} bytes`);
  }
  if (typeof signature !== "string" || !/^[A-Za-z0-9_-]{86}$/.test(signature)) {
    throw new GrantError("malformed", "signature must be the base64url of a 64-byte P-256 ECDSA signature");
  }
  let value: T;
  try {
    value = JSON.parse(statement) as T;
  } catch {
    throw new GrantError("malformed", "statement is not JSON");
  }
  check(value);
  let signerKey: UserPublicKey | undefined;
  for (const pinned of pinnedKeys) {
    if ((await userKeyFingerprint(pinned)) === value.signer) signerKey = pinned;
  }
  if (!signerKey) throw new GrantError("unknown-signer", `signer ${value.signer} is not a device key pinned on this host`);
  const verifyKey = await importSigningPublicKey("signer", signerKey.signing);
  const valid = await globalThis.crypto.subtle.verify(SIGNATURE_PARAMS, verifyKey, buffer(fromBase64(signature)), buffer(utf8.encode(statement)));
  if (!valid) throw new GrantError("bad-signature", "the signature does not verify with the signer's pinned key");
  return value;
}

/** A signed grant's validity for this host now: its instance, its window (at most `maxMs`, `maxText` in words), its nonce. */
export function checkValidity(
  grant: { instanceId: string; notBefore: string; notAfter: string; nonce: string },
  options: Omit<VerifyOptions, "pinnedKeys">,
  maxMs: number,
  maxText: string,
): void {
  if (grant.instanceId !== options.instanceId) {
    throw new GrantError("wrong-instance", `the grant is for ${grant.instanceId}, not this host (${options.instanceId})`);
  }
  const now = options.now.getTime();
  const notBefore = Date.parse(grant.notBefore);
  const notAfter = Date.parse(grant.notAfter);
  if (notAfter - notBefore > maxMs) throw new GrantError("too-long", `a grant lasts at most ${maxText}`);
  if (now + SUPPORT_GRANT_SKEW_MS < notBefore) throw new GrantError("not-yet-valid", `the grant starts at ${grant.notBefore}`);
  if (now >= notAfter) throw new GrantError("expired", `the grant ended at ${grant.notAfter}`);
  if (options.nonceSeen?.(grant.nonce)) throw new GrantError("replayed", "this grant was already used on this host");
}

/** Structural checks of every field; throws `GrantError("malformed")` naming the field. */
export function checkGrantFields(grant: SupportGrant): void {
  const fail = (field: string, allowed: string): never => {
    throw new GrantError("malformed", `\`${field}\` must be ${allowed}`);
  };
  if (typeof grant !== "object" || grant === null || Array.isArray(grant)) fail("statement", "a JSON object");
  const known = ["v", "kind", "instanceId", "supportKeys", "sources", "notBefore", "notAfter", "reason", "nonce", "signer"];
  for (const key of Object.keys(grant)) if (!known.includes(key)) fail(key, `absent (allowed fields: ${known.join(", ")})`);
  if (grant.v !== SUPPORT_GRANT_VERSION) fail("v", String(SUPPORT_GRANT_VERSION));
  if (grant.kind !== SUPPORT_GRANT_KIND) fail("kind", `"${SUPPORT_GRANT_KIND}"`);
  if (typeof grant.instanceId !== "string" || !INSTANCE_ID.test(grant.instanceId)) fail("instanceId", "inst_ + 32 hex characters");
  if (!Array.isArray(grant.supportKeys) || grant.supportKeys.length < 1 || grant.supportKeys.length > SUPPORT_GRANT_MAX_KEYS) {
    fail("supportKeys", `a list of 1 to ${SUPPORT_GRANT_MAX_KEYS} OpenSSH public keys`);
  }
  grant.supportKeys.forEach((key, i) => {
    if (typeof key !== "string" || !SUPPORT_SSH_KEY.test(key)) fail(`supportKeys[${i}]`, "an ssh-ed25519 or ecdsa-sha2-nistp256 public key line without comment");
  });
  if (!Array.isArray(grant.sources) || grant.sources.length < 1 || grant.sources.length > SUPPORT_GRANT_MAX_SOURCES) {
    fail("sources", `a list of 1 to ${SUPPORT_GRANT_MAX_SOURCES} CIDR blocks`);
  }
  grant.sources.forEach((cidr, i) => {
    if (typeof cidr !== "string" || !CIDR_SHAPE.test(cidr) || cidr.endsWith("/0")) fail(`sources[${i}]`, "a CIDR block narrower than /0");
  });
  for (const field of ["notBefore", "notAfter"] as const) {
    const value = grant[field];
    if (typeof value !== "string" || !ISO_UTC.test(value) || Number.isNaN(Date.parse(value))) fail(field, "an ISO 8601 UTC time (…Z)");
  }
  if (Date.parse(grant.notAfter) <= Date.parse(grant.notBefore)) fail("notAfter", "later than notBefore");
  if (Date.parse(grant.notAfter) - Date.parse(grant.notBefore) > SUPPORT_GRANT_MAX_MS) {
    throw new GrantError("too-long", "`notAfter` must be at most 24 hours after `notBefore`");
  }
  if (
    typeof grant.reason !== "string" ||
    grant.reason.trim().length === 0 ||
    grant.reason.length > SUPPORT_GRANT_MAX_REASON ||
    hasControlCharacters(grant.reason)
  ) {
    fail("reason", `1 to ${SUPPORT_GRANT_MAX_REASON} printable characters`);
  }
  if (typeof grant.nonce !== "string" || !NONCE.test(grant.nonce)) fail("nonce", "base64url of at least 16 random bytes");
  if (typeof grant.signer !== "string" || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(grant.signer)) fail("signer", "a device key fingerprint SHA256:<43 base64 characters>");
}

/** C0/C1 controls and bidi overrides: refused in the reason the user and the host log show. */
function hasControlCharacters(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return true;
  }
  return false;
}
