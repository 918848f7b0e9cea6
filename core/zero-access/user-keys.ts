/**
 * A user's own device key: two P-256 key pairs the provider never sees.
 *
 *   signing   ECDSA P-256 / SHA-256: signs support-access grants
 *             (core/zero-access/support-grant.ts)
 *   sealing   ECDH P-256: hosts seal the ClawChat security file and bootstrap
 *             key to it (core/zero-access/sealed-box.ts)
 *
 * WebCrypto keys are bound to one algorithm, so a device holds both. In the
 * browser both private halves are made non-extractable and live in IndexedDB;
 * the CLI keeps a file key (PKCS#8, mode 0600). Only the public halves reach
 * the API, as base64 SPKI DER, and are pinned in a new host's user data.
 *
 * The fingerprint covers both halves (`SHA256:` + unpadded base64 of
 * SHA-256(len(signing) || signing || len(sealing) || sealing)), so a
 * substituted half of either kind shows as a different fingerprint.
 */
import { buffer, fromBase64, toBase64 } from "./encoding.js";
import type { WebCryptoKey, WebCryptoKeyPair, WebCryptoKeyUsage } from "./webcrypto-types.js";

export const SIGNING_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
export const SIGNATURE_PARAMS = { name: "ECDSA", hash: "SHA-256" } as const;
export const SEALING_ALGORITHM = { name: "ECDH", namedCurve: "P-256" } as const;

/** The public halves of one device key, as the API stores and hosts pin them. */
export interface UserPublicKey {
  /** base64 SPKI DER of the ECDSA P-256 public key. */
  signing: string;
  /** base64 SPKI DER of the ECDH P-256 public key. */
  sealing: string;
}

export interface UserKeyPair {
  signing: WebCryptoKeyPair;
  sealing: WebCryptoKeyPair;
}

/** A P-256 SPKI DER is 91 bytes; anything far off is refused before WebCrypto sees it. */
const SPKI_MAX_BASE64 = 200;

/** Makes a device key. `extractable: false` in the browser; the CLI needs `true` to write its file. */
export async function generateUserKeyPair(options: { extractable: boolean }): Promise<UserKeyPair> {
  const subtle = globalThis.crypto.subtle;
  const signing = await subtle.generateKey(SIGNING_ALGORITHM, options.extractable, ["sign", "verify"]);
  const sealing = await subtle.generateKey(SEALING_ALGORITHM, options.extractable, ["deriveBits"]);
  return { signing, sealing };
}

export async function exportUserPublicKey(pair: UserKeyPair): Promise<UserPublicKey> {
  const subtle = globalThis.crypto.subtle;
  const signing = new Uint8Array(await subtle.exportKey("spki", pair.signing.publicKey));
  const sealing = new Uint8Array(await subtle.exportKey("spki", pair.sealing.publicKey));
  return { signing: toBase64(signing), sealing: toBase64(sealing) };
}

/** `SHA256:<base64>`: what the dashboard, the CLI and the host show for a device key. */
export async function userKeyFingerprint(key: UserPublicKey): Promise<string> {
  const signing = fromBase64(key.signing);
  const sealing = fromBase64(key.sealing);
  const joined = new Uint8Array(8 + signing.length + sealing.length);
  const view = new DataView(joined.buffer);
  view.setUint32(0, signing.length);
  joined.set(signing, 4);
  view.setUint32(4 + signing.length, sealing.length);
  joined.set(sealing, 8 + signing.length);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", buffer(joined)));
  return `SHA256:${toBase64(digest).replace(/=+$/, "")}`;
}

export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Thrown with the field that is wrong and what is allowed. */
export class UserKeyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "UserKeyError";
  }
}

export async function importSigningPublicKey(field: string, spki: unknown): Promise<WebCryptoKey> {
  return importSpki(field, spki, SIGNING_ALGORITHM, ["verify"]);
}

export async function importSealingPublicKey(field: string, spki: unknown): Promise<WebCryptoKey> {
  return importSpki(field, spki, SEALING_ALGORITHM, []);
}

/**
 * Checks a submitted public key record: both halves must be base64 SPKI DER
 * of P-256 keys of the right algorithm. Returns the normalized record and its
 * fingerprint, or throws `UserKeyError` naming `field.signing`/`field.sealing`.
 */
export async function parseUserPublicKey(field: string, value: unknown): Promise<{ key: UserPublicKey; fingerprint: string }> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserKeyError(field, `\`${field}\` must be an object { signing, sealing } of base64 SPKI P-256 public keys`);
  }
  const record = value as Record<string, unknown>;
  for (const extra of Object.keys(record)) {
    if (extra !== "signing" && extra !== "sealing") {
      throw new UserKeyError(`${field}.${extra}`, `\`${field}.${extra}\` is not a known field; allowed: signing, sealing`);
    }
  }
  const signingKey = await importSigningPublicKey(`${field}.signing`, record.signing);
  const sealingKey = await importSealingPublicKey(`${field}.sealing`, record.sealing);
  const subtle = globalThis.crypto.subtle;
  const key: UserPublicKey = {
    signing: toBase64(new Uint8Array(await subtle.exportKey("spki", signingKey))),
    sealing: toBase64(new Uint8Array(await subtle.exportKey("spki", sealingKey))),
  };
  return { key, fingerprint: await userKeyFingerprint(key) };
}

async function importSpki(
  field: string,
  spki: unknown,
  algorithm: typeof SIGNING_ALGORITHM | typeof SEALING_ALGORITHM,
  usages: WebCryptoKeyUsage[],
): Promise<WebCryptoKey> {
  const allowed = `base64 SPKI DER of an ${algorithm.name} ${algorithm.namedCurve} public key`;
  if (typeof spki !== "string" || spki.length === 0 || spki.length > SPKI_MAX_BASE64) {
    throw new UserKeyError(field, `\`${field}\` must be ${allowed}`);
  }
  let der: Uint8Array;
  try {
    der = fromBase64(spki);
  } catch {
    throw new UserKeyError(field, `\`${field}\` must be ${allowed}; it is not base64`);
  }
  try {
    return await globalThis.crypto.subtle.importKey("spki", buffer(der), algorithm, true, usages);
  } catch {
    throw new UserKeyError(field, `\`${field}\` must be ${allowed}; it does not parse as one`);
  }
}
