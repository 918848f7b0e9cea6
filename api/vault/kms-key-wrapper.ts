/**
 * Data keys wrapped by a KMS instead of the local master keyring: AWS KMS
 * (`CLAWSTACK_KMS_KEYS=1:<key ARN>[,2:<key ARN>...]`) or GCP Cloud KMS
 * (`CLAWSTACK_GCP_KMS_KEYS`, additional authenticated data in place of the
 * encryption context); the highest version wraps new keys. Two layers: the data key is first sealed (AES-256-GCM)
 * under a key derived with HKDF from the user's random key salt, and that is
 * what KMS `Encrypt` wraps, with an encryption context of the user, the
 * secret's id and kind. So deleting the account (its salt) still
 * crypto-erases its credentials, and nothing derived from the salt ever
 * reaches KMS or CloudTrail (which logs encryption contexts in clear).
 * Decrypt pins the key ARN of the row's version. KMS never sees the secret
 * itself (it is sealed locally with the data key).
 *
 * `CompositeKeyWrapper` lets one vault hold rows of both kinds while
 * `master-key rewrap` moves local rows to KMS (or onto a newer KMS version).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { ConfigError } from "../../core/errors";
import { type KeyWrapper, VaultKeyError, type WrapContext } from "./key-wrapper";

export const KMS_KEYS_ENV = "CLAWSTACK_KMS_KEYS";
/** Key ARNs only: an alias can be re-pointed, which would strand every row wrapped under the old key. */
const KMS_KEY = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** Parses `version:<key>` pairs (the highest version wraps new keys); throws a `ConfigError` naming `variable`. */
function parseVersionedKeys(value: string, variable: string, key: RegExp, what: string): { keys: Map<number, string>; current: number } {
  const keys = new Map<number, string>();
  for (const part of value.split(",")) {
    const match = /^\s*(\d{1,6}):(\S+)\s*$/.exec(part);
    const version = match ? Number(match[1]) : 0;
    if (!match || version < 1 || !key.test(match[2]!)) {
      throw new ConfigError(variable, `\`${variable}\` must be \`version:${what}\` entries separated by commas; an entry does not match`);
    }
    if (keys.has(version)) throw new ConfigError(variable, `\`${variable}\` names version ${version} twice`);
    keys.set(version, match[2]!);
  }
  return { keys, current: Math.max(...keys.keys()) };
}

/** `CLAWSTACK_KMS_KEYS`: `version:keyArn` pairs. */
export function parseKmsKeys(value: string): { keys: Map<number, string>; current: number } {
  return parseVersionedKeys(value, KMS_KEYS_ENV, KMS_KEY, "keyArn (version ≥ 1, a KMS key ARN arn:aws:kms:<region>:<account>:key/<id>; aliases are refused)");
}

function encryptionContext(context: WrapContext): Record<string, string> {
  return { purpose: "clawstack-vault-data-key", user: context.userId, secret: context.credentialId, kind: context.kind };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The inner layer's key: only derivable while the user's salt exists. */
function innerKey(context: WrapContext): Buffer {
  return Buffer.from(hkdfSync("sha256", context.userKeySalt, "clawstack/kms-inner", `${context.userId}|${context.credentialId}|${context.kind}`, 32));
}

function sealInner(context: WrapContext, dataKey: Buffer): Buffer {
  const key = innerKey(context);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  } finally {
    key.fill(0);
  }
}

