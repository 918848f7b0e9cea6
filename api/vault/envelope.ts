/**
 * Content encryption of one credential: AES-256-GCM under its own random
 * data key, with associated data binding the user, the credential id and the
 * provider (so a ciphertext moved to another row or user does not decrypt).
 * In passphrase mode the content key mixes the data key with a key derived
 * from the user's passphrase, so the data key alone (all the provider holds)
 * is not enough.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

export interface Sealed {
  ciphertext: string;
  iv: string;
  authTag: string;
}

export interface ContentContext {
  userId: string;
  credentialId: string;
  kind: string;
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

/** The key that encrypts the content: the data key, or the data key mixed with the passphrase key. */
export function contentKey(dataKey: Buffer, passphraseKey: Buffer | undefined): Buffer {
  if (passphraseKey === undefined) return dataKey;
  return Buffer.from(hkdfSync("sha256", Buffer.concat([dataKey, passphraseKey]), Buffer.alloc(0), "clawstack/passphrase-content-key", 32));
}

export function seal(plaintext: Buffer, key: Buffer, context: ContentContext): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(contentAad(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext: ciphertext.toString("base64"), iv: iv.toString("base64"), authTag: cipher.getAuthTag().toString("base64") };
}

/** Throws when the key, the context or the bytes are not the ones sealed. */
export function open(sealed: Sealed, key: Buffer, context: ContentContext): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
  decipher.setAAD(contentAad(context));
  decipher.setAuthTag(Buffer.from(sealed.authTag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]);
}

function contentAad(context: ContentContext): Buffer {
  return Buffer.from(`clawstack/credential/v1|${context.userId}|${context.credentialId}|${context.kind}`);
}
