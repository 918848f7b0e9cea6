/**
 * The credential vault (seed 001 §3): envelope encryption with a random
 * AES-256-GCM data key per credential, wrapped by the user's key (see
 * `key-wrapper.ts`). Plaintext exists only in memory while a caller uses it.
 *
 *   app.vault.create(userId, input)                    -> metadata row (encrypts, stores ciphertext only)
 *   app.vault.decrypt(userId, credentialId, { passphrase?, actor? }) -> CredentialSecret (audited here, always)
 *   app.vault.rewrapAll()                              -> moves every data key to the current master key version
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { AuditLog, AuditResult } from "../audit/audit-log";
import type { PasswordHasher } from "../auth/password";
import { newId, nowIso } from "../db/ids";
import type { Credential, Database } from "../db/schema";
import { HttpError } from "../http/errors";
import {
  findCredential,
  findUserKeySalt,
  insertCredential,
  markUsed,
} from "./credentials-repo";
import { listStaleWraps, replaceWrap, WRAPPED_KEY_TABLES } from "./wrapped-keys";
import type { KeyWrapper, WrapContext } from "./key-wrapper";
import { type CredentialInput, type CredentialSecret, splitCredential } from "./kinds";
import { openSecret, SealBrokenError, sealedColumns, sealSecret } from "./sealing";

export class VaultError extends HttpError {
  override name = "VaultError";
}

/** Who is decrypting, for the audit entry the vault writes on every decrypt. */
export interface DecryptActor {
  kind: "user" | "agent" | "system";
  apiKeyId?: string | null;
  requestId?: string | null;
  ip?: string | null;
}

export class Vault {
  constructor(
    private readonly db: Kysely<Database>,
    readonly wrapper: KeyWrapper,
    private readonly hasher: PasswordHasher,
    /** When set, every `decrypt` writes a `credential.decrypt` audit entry, whoever the caller is. */
    private readonly audit?: AuditLog,
  ) {}

  /** Encrypts and stores a credential in `db` (pass a transaction to make it part of one). */
  async create(userId: string, input: CredentialInput, db: Kysely<Database> = this.db): Promise<Credential> {
    const id = newId("cred");
    const { metadata, secret } = splitCredential(input);
    const row: Credential = {
      id,
      user_id: userId,
      kind: input.kind,
      name: input.name,
      metadata: JSON.stringify(metadata),
      ciphertext: null,
      iv: null,
      auth_tag: null,
      wrapped_key: null,
      key_version: null,
      wrap_kind: null,
      passphrase_salt: null,
      created_at: nowIso(),
      last_used_at: null,
      last_tested_at: null,
      last_test_ok: null,
    };
    if (secret !== undefined) {
      const salt = await findUserKeySalt(db, userId);
      if (!salt) throw new VaultError(404, "user not found");
      const context: WrapContext = { userId, userKeySalt: salt, credentialId: id, kind: input.kind };
      const passphrase = "passphrase" in input ? input.passphrase : undefined;
      const passphraseSalt = passphrase !== undefined ? randomBytes(16) : undefined;
      const passphraseKey =
        passphrase !== undefined && passphraseSalt ? await this.hasher.deriveKey(passphrase, passphraseSalt) : undefined;
      const sealed = await sealSecret(this.wrapper, context, Buffer.from(JSON.stringify(secret)), passphraseKey);
      Object.assign(row, {
        ...sealedColumns(sealed),
        passphrase_salt: passphraseSalt ? passphraseSalt.toString("base64") : null,
      });
    }
    await insertCredential(db, row);
    return row;
  }