function openInner(context: WrapContext, inner: Buffer): Buffer {
  if (inner.length <= IV_BYTES + TAG_BYTES) throw new VaultKeyError("the KMS-wrapped data key is truncated");
  const key = innerKey(context);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, inner.subarray(0, IV_BYTES));
    decipher.setAuthTag(inner.subarray(inner.length - TAG_BYTES));
    return Buffer.concat([decipher.update(inner.subarray(IV_BYTES, inner.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new VaultKeyError("the data key does not unwrap under this user's key (deleted account, wrong context or tampering)");
  } finally {
    key.fill(0);
  }
}

/**
 * A KMS-backed wrapper: the data key sealed under the user's salt-derived
 * inner key, that wrapped by the KMS key of the current version. Subclasses
 * only talk to their KMS; they throw `KmsRefused` when it refuses a ciphertext.
 */
abstract class TwoLayerKmsWrapper implements KeyWrapper {
  abstract readonly kind: "kms" | "gcp-kms";
  protected abstract readonly service: string;

  constructor(protected readonly keys: { keys: Map<number, string>; current: number }) {}

  protected abstract encryptInner(key: string, inner: Buffer, context: WrapContext): Promise<Buffer>;
  protected abstract decryptInner(key: string, wrapped: Buffer, context: WrapContext): Promise<Buffer>;

  currentVersion(): number {
    return this.keys.current;
  }

  async wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }> {
    const keyVersion = this.keys.current;
    const wrapped = await this.encryptInner(this.keys.keys.get(keyVersion)!, sealInner(context, dataKey), context);
    return { wrapped: wrapped.toString("base64"), keyVersion };
  }

  async unwrap(context: WrapContext, wrapped: string, keyVersion: number): Promise<Buffer> {
    const key = this.keys.keys.get(keyVersion);
    if (!key) throw new VaultKeyError(`${this.service} key version ${keyVersion} is not configured`);
    let inner: Buffer;
    try {
      inner = await this.decryptInner(key, Buffer.from(wrapped, "base64"), context);
    } catch (error) {
      if (error instanceof KmsRefused) {
        throw new VaultKeyError(`the data key does not unwrap under ${this.service} key version ${keyVersion} (${error.message}: wrong key, context or tampering)`);
      }
      throw error;
    }
    try {
      return openInner(context, inner);
    } finally {
      inner.fill(0);
    }
  }

  forgetUser(): void {
    // Nothing cached: every unwrap asks the KMS.
  }
}

class KmsRefused extends Error {}

export class KmsKeyWrapper extends TwoLayerKmsWrapper {
  readonly kind = "kms" as const;
  protected readonly service = "AWS KMS";

  constructor(
    private readonly client: KMSClient,
    keys: { keys: Map<number, string>; current: number },
  ) {
    super(keys);
  }

  protected async encryptInner(key: string, inner: Buffer, context: WrapContext): Promise<Buffer> {
    const response = await this.client.send(new EncryptCommand({ KeyId: key, Plaintext: inner, EncryptionContext: encryptionContext(context) }));
    if (!response.CiphertextBlob) throw new VaultKeyError("KMS Encrypt returned no ciphertext");
    return Buffer.from(response.CiphertextBlob);
  }

  protected async decryptInner(key: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    try {
      // KeyId pins the row's key: a ciphertext of any other key is refused.
      const response = await this.client.send(new DecryptCommand({ KeyId: key, CiphertextBlob: wrapped, EncryptionContext: encryptionContext(context) }));
      if (!response.Plaintext) throw new KmsRefused("no plaintext");
      return Buffer.from(response.Plaintext);
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (name === "InvalidCiphertextException" || name === "IncorrectKeyException") throw new KmsRefused(name);
      throw error;
    }
  }
}

export const GCP_KMS_KEYS_ENV = "CLAWSTACK_GCP_KMS_KEYS";
/** A Cloud KMS symmetric key (not a version: Cloud KMS encrypts with the primary version and finds the version on decrypt). */
const GCP_KMS_KEY = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;

/** `CLAWSTACK_GCP_KMS_KEYS`: `version:projects/../cryptoKeys/<key>` pairs. */
export function parseGcpKmsKeys(value: string): { keys: Map<number, string>; current: number } {
  return parseVersionedKeys(
    value,
    GCP_KMS_KEYS_ENV,
    GCP_KMS_KEY,
    "projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key> (version ≥ 1, a symmetric key, not a key version)",
  );
}

/** What the Cloud KMS wrapper needs of `@google-cloud/kms`'s `KeyManagementServiceClient` (which satisfies it). */
export interface GcpKmsClient {
  encrypt(request: { name: string; plaintext: Buffer; additionalAuthenticatedData: Buffer }): Promise<[{ ciphertext?: Uint8Array | string | null }, ...unknown[]]>;
  decrypt(request: { name: string; ciphertext: Buffer; additionalAuthenticatedData: Buffer }): Promise<[{ plaintext?: Uint8Array | string | null }, ...unknown[]]>;
}

/** Cloud KMS binds a ciphertext to its additional authenticated data: the same fields as AWS's encryption context. */
function additionalData(context: WrapContext): Buffer {
  return Buffer.from(`clawstack-vault-data-key|${context.userId}|${context.credentialId}|${context.kind}`, "utf8");
}

const asBuffer = (value: Uint8Array | string): Buffer => (typeof value === "string" ? Buffer.from(value, "base64") : Buffer.from(value));

/** The same two layers with GCP Cloud KMS `Encrypt`/`Decrypt` and additional authenticated data. */
export class GcpKmsKeyWrapper extends TwoLayerKmsWrapper {
  readonly kind = "gcp-kms" as const;
  protected readonly service = "Cloud KMS";

  constructor(
    private readonly client: GcpKmsClient,
    keys: { keys: Map<number, string>; current: number },
  ) {
    super(keys);
  }

  protected async encryptInner(name: string, inner: Buffer, context: WrapContext): Promise<Buffer> {
    const [response] = await this.client.encrypt({ name, plaintext: inner, additionalAuthenticatedData: additionalData(context) });
    if (!response.ciphertext) throw new VaultKeyError("Cloud KMS Encrypt returned no ciphertext");
    return asBuffer(response.ciphertext);
  }

  protected async decryptInner(name: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    try {
      const [response] = await this.client.decrypt({ name, ciphertext: wrapped, additionalAuthenticatedData: additionalData(context) });
      if (!response.plaintext) throw new KmsRefused("no plaintext");
      return asBuffer(response.plaintext);
    } catch (error) {
      // gRPC INVALID_ARGUMENT (3): the ciphertext does not decrypt under this key and data.
      if ((error as { code?: number }).code === 3) throw new KmsRefused("INVALID_ARGUMENT");
      throw error;
    }
  }
}

/** Wraps with `primary`; unwraps each row with the wrapper of its recorded `wrap_kind`. */
export class CompositeKeyWrapper implements KeyWrapper {
  readonly kind: KeyWrapper["kind"];

  constructor(
    private readonly primary: KeyWrapper,
    private readonly others: readonly KeyWrapper[],
  ) {
    this.kind = primary.kind;
  }

  currentVersion(): number {
    return this.primary.currentVersion();
  }

  wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }> {
    return this.primary.wrap(context, dataKey);
  }

  unwrap(context: WrapContext, wrapped: string, keyVersion: number, wrapKind?: string | null): Promise<Buffer> {
    // Rows from before `wrap_kind` was recorded were wrapped by the local keyring.
    const kind = wrapKind ?? "local";
    const wrapper = [this.primary, ...this.others].find((candidate) => candidate.kind === kind);
    if (!wrapper) {
      throw new VaultKeyError(
        kind === "local"
          ? "this data key is wrapped by the local master keyring, which is not configured (CLAWSTACK_MASTER_KEYS or the key file)"
          : `this data key is wrapped by ${kind}, which is not configured (${kind === "gcp-kms" ? GCP_KMS_KEYS_ENV : KMS_KEYS_ENV})`,
      );
    }
    return wrapper.unwrap(context, wrapped, keyVersion, kind);
  }

  forgetUser(userId: string): void {
    for (const wrapper of [this.primary, ...this.others]) wrapper.forgetUser(userId);
  }
}
