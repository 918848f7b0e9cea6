/**
 * Data keys wrapped by AWS KMS instead of the local master keyring
 * (`CLAWSTACK_KMS_KEYS=1:<key ARN>[,2:<key ARN>...]`, the highest version
 * wraps new keys). `Encrypt` binds the data key to an encryption context of the
 * user, the secret's id and kind and a SHA-256 of the user's random key salt:
 * `Decrypt` needs the exact context, so deleting the account (its salt) still
 * crypto-erases its credentials. Decrypt pins the key ARN of the row's version.
 * The plaintext data key exists only in memory; KMS never sees the secret
 * itself (it is sealed locally with the data key).
 *
 * `CompositeKeyWrapper` lets one vault hold rows of both kinds while
 * `master-key rewrap` moves local rows to KMS (or the other way).
 */
import { createHash } from "node:crypto";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { ConfigError } from "../../program/errors";
import { type KeyWrapper, VaultKeyError, type WrapContext } from "./key-wrapper";

export const KMS_KEYS_ENV = "CLAWSTACK_KMS_KEYS";
const KMS_KEY = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_+=,.@-]+|alias\/[A-Za-z0-9/_+=,.@-]+)$/;

/** Parses `version:keyId` pairs; throws a `ConfigError` naming the variable. */
export function parseKmsKeys(value: string): { keys: Map<number, string>; current: number } {
  const keys = new Map<number, string>();
  for (const part of value.split(",")) {
    const match = /^\s*(\d{1,6}):(\S+)\s*$/.exec(part);
    const version = match ? Number(match[1]) : 0;
    if (!match || version < 1 || !KMS_KEY.test(match[2]!)) {
      throw new ConfigError(
        KMS_KEYS_ENV,
        `\`${KMS_KEYS_ENV}\` must be \`version:keyArn\` entries (version ≥ 1, a KMS key or alias ARN) separated by commas; an entry does not match`,
      );
    }
    if (keys.has(version)) throw new ConfigError(KMS_KEYS_ENV, `\`${KMS_KEYS_ENV}\` names version ${version} twice`);
    keys.set(version, match[2]!);
  }
  return { keys, current: Math.max(...keys.keys()) };
}

function encryptionContext(context: WrapContext): Record<string, string> {
  return {
    purpose: "clawstack-vault-data-key",
    user: context.userId,
    secret: context.credentialId,
    kind: context.kind,
    userKeySalt: createHash("sha256").update(context.userKeySalt).digest("hex"),
  };
}

export class KmsKeyWrapper implements KeyWrapper {
  readonly kind = "kms" as const;

  constructor(
    private readonly client: KMSClient,
    private readonly keys: { keys: Map<number, string>; current: number },
  ) {}

  currentVersion(): number {
    return this.keys.current;
  }

  async wrap(context: WrapContext, dataKey: Buffer): Promise<{ wrapped: string; keyVersion: number }> {
    const keyVersion = this.keys.current;
    const response = await this.client.send(
      new EncryptCommand({ KeyId: this.keys.keys.get(keyVersion)!, Plaintext: dataKey, EncryptionContext: encryptionContext(context) }),
    );
    if (!response.CiphertextBlob) throw new VaultKeyError("KMS Encrypt returned no ciphertext");
    return { wrapped: Buffer.from(response.CiphertextBlob).toString("base64"), keyVersion };
  }

  async unwrap(context: WrapContext, wrapped: string, keyVersion: number): Promise<Buffer> {
    const keyId = this.keys.keys.get(keyVersion);
    if (!keyId) throw new VaultKeyError(`KMS key version ${keyVersion} is not in ${KMS_KEYS_ENV}`);
    try {
      const response = await this.client.send(
        new DecryptCommand({ KeyId: keyId, CiphertextBlob: Buffer.from(wrapped, "base64"), EncryptionContext: encryptionContext(context) }),
      );
      if (!response.Plaintext) throw new Error("no plaintext");
      return Buffer.from(response.Plaintext);
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      if (name === "InvalidCiphertextException" || name === "IncorrectKeyException" || (error as Error).message === "no plaintext") {
        throw new VaultKeyError("the data key does not unwrap under KMS (wrong key, context or tampering)");
      }
      throw error;
    }
  }

  forgetUser(): void {
    // Nothing cached: every unwrap asks KMS.
  }
}

/** Wraps with `primary`; unwraps each row with the wrapper of its recorded `wrap_kind`. */
export class CompositeKeyWrapper implements KeyWrapper {
  readonly kind: "local" | "kms";

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
    const kind = wrapKind ?? this.primary.kind;
    const wrapper = [this.primary, ...this.others].find((candidate) => candidate.kind === kind);
    if (!wrapper) {
      throw new VaultKeyError(
        kind === "local"
          ? "this data key is wrapped by the local master keyring, which is not configured (CLAWSTACK_MASTER_KEYS or the key file)"
          : `this data key is wrapped by ${kind}, which is not configured (${KMS_KEYS_ENV})`,
      );
    }
    return wrapper.unwrap(context, wrapped, keyVersion, kind);
  }

  forgetUser(userId: string): void {
    for (const wrapper of [this.primary, ...this.others]) wrapper.forgetUser(userId);
  }
}