  /**
   * Decrypts one of the user's credentials. 404 when it is not theirs,
   * 400 when a passphrase is needed and missing, 403 when it is wrong.
   * Every attempt is audited as `credential.decrypt` (actor `system` unless
   * `options.actor` says otherwise); if the entry cannot be written, the
   * decrypt fails.
   */
  async decrypt(
    userId: string,
    credentialId: string,
    options: { passphrase?: string; actor?: DecryptActor } = {},
  ): Promise<CredentialSecret> {
    const started = performance.now();
    const actor = options.actor ?? { kind: "system" as const };
    const entry = (result: AuditResult) => ({
      action: "credential.decrypt",
      result,
      actorUserId: userId,
      actorKind: actor.kind,
      apiKeyId: actor.apiKeyId ?? null,
      target: credentialId,
      latencyMs: performance.now() - started,
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
    });
    let secret: CredentialSecret;
    let rowId: string;
    try {
      const row = await findCredential(this.db, userId, credentialId);
      if (!row) throw new VaultError(404, `credential \`${credentialId}\` not found`);
      const salt = await findUserKeySalt(this.db, userId);
      if (!salt) throw new VaultError(404, "user not found");
      secret = await this.open(row, salt, options.passphrase);
      rowId = row.id;
    } catch (error) {
      await this.audit?.record(entry(error instanceof VaultError ? (error.statusCode === 403 ? "denied" : "invalid") : "error"));
      throw error;
    }
    // The use mark and its audit entry commit together; without the entry the secret is not handed out.
    await this.db.transaction().execute(async (trx) => {
      await markUsed(trx, rowId);
      await this.audit?.record(entry("ok"), trx);
    });
    return secret;
  }

  /** Decrypts a row in memory (no database access). Exposed for the rotation tool and the benchmark. */
  async open(row: Credential, userKeySalt: Buffer, passphrase?: string): Promise<CredentialSecret> {
    if (row.kind === "aws") {
      const metadata = JSON.parse(row.metadata) as { roleArn: string; externalId: string };
      return { kind: "aws", roleArn: metadata.roleArn, externalId: metadata.externalId };
    }
    if (row.ciphertext === null || row.iv === null || row.auth_tag === null || row.wrapped_key === null || row.key_version === null) {
      throw new Error(`credential ${row.id} has no ciphertext`);
    }
    let passphraseKey: Buffer | undefined;
    if (row.passphrase_salt !== null) {
      if (passphrase === undefined) {
        throw new VaultError(400, "`body.passphrase`: this credential is in passphrase mode; send its passphrase", "body.passphrase");
      }
      passphraseKey = await this.hasher.deriveKey(passphrase, Buffer.from(row.passphrase_salt, "base64"));
    }
    const context: WrapContext = { userId: row.user_id, userKeySalt, credentialId: row.id, kind: row.kind };
    const sealed = { ciphertext: row.ciphertext, iv: row.iv, authTag: row.auth_tag, wrappedKey: row.wrapped_key, keyVersion: row.key_version, wrapKind: row.wrap_kind };
    let plaintext: Buffer;
    try {
      plaintext = await openSecret(this.wrapper, context, sealed, passphraseKey);
    } catch (error) {
      if (!(error instanceof SealBrokenError)) throw error;
      if (passphraseKey) throw new VaultError(403, "`body.passphrase`: wrong passphrase for this credential", "body.passphrase");
      throw new Error(`credential ${row.id} does not decrypt (tampered or wrong context)`);
    }
    return JSON.parse(plaintext.toString("utf8")) as CredentialSecret;
  }

  /** Drops cached key material of a deleted user. */
  forgetUser(userId: string): void {
    this.wrapper.forgetUser(userId);
  }

  /**
   * Re-wraps every data key not under the current master key version (after
   * a new version was added): the credentials' and the hosts' gateway tokens'
   * (`WRAPPED_KEY_TABLES`). Content ciphertexts do not change. Safe to run
   * while the API serves: each row is updated only if still on its old version.
   */
  async rewrapAll(batchSize = 200): Promise<{ rewrapped: number }> {
    const target = this.wrapper.currentVersion();
    let rewrapped = 0;
    for (const table of WRAPPED_KEY_TABLES) {
      for (;;) {
        const rows = await listStaleWraps(this.db, table, { version: target, kind: this.wrapper.kind }, batchSize);
        let progressed = false;
        for (const row of rows) {
          const salt = await findUserKeySalt(this.db, row.user_id);
          if (!salt) continue;
          const context: WrapContext = { userId: row.user_id, userKeySalt: salt, credentialId: row.id, kind: row.kind };
          const dataKey = await this.wrapper.unwrap(context, row.wrapped_key, row.key_version, row.wrap_kind);
          try {
            const next = await this.wrapper.wrap(context, dataKey);
            if (await replaceWrap(this.db, table, row, { wrappedKey: next.wrapped, keyVersion: next.keyVersion, kind: this.wrapper.kind })) rewrapped += 1;
          } finally {
            dataKey.fill(0);
          }
          progressed = true;
        }
        if (!progressed) break;
      }
    }
    return { rewrapped };
  }
}
