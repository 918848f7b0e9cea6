/**
 * The vault with GCP Cloud KMS wrapping its data keys (`CLAWSTACK_GCP_KMS_KEYS`),
 * on SQLite and PostgreSQL: the real wrapper, composite and vault against a
 * stand-in with `KeyManagementServiceClient`'s `encrypt`/`decrypt` that, like
 * Cloud KMS, decrypts only under the same key and additional authenticated data
 * (INVALID_ARGUMENT otherwise). Local rows keep opening and `rewrapAll` moves
 * them; nothing salt-derived reaches KMS; bad configuration names the variable.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../api/config";
import { VaultKeyError } from "../../api/vault/key-wrapper";
import { type GcpKmsClient, parseGcpKmsKeys } from "../../api/vault/kms-key-wrapper";
import { keyWrapperFor } from "../../api/vault/plugin";
import { Vault } from "../../api/vault/vault";
import { engines, signUp, startApi, type TestApi } from "./support";

const KEY = "projects/claw-cloud-prod/locations/europe-west1/keyRings/vault/cryptoKeys/data-keys";

function standIn(): GcpKmsClient & { seen: { name: string; aad: string; plaintext?: Buffer }[] } {
  const blobs = new Map<string, { name: string; aad: string; plaintext: Buffer }>();
  const seen: { name: string; aad: string; plaintext?: Buffer }[] = [];
  return {
    seen,
    async encrypt({ name, plaintext, additionalAuthenticatedData }) {
      const handle = randomBytes(24).toString("hex");
      blobs.set(handle, { name, aad: additionalAuthenticatedData.toString("hex"), plaintext: Buffer.from(plaintext) });
      seen.push({ name, aad: additionalAuthenticatedData.toString("utf8"), plaintext: Buffer.from(plaintext) });
      return [{ ciphertext: new Uint8Array(Buffer.from(handle, "hex")) }];
    },
    async decrypt({ name, ciphertext, additionalAuthenticatedData }) {
      seen.push({ name, aad: additionalAuthenticatedData.toString("utf8") });
      const blob = blobs.get(ciphertext.toString("hex"));
      if (!blob || blob.name !== name || blob.aad !== additionalAuthenticatedData.toString("hex")) {
        throw Object.assign(new Error("3 INVALID_ARGUMENT: Decryption failed"), { code: 3 });
      }
      return [{ plaintext: new Uint8Array(blob.plaintext) }];
    },
  };
}

describe.each(engines("the GCP KMS vault suite"))("vault with GCP Cloud KMS on $engine", ({ engine, skip }) => {
  let api: TestApi;
  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("wraps new data keys with Cloud KMS, keeps opening local rows, and rewraps them onto it", async () => {
    const carol = await signUp(api, "carol");
    const oldToken = `dop_v1_${randomBytes(32).toString("hex")}`;
    const old = await api.app.vault.create(carol.userId, { kind: "digitalocean", name: "before", token: oldToken });
    expect(old.wrap_kind).toBe("local");

    const kms = standIn();
    const wrapper = keyWrapperFor({ ...api.config, gcpKmsKeys: `1:${KEY}` }, { gcpKms: kms });
    expect(wrapper.kind).toBe("gcp-kms");
    const vault = new Vault(api.app.db, wrapper, api.app.passwords);
    const newToken = `dop_v1_${randomBytes(32).toString("hex")}`;
    const fresh = await vault.create(carol.userId, { kind: "digitalocean", name: "after", token: newToken });
    expect(fresh).toMatchObject({ wrap_kind: "gcp-kms", key_version: 1 });
    expect(kms.seen[0]).toMatchObject({ name: KEY, aad: `clawstack-vault-data-key|${carol.userId}|${fresh.id}|digitalocean` });
    expect(kms.seen[0]!.plaintext!.length).toBe(60);

    expect(await vault.decrypt(carol.userId, fresh.id)).toEqual({ kind: "digitalocean", token: newToken });
    expect(await vault.decrypt(carol.userId, old.id)).toEqual({ kind: "digitalocean", token: oldToken });
    expect(await vault.rewrapAll()).toEqual({ rewrapped: 1 });
    const rows = await api.app.db.selectFrom("credentials").select(["id", "wrap_kind"]).where("user_id", "=", carol.userId).execute();
    expect(rows.every((row) => row.wrap_kind === "gcp-kms")).toBe(true);
    expect(await vault.decrypt(carol.userId, old.id)).toEqual({ kind: "digitalocean", token: oldToken });

    // Moved to another id, or opened without the user's salt: refused.
    const row = await api.app.db.selectFrom("credentials").selectAll().where("id", "=", fresh.id).executeTakeFirstOrThrow();
    const salt = Buffer.from((await api.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", carol.userId).executeTakeFirstOrThrow()).key_salt, "base64");
    await expect(vault.open({ ...row, id: "cred_moved" }, salt)).rejects.toBeInstanceOf(VaultKeyError);
    await expect(vault.open(row, randomBytes(32))).rejects.toBeInstanceOf(VaultKeyError);
    const sent = kms.seen.map((entry) => `${entry.aad}|${entry.plaintext?.toString("hex") ?? ""}`).join("\n");
    for (const derived of [salt.toString("hex"), createHash("sha256").update(salt).digest("hex")]) expect(sent).not.toContain(derived);
  });

  it("refuses bad CLAWSTACK_GCP_KMS_KEYS and both KMS variables at once, naming the variable", () => {
    for (const value of [KEY, `0:${KEY}`, `1:${KEY}/cryptoKeyVersions/1`, "1:projects/x", `1:${KEY},1:${KEY}`]) {
      expect(() => parseGcpKmsKeys(value), value).toThrow(/CLAWSTACK_GCP_KMS_KEYS/);
    }
    expect(parseGcpKmsKeys(`1:${KEY}, 2:${KEY}-next`).current).toBe(2);
    expect(() =>
      loadConfig({ CLAWSTACK_GCP_KMS_KEYS: `1:${KEY}`, CLAWSTACK_KMS_KEYS: "1:arn:aws:kms:eu-west-1:111122223333:key/abc" }),
    ).toThrow(/`CLAWSTACK_GCP_KMS_KEYS`: set it or `CLAWSTACK_KMS_KEYS`/);
  });
});
