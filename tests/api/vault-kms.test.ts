/**
 * The vault with AWS KMS wrapping its data keys (`CLAWSTACK_KMS_KEYS`), on SQLite
 * and PostgreSQL, against a stand-in KMS (`aws-sdk-client-mock`) that, like KMS,
 * decrypts only under the key and the exact encryption context it encrypted
 * with. Covers: new credentials wrapped by KMS with the secret never sent to it;
 * rows wrapped locally before the switch still open; `master-key rewrap` moves
 * them (and gateway tokens) to KMS; a changed context or key is refused; an
 * account's deletion still crypto-erases, with nothing salt-derived in any KMS
 * request; aliases and other bad configuration are refused naming the variable.
 */
import { createHash, randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, KMSClient, type DecryptCommandInput, type EncryptCommandInput } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import { readGatewayToken, storeGatewayToken } from "../../api/registration/gateway-tokens";
import { VaultKeyError } from "../../api/vault/key-wrapper";
import { parseKmsKeys } from "../../api/vault/kms-key-wrapper";
import { insertInstance } from "./jobs/support/db";
import { engines, remember, scanForSecrets, signUp, startApi, type TestApi } from "./support";

const KEY_1 = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555";
const KEY_2 = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000";

/** A KMS stand-in: the "ciphertext blob" is an opaque handle to what was encrypted, under which key and context. */
function standInKms() {
  const kms = mockClient(KMSClient);
  const blobs = new Map<string, { keyId: string; context: string; plaintext: Buffer }>();
  const encrypts: EncryptCommandInput[] = [];
  const decrypts: DecryptCommandInput[] = [];
  kms.on(EncryptCommand).callsFake((input: EncryptCommandInput) => {
    encrypts.push(input);
    const handle = randomBytes(24);
    blobs.set(handle.toString("hex"), { keyId: input.KeyId!, context: JSON.stringify(input.EncryptionContext), plaintext: Buffer.from(input.Plaintext!) });
    return { CiphertextBlob: new Uint8Array(handle), KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
    decrypts.push(input);
    const blob = blobs.get(Buffer.from(input.CiphertextBlob!).toString("hex"));
    if (!blob || blob.context !== JSON.stringify(input.EncryptionContext) || (input.KeyId !== undefined && input.KeyId !== blob.keyId)) {
      throw Object.assign(new Error("InvalidCiphertextException"), { name: input.KeyId !== blob?.keyId && blob ? "IncorrectKeyException" : "InvalidCiphertextException" });
    }
    return { Plaintext: new Uint8Array(blob.plaintext), KeyId: blob.keyId };
  });
  return { kms, encrypts, decrypts };
}

describe.each(engines("the KMS vault suite"))("vault with AWS KMS on $engine", ({ engine, skip }) => {
  let kms: ReturnType<typeof standInKms>;
  let local: TestApi;
  beforeAll(async () => {
    if (skip) return;
    kms = standInKms();
    local = await startApi({ engine });
  });
  afterAll(async () => {
    kms?.kms.restore();
    await local?.close();
  });

  it.skipIf(skip)("wraps new data keys with KMS, keeps opening local rows, and rewraps everything onto KMS", async () => {
    // Before the switch: a credential and a gateway token wrapped by the local keyring.
    const alice = await signUp(local, "alice");
    const oldToken = `dop_v1_${randomBytes(32).toString("hex")}`;
    remember(local, oldToken);
    const old = await local.app.vault.create(alice.userId, { kind: "digitalocean", name: "before", token: oldToken });
    expect(old.wrap_kind).toBe("local");

    // The same data and keyring, now with KMS configured.
    const env = { CLAWSTACK_KMS_KEYS: `1:${KEY_1}`, CLAWSTACK_KMS_REGION: "eu-west-1" };
    const api = await startApi({ engine, share: local, env });
    try {
      const newToken = `dop_v1_${randomBytes(32).toString("hex")}`;
      remember(api, newToken);
      const fresh = await api.app.vault.create(alice.userId, { kind: "digitalocean", name: "after", token: newToken });
      expect(fresh).toMatchObject({ wrap_kind: "kms", key_version: 1 });
      expect(kms.encrypts).toHaveLength(1);
      expect(kms.encrypts[0]!.KeyId).toBe(KEY_1);
      // The context CloudTrail would log: nothing derived from the user's salt.
      expect(kms.encrypts[0]!.EncryptionContext).toEqual({ purpose: "clawstack-vault-data-key", user: alice.userId, secret: fresh.id, kind: "digitalocean" });
      // KMS only ever sees the data key sealed under the salt-derived inner key (12 + 32 + 16 bytes), never the token.
      expect(Buffer.from(kms.encrypts[0]!.Plaintext!).length).toBe(60);
      expect(Buffer.from(kms.encrypts[0]!.Plaintext!).toString("latin1")).not.toContain("dop_v1_");

      expect(await api.app.vault.decrypt(alice.userId, fresh.id)).toEqual({ kind: "digitalocean", token: newToken });
      expect(await api.app.vault.decrypt(alice.userId, old.id)).toEqual({ kind: "digitalocean", token: oldToken });
      expect(kms.decrypts.map((input) => input.KeyId)).toEqual([KEY_1]);

      // A gateway token from before the switch is re-wrapped too.
      const { id: instanceId } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null, registeredAt: new Date().toISOString() });
      const gatewayToken = randomBytes(32).toString("hex");
      remember(api, gatewayToken);
      await storeGatewayToken(api.app.db, local.app.vault.wrapper, { userId: alice.userId, instanceId, token: gatewayToken });

      const lines: string[] = [];
      const cli = buildCli({ CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...env, ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) }, (line) => lines.push(line));
      await cli.parseAsync(["node", "admin-cli", "master-key", "status"]);
      expect(lines.join("\n")).toMatch(/current version: 1 \(AWS KMS/);
      expect(lines.join("\n")).toMatch(/^version 1: 2 wrapped data key\(s\)$/m);
      expect(lines.join("\n")).toMatch(/^kms version 1: 1 wrapped data key\(s\)$/m);
      lines.length = 0;
      await buildCli({ CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...env, ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) }, (line) => lines.push(line)).parseAsync(["node", "admin-cli", "master-key", "rewrap"]);
      expect(lines.join("\n")).toMatch(/re-wrapped 2 data key\(s\)/);

      const rows = await api.app.db.selectFrom("credentials").select(["wrap_kind", "key_version"]).where("user_id", "=", alice.userId).execute();
      expect(rows.every((row) => row.wrap_kind === "kms" && row.key_version === 1)).toBe(true);
      const secret = await api.app.db.selectFrom("instance_secrets").selectAll().where("instance_id", "=", instanceId).executeTakeFirstOrThrow();
      expect(secret.wrap_kind).toBe("kms");
      expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, instanceId)).toBe(gatewayToken);
      expect(await api.app.vault.decrypt(alice.userId, old.id)).toEqual({ kind: "digitalocean", token: oldToken });

      // A KMS-wrapped key does not open under another context (a row moved to another user or id).
      const moved = { ...(await api.app.db.selectFrom("credentials").selectAll().where("id", "=", fresh.id).executeTakeFirstOrThrow()), id: "cred_other" };
      const salt = Buffer.from((await api.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", alice.userId).executeTakeFirstOrThrow()).key_salt, "base64");
      await expect(api.app.vault.open(moved, salt)).rejects.toBeInstanceOf(VaultKeyError);
      // A leaked copy of the row does not open without the user's salt (KMS itself still answers).
      const leaked = await api.app.db.selectFrom("credentials").selectAll().where("id", "=", fresh.id).executeTakeFirstOrThrow();
      await expect(api.app.vault.open(leaked, randomBytes(32))).rejects.toThrow(/deleted account, wrong context or tampering/);
      expect(await scanForSecrets(api)).toEqual([]);

      // Deleting the account destroys its salt: with the row, KMS access and CloudTrail's contexts, nothing opens.
      const deleted = await api.inject({ method: "DELETE", url: "/v1/me", headers: { authorization: `Bearer ${alice.accessToken}` }, payload: { password: alice.password } });
      expect(deleted.statusCode).toBe(204);
      expect(await api.app.db.selectFrom("user_keys").selectAll().where("user_id", "=", alice.userId).execute()).toEqual([]);
      const contexts = kms.encrypts.map((input) => JSON.stringify(input.EncryptionContext));
      for (const derived of [salt.toString("base64"), salt.toString("hex"), createHash("sha256").update(salt).digest("hex")]) {
        expect(contexts.join("\n")).not.toContain(derived);
      }
      await expect(api.app.vault.open(leaked, randomBytes(32))).rejects.toBeInstanceOf(VaultKeyError);
    } finally {
      await api.close();
    }
  });

  it.skipIf(skip)("moves to a new KMS key version with rewrap, pinning each row's key on Decrypt", async () => {
    const bob = await signUp(local, "bob");
    const v1 = await startApi({ engine, share: local, env: { CLAWSTACK_KMS_KEYS: `1:${KEY_1}`, CLAWSTACK_KMS_REGION: "eu-west-1" } });
    const token = `dop_v1_${randomBytes(32).toString("hex")}`;
    remember(local, token);
    let id: string;
    try {
      id = (await v1.app.vault.create(bob.userId, { kind: "digitalocean", name: "v1", token })).id;
    } finally {
      await v1.close();
    }
    const both = await startApi({ engine, share: local, env: { CLAWSTACK_KMS_KEYS: `1:${KEY_1},2:${KEY_2}`, CLAWSTACK_KMS_REGION: "eu-west-1" } });
    try {
      kms.decrypts.length = 0;
      expect(await both.app.vault.decrypt(bob.userId, id)).toEqual({ kind: "digitalocean", token });
      expect(kms.decrypts.at(-1)!.KeyId).toBe(KEY_1);
      await both.app.vault.rewrapAll();
      const row = await both.app.db.selectFrom("credentials").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ wrap_kind: "kms", key_version: 2 });
      expect(await both.app.vault.decrypt(bob.userId, id)).toEqual({ kind: "digitalocean", token });
      expect(kms.decrypts.at(-1)!.KeyId).toBe(KEY_2);
    } finally {
      await both.close();
    }
  });

  it("refuses a bad CLAWSTACK_KMS_KEYS naming the variable", () => {
    for (const value of [KEY_1, "0:" + KEY_1, "1:not-an-arn", `1:${KEY_1},1:${KEY_2}`, "1:arn:aws:kms:eu-west-1:111122223333:alias/vault", "1:alias/vault"]) {
      expect(() => parseKmsKeys(value), value).toThrow(/CLAWSTACK_KMS_KEYS/);
    }
    expect(parseKmsKeys(`2:${KEY_2}, 1:${KEY_1}`).current).toBe(2);
  });
});
