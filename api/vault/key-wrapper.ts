/**
 * Wrapping of per-credential data keys. The vault only talks to the
 * `KeyWrapper` interface; `LocalKeyWrapper` derives a per-user key with
 * HKDF-SHA256 from the versioned master key and the user's random salt, and
 * wraps with AES-256-GCM. `KmsKeyWrapper` (kms-key-wrapper.ts) implements the
 * same interface with AWS KMS Encrypt/Decrypt — see docs/api.md.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { MasterKeyring } from "./keyring";

/** What a wrapped data key is bound to: unwrapping under any other context fails. */
export interface WrapContext {
  userId: string;
  /** The user's random key salt (from `user_keys`); gone with the user. */
  userKeySalt: Buffer;
  credentialId: string;
  kind: string;
}

export interface KeyWrapper {
  readonly kind: "local" | "kms" | "gcp-kms";
  currentVersion(): number;
  wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }>;
  /** `wrapKind` is the row's recorded `wrap_kind` (`local`, `kms`); wrappers of one kind may ignore it. */
  unwrap(context: WrapContext, wrapped: string, keyVersion: number, wrapKind?: string | null): Promise<Buffer>;
  /** Drops anything cached for this user (called when the user is deleted). */
  forgetUser(userId: string): void;
}

export class VaultKeyError extends Error {
  override name = "VaultKeyError";
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const USER_KEY_CACHE_LIMIT = 10_000;

export class LocalKeyWrapper implements KeyWrapper {
  readonly kind = "local" as const;
  /** Derived per-user keys by `version|user`, with the salt they came from, so repeated decrypts skip HKDF. */
  private readonly userKeys = new Map<string, { salt: Buffer; key: Buffer }>();

  constructor(private readonly keyring: MasterKeyring) {}

  currentVersion(): number {
    return this.keyring.current;
  }

  async wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }> {
    const keyVersion = this.keyring.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.userKey(context, keyVersion), iv);
    cipher.setAAD(wrapAad(context, keyVersion));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return { wrapped: Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64"), keyVersion };
  }

  async unwrap(context: WrapContext, wrapped: string, keyVersion: number): Promise<Buffer> {
    const bytes = Buffer.from(wrapped, "base64");
    if (bytes.length <= IV_BYTES + TAG_BYTES) throw new VaultKeyError("wrapped data key is truncated");
    const decipher = createDecipheriv("aes-256-gcm", this.userKey(context, keyVersion), bytes.subarray(0, IV_BYTES));
    decipher.setAAD(wrapAad(context, keyVersion));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new VaultKeyError("the data key does not unwrap under this user's key (wrong key, context or tampering)");
    }
  }

  /** Drops cached per-user keys (after a user is deleted). */
  forgetUser(userId: string): void {
    for (const cacheKey of this.userKeys.keys()) {
      if (cacheKey.slice(cacheKey.indexOf("|") + 1) === userId) this.userKeys.delete(cacheKey);
    }
  }

  private userKey(context: WrapContext, version: number): Buffer {
    const cacheKey = `${version}|${context.userId}`;
    const cached = this.userKeys.get(cacheKey);
    // A different salt (the account was deleted and its id somehow reused, or a test) is a different key.
    if (cached && cached.salt.equals(context.userKeySalt)) return cached.key;
    const master = this.keyring.keys.get(version);
    if (!master) throw new VaultKeyError(`master key version ${version} is not in the keyring`);
    const key = Buffer.from(
      hkdfSync("sha256", master, context.userKeySalt, `clawstack/user-key/v${version}|${context.userId}`, 32),
    );
    if (!cached && this.userKeys.size >= USER_KEY_CACHE_LIMIT) {
      const oldest = this.userKeys.keys().next().value;
      if (oldest !== undefined) this.userKeys.delete(oldest);
    }
    this.userKeys.set(cacheKey, { salt: Buffer.from(context.userKeySalt), key });
    return key;
  }
}

function wrapAad(context: WrapContext, keyVersion: number): Buffer {
  return Buffer.from(`clawstack/data-key|${context.userId}|${context.credentialId}|${context.kind}|v${keyVersion}`);
}
