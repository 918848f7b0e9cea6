/**
 * The one sealing service of the API: every secret it keeps (a vault
 * credential, a host's gateway token) is sealed here and opened here.
 *
 * A secret is encrypted with AES-256-GCM under its own random data key
 * (`envelope.ts`), with associated data binding it to its user, its id and its
 * kind; the data key is wrapped by the vault's `KeyWrapper` (the user's key
 * derived from the master keyring, or a KMS) under the same binding. A
 * passphrase key, when given, is mixed into the content key, so the wrapped
 * data key alone cannot open it. The data key is zeroed once used; plaintext
 * exists only in the caller's memory.
 */
import { contentKey, newDataKey, open, seal } from "./envelope";
import type { KeyWrapper, WrapContext } from "./key-wrapper";

/** A sealed secret as stored: its columns in `credentials` and `instance_secrets`. */
export interface SealedSecret {
  ciphertext: string;
  iv: string;
  authTag: string;
  /** The data key, wrapped (base64). */
  wrappedKey: string;
  /** The master key version (or KMS key version) it is wrapped under. */
  keyVersion: number;
  /** `local`, `kms` or `gcp-kms`; null on rows from before the column was filled (read as the wrapper's own kind). */
  wrapKind: string | null;
}

/** The columns a sealed secret is stored in (the vault's credentials and the instances' secrets alike). */
export function sealedColumns<S extends SealedSecret>(
  sealed: S,
): { ciphertext: string; iv: string; auth_tag: string; wrapped_key: string; key_version: number; wrap_kind: S["wrapKind"] } {
  return {
    ciphertext: sealed.ciphertext,
    iv: sealed.iv,
    auth_tag: sealed.authTag,
    wrapped_key: sealed.wrappedKey,
    key_version: sealed.keyVersion,
    wrap_kind: sealed.wrapKind,
  };
}

/** The content did not authenticate under this key and context (tampered, moved, or a wrong passphrase key). */
export class SealBrokenError extends Error {
  override name = "SealBrokenError";
}

/** Seals `plaintext` bound to `context` (user, the secret's id, its kind). */
export async function sealSecret(
  wrapper: KeyWrapper,
  context: WrapContext,
  plaintext: Buffer,
  passphraseKey?: Buffer,
): Promise<SealedSecret & { wrapKind: string }> {
  const dataKey = newDataKey();
  try {
    const sealed = seal(plaintext, contentKey(dataKey, passphraseKey), context);
    const { wrapped, keyVersion } = await wrapper.wrap(context, dataKey);
    return { ...sealed, wrappedKey: wrapped, keyVersion, wrapKind: wrapper.kind };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Opens a sealed secret. A data key that does not unwrap throws the wrapper's
 * error; content that does not authenticate throws `SealBrokenError`.
 */
export async function openSecret(
  wrapper: KeyWrapper,
  context: WrapContext,
  sealed: SealedSecret,
  passphraseKey?: Buffer,
): Promise<Buffer> {
  const dataKey = await wrapper.unwrap(context, sealed.wrappedKey, sealed.keyVersion, sealed.wrapKind);
  try {
    return open(sealed, contentKey(dataKey, passphraseKey), context);
  } catch {
    throw new SealBrokenError(`secret \`${context.credentialId}\` does not open (tampered, or a wrong key or context)`);
  } finally {
    dataKey.fill(0);
  }
}
