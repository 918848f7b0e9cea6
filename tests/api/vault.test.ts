/**
 * The credential vault end to end on both engines: add/list/get/delete/test
 * for the three kinds, passphrase mode, crypto-erasure on account deletion,
 * AAD binding, master-key rotation through the operator CLI, audit entries,
 * and the plaintext scan of database and logs.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import type { Credential } from "../../api/db/schema";
import { readGatewayToken, storeGatewayToken } from "../../api/registration/gateway-tokens";
import { insertInstance } from "./jobs/support/db";
import { VaultKeyError } from "../../api/vault/key-wrapper";
import {
  auditEntries,
  bearer,
  countRows,
  engines,
  json,
  remember,
  scanForSecrets,
  type Session,
  signUp,
  signUpAdmin,
  startApi,
  type TestApi,
} from "./support";

/** A loopback DigitalOcean: one token with every scope, one lacking `droplet:create`, the rest refused. */
async function startDigitalOceanStandIn(tokens: { full: string; partial: string }): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    const token = (request.headers.authorization ?? "").replace(/^Bearer /, "");
    seen.push(`${request.method} ${request.url}`);
    request.resume();
    const status =
      token !== tokens.full && token !== tokens.partial
        ? 401
        : token === tokens.partial && request.method === "POST" && request.url === "/v2/droplets"
          ? 403
          : request.method === "GET"
            ? 200
            : request.method === "POST"
              ? 422
              : 404;
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ id: "x" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const doToken = () => `dop_v1_${randomBytes(32).toString("hex")}`;

describe.each(engines("the vault suite"))("vault on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let stand: Awaited<ReturnType<typeof startDigitalOceanStandIn>>;
  const tokens = { full: doToken(), partial: doToken() };
  let alice: Session;
  let bob: Session;

  beforeAll(async () => {
    if (skip) return;
    stand = await startDigitalOceanStandIn(tokens);
    api = await startApi({ engine, env: { CLAWSTACK_DIGITALOCEAN_API_URL: stand.url } });
    remember(api, tokens.full, tokens.partial);
    alice = await signUp(api, "alice");
    bob = await signUp(api, "bob");
  });
  afterAll(async () => {
    await api?.close();
    stand?.server.close();
  });

  async function addCredential(session: Session, payload: Record<string, unknown>) {
    return api.inject({ method: "POST", url: "/v1/credentials", headers: bearer(session.accessToken), payload });
  }
  const row = (id: string) => api.app.db.selectFrom("credentials").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

  describe.skipIf(skip)("the three kinds", () => {
    it("stores a DigitalOcean token as AES-256-GCM ciphertext under a wrapped, versioned data key", async () => {
      const response = await addCredential(alice, { kind: "digitalocean", name: "my team", token: tokens.full });
      expect(response.statusCode).toBe(201);
      const view = json(response);
      expect(view).toMatchObject({ kind: "digitalocean", name: "my team", encrypted: true, passphraseProtected: false, keyVersion: 1, metadata: {} });
      expect(response.body).not.toContain(tokens.full);
      const stored = await row(String(view.id));
      expect(stored.ciphertext).not.toBeNull();
      expect(Buffer.from(stored.ciphertext!, "base64").toString("latin1")).not.toContain(tokens.full.slice(7));
      expect(stored).toMatchObject({ key_version: 1, wrap_kind: "local", passphrase_salt: null });
      expect(Buffer.from(stored.iv!, "base64")).toHaveLength(12);
      expect(Buffer.from(stored.auth_tag!, "base64")).toHaveLength(16);
      // iv (12) | wrapped 32-byte data key | tag (16)
      expect(Buffer.from(stored.wrapped_key!, "base64")).toHaveLength(60);
    });

    it("stores an AWS role ARN and external ID with nothing to encrypt", async () => {
      const externalId = `ext-${randomBytes(8).toString("hex")}`;
      const response = await addCredential(alice, {
        kind: "aws",
        name: "prod account",
        roleArn: "arn:aws:iam::123456789012:role/claw-provisioner",
        externalId,
      });
      expect(response.statusCode).toBe(201);
      expect(json(response)).toMatchObject({ encrypted: false, keyVersion: null, metadata: { roleArn: "arn:aws:iam::123456789012:role/claw-provisioner" } });
      const stored = await row(String(json(response).id));
      expect(stored.ciphertext).toBeNull();
      expect(stored.wrapped_key).toBeNull();
      // The scanner is not blind: this non-secret value (stored in clear by design) is found in the database.
      const probe = { ...api, secrets: new Set([externalId]), logs: [] };
      expect((await scanForSecrets(probe)).map((f) => f.where).join(" ")).toMatch(/sqlite|table credentials/);
    });

    it("encrypts a GCP external-account configuration and refuses a service-account key", async () => {
      const marker = `/run/secrets/token-${randomBytes(8).toString("hex")}`;
      remember(api, marker);
      const config = {
        type: "external_account",
        audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/claw/providers/aws",
        subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
        token_url: "https://sts.googleapis.com/v1/token",
        credential_source: { file: marker },
      };
      const response = await addCredential(alice, { kind: "gcp", name: "gcp project", config });
      expect(response.statusCode).toBe(201);
      expect(json(response)).toMatchObject({ encrypted: true, metadata: { audience: config.audience } });

      const before = await countRows(api, "credentials");
      const key = await addCredential(alice, { kind: "gcp", name: "bad", config: { ...config, private_key: "-----BEGIN PRIVATE KEY-----" } });
      expect(key.statusCode).toBe(400);
      expect(json(key).message).toContain("service-account keys are refused");
      expect(json(key).field).toBe("body.config.private_key");
      expect(await countRows(api, "credentials")).toBe(before);
    });

    it("refuses an unknown kind, a malformed token and unknown fields, naming the field, writing nothing", async () => {
      const before = await countRows(api, "credentials");
      const unknown = await addCredential(alice, { kind: "azure", name: "x", token: "y" });
      expect(unknown.statusCode).toBe(400);
      expect(json(unknown).field).toBe("body.kind");
      const malformed = await addCredential(alice, { kind: "digitalocean", name: "x", token: "not-a-token" });
      expect(malformed.statusCode).toBe(400);
      expect(json(malformed)).toMatchObject({ field: "body.token" });
      expect(json(malformed).message).toContain("dop_v1_");
      const extra = await addCredential(alice, { kind: "digitalocean", name: "x", token: tokens.full, region: "fra1" });
      expect(extra.statusCode).toBe(400);
      expect(json(extra).message).toContain("`region`");
      expect(extra.body).not.toContain(tokens.full);
      expect(await countRows(api, "credentials")).toBe(before);
    });

    it("lists metadata only, to the owner only", async () => {
      const list = await api.inject({ method: "GET", url: "/v1/credentials", headers: bearer(alice.accessToken) });
      expect(list.statusCode).toBe(200);
      const credentials = json(list).credentials as Record<string, unknown>[];
      expect(credentials.map((c) => c.kind).sort()).toEqual(["aws", "digitalocean", "gcp"]);
      for (const credential of credentials) {
        expect(Object.keys(credential)).not.toContain("token");
        expect(Object.keys(credential)).not.toContain("ciphertext");
      }
      expect(list.body).not.toContain(tokens.full);
      const bobs = await api.inject({ method: "GET", url: "/v1/credentials", headers: bearer(bob.accessToken) });
      expect(json(bobs).credentials).toEqual([]);
      const id = String(credentials[0]!.id);
      expect((await api.inject({ method: "GET", url: `/v1/credentials/${id}`, headers: bearer(bob.accessToken) })).statusCode).toBe(404);
      expect((await api.inject({ method: "POST", url: `/v1/credentials/${id}/test`, headers: bearer(bob.accessToken) })).statusCode).toBe(404);
      expect((await api.inject({ method: "DELETE", url: `/v1/credentials/${id}`, headers: bearer(bob.accessToken) })).statusCode).toBe(404);
      expect((await api.inject({ method: "GET", url: `/v1/credentials/${id}`, headers: bearer(alice.accessToken) })).statusCode).toBe(200);
    });
  });

  describe.skipIf(skip)("test, delete, agents", () => {
    it("tests a DigitalOcean token against the cloud (decrypted in memory) and audits the access", async () => {
      const good = json(await addCredential(alice, { kind: "digitalocean", name: "full", token: tokens.full }));
      const partial = json(await addCredential(alice, { kind: "digitalocean", name: "partial", token: tokens.partial }));
      const refused = doToken();
      remember(api, refused);
      const bad = json(await addCredential(alice, { kind: "digitalocean", name: "refused", token: refused }));

      const ok = await api.inject({ method: "POST", url: `/v1/credentials/${String(good.id)}/test`, headers: bearer(alice.accessToken) });
      expect(ok.statusCode).toBe(200);
      expect(json(ok)).toMatchObject({ ok: true });
      const lacking = json(await api.inject({ method: "POST", url: `/v1/credentials/${String(partial.id)}/test`, headers: bearer(alice.accessToken) }));
      expect(lacking.ok).toBe(false);
      expect(lacking.detail).toContain("`droplet:create`");
      const no = json(await api.inject({ method: "POST", url: `/v1/credentials/${String(bad.id)}/test`, headers: bearer(alice.accessToken) }));
      expect(no).toMatchObject({ ok: false });
      expect(String(no.detail)).toContain("401");
      expect(stand.seen.length).toBeGreaterThan(20);

      const stored = await row(String(good.id));
      expect(stored.last_test_ok).toBe(1);
      expect(stored.last_used_at).not.toBeNull();
      const view = json(await api.inject({ method: "GET", url: `/v1/credentials/${String(good.id)}`, headers: bearer(alice.accessToken) }));
      expect(view).toMatchObject({ lastTestOk: true });
      const tests = (await auditEntries(api)).filter((e) => e.action === "credential.test" && e.actor_user_id === alice.userId);
      expect(tests.map((e) => e.target)).toEqual([good.id, partial.id, bad.id]);
    });

    it("lets an agent key with the scopes list and test, never add or delete", async () => {
      const created = json(
        await api.inject({
          method: "POST",
          url: "/v1/api-keys",
          headers: bearer(alice.accessToken),
          payload: { name: "agent", scopes: ["credentials:read", "credentials:test"] },
        }),
      );
      const key = String(created.key);
      remember(api, key);
      const list = await api.inject({ method: "GET", url: "/v1/credentials", headers: bearer(key) });
      expect(list.statusCode).toBe(200);
      const add = await api.inject({ method: "POST", url: "/v1/credentials", headers: bearer(key), payload: { kind: "digitalocean", name: "x", token: tokens.full } });
      expect(add.statusCode).toBe(403);
      const id = String((json(list).credentials as { id: string; kind: string }[]).find((c) => c.kind === "digitalocean")!.id);
      expect((await api.inject({ method: "DELETE", url: `/v1/credentials/${id}`, headers: bearer(key) })).statusCode).toBe(403);
      expect((await api.inject({ method: "POST", url: `/v1/credentials/${id}/test`, headers: bearer(key) })).statusCode).toBe(200);
      const uses = (await auditEntries(api)).filter((e) => e.api_key_id === String(created.id));
      expect(uses.map((e) => [e.action, e.result])).toEqual([
        ["GET /v1/credentials", "ok"],
        ["credential.create", "denied"],
        ["credential.delete", "denied"],
        ["credential.decrypt", "ok"],
        ["credential.test", "ok"],
      ]);
    });

    it("audits every decrypt itself, whoever asks (a worker, a user, an agent), with the outcome", async () => {
      const created = json(await addCredential(alice, { kind: "digitalocean", name: "audited", token: tokens.full }));
      const id = String(created.id);
      // What the job worker does: no HTTP request, no principal.
      expect(await api.app.vault.decrypt(alice.userId, id)).toEqual({ kind: "digitalocean", token: tokens.full });
      await expect(api.app.vault.decrypt(bob.userId, id)).rejects.toThrow(/not found/);
      await api.inject({ method: "POST", url: `/v1/credentials/${id}/test`, headers: bearer(alice.accessToken) });
      const entries = (await auditEntries(api)).filter((e) => e.action === "credential.decrypt" && e.target === id);
      expect(entries.map((e) => [e.actor_user_id, e.actor_kind, e.result])).toEqual([
        [alice.userId, "system", "ok"],
        [bob.userId, "system", "invalid"],
        [alice.userId, "user", "ok"],
      ]);
      expect(entries[2]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("deletes a credential with its ciphertext and wrapped key", async () => {
      const created = json(await addCredential(alice, { kind: "digitalocean", name: "to delete", token: tokens.full }));
      const id = String(created.id);
      const response = await api.inject({ method: "DELETE", url: `/v1/credentials/${id}`, headers: bearer(alice.accessToken) });
      expect(response.statusCode).toBe(204);
      expect(await api.app.db.selectFrom("credentials").selectAll().where("id", "=", id).execute()).toEqual([]);
      expect((await api.inject({ method: "DELETE", url: `/v1/credentials/${id}`, headers: bearer(alice.accessToken) })).statusCode).toBe(404);
      const entries = (await auditEntries(api)).filter((e) => e.action === "credential.delete" && e.target === id);
      expect(entries.map((e) => e.result)).toEqual(["ok", "invalid"]);
    });
  });

  describe.skipIf(skip)("passphrase mode", () => {
    it("needs the passphrase to decrypt: the provider's keys alone are not enough", async () => {
      const passphrase = `correct horse ${randomBytes(6).toString("hex")}`;
      remember(api, passphrase);
      const token = doToken();
      remember(api, token);
      const created = json(await addCredential(alice, { kind: "digitalocean", name: "locked", token, passphrase }));
      expect(created).toMatchObject({ passphraseProtected: true, encrypted: true });
      const id = String(created.id);
      const stored = await row(id);
      expect(stored.passphrase_salt).not.toBeNull();

      const without = await api.inject({ method: "POST", url: `/v1/credentials/${id}/test`, headers: bearer(alice.accessToken) });
      expect(without.statusCode).toBe(400);
      expect(json(without)).toMatchObject({ field: "body.passphrase" });
      const wrong = await api.inject({
        method: "POST",
        url: `/v1/credentials/${id}/test`,
        headers: bearer(alice.accessToken),
        payload: { passphrase: "the wrong passphrase" },
      });
      remember(api, "the wrong passphrase");
      expect(wrong.statusCode).toBe(403);
      expect(json(wrong).message).toContain("wrong passphrase");

      // Everything the provider holds (database row, user salt, master key) does not open it without the passphrase...
      const salt = (await api.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", alice.userId).executeTakeFirstOrThrow()).key_salt;
      await expect(api.app.vault.open(stored, Buffer.from(salt, "base64"))).rejects.toThrow(/passphrase/);
      // ...and with it, it does (through the API: a 401 from the stand-in means the token was sent, i.e. decrypted).
      const right = await api.inject({ method: "POST", url: `/v1/credentials/${id}/test`, headers: bearer(alice.accessToken), payload: { passphrase } });
      expect(right.statusCode).toBe(200);
      const secret = await api.app.vault.open(stored, Buffer.from(salt, "base64"), passphrase);
      expect(secret).toEqual({ kind: "digitalocean", token });
    });
  });

  describe.skipIf(skip)("binding and erasure", () => {
    it("binds ciphertext to its user, credential id and kind (associated data)", async () => {
      const created = json(await addCredential(alice, { kind: "digitalocean", name: "bound", token: tokens.full }));
      const stored = await row(String(created.id));
      const salt = Buffer.from(
        (await api.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", alice.userId).executeTakeFirstOrThrow()).key_salt,
        "base64",
      );
      expect(await api.app.vault.open(stored, salt)).toEqual({ kind: "digitalocean", token: tokens.full });
      const moved: Credential[] = [
        { ...stored, id: "cred_other" },
        { ...stored, user_id: bob.userId },
        { ...stored, kind: "gcp" },
        { ...stored, key_version: 2 },
      ];
      for (const variant of moved) await expect(api.app.vault.open(variant, salt)).rejects.toThrow();
      await expect(api.app.vault.open(stored, randomBytes(32))).rejects.toBeInstanceOf(VaultKeyError);
    });

    it("deleting the account destroys its vault key: its credentials can never be decrypted again", async () => {
      const carol = await signUp(api, "carol");
      const token = doToken();
      remember(api, token);
      const created = json(await addCredential(carol, { kind: "digitalocean", name: "erase me", token }));
      // What a leaked backup taken before the deletion would hold of the credential row.
      const leaked = await row(String(created.id));
      const saltBefore = await api.app.db.selectFrom("user_keys").selectAll().where("user_id", "=", carol.userId).execute();
      expect(saltBefore).toHaveLength(1);

      const wrongPassword = await api.inject({ method: "DELETE", url: "/v1/me", headers: bearer(carol.accessToken), payload: { password: "not-carols-password" } });
      remember(api, "not-carols-password");
      expect(wrongPassword.statusCode).toBe(403);
      expect(await countRows(api, "user_keys")).toBeGreaterThan(0);

      const response = await api.inject({ method: "DELETE", url: "/v1/me", headers: bearer(carol.accessToken), payload: { password: carol.password } });
      expect(response.statusCode).toBe(204);
      for (const table of ["users", "user_keys", "credentials", "sessions", "api_keys"] as const) {
        const column = table === "users" ? "id" : "user_id";
        const left = await api.app.db.selectFrom(table).select(column).where(column, "=", carol.userId).execute();
        expect(left, table).toEqual([]);
      }
      // The per-user key needs the destroyed random salt: with any other salt the data key does not unwrap.
      await expect(api.app.vault.open(leaked, randomBytes(32))).rejects.toBeInstanceOf(VaultKeyError);
      // The old access token is dead at once; the audit trail outlives the account.
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(carol.accessToken) })).statusCode).toBe(401);
      const trail = (await auditEntries(api)).filter((e) => e.actor_user_id === carol.userId).map((e) => [e.action, e.result]);
      expect(trail).toContainEqual(["account.delete", "ok"]);
      expect(trail).toContainEqual(["account.delete", "denied"]);
    });

    it("an admin deleting an account erases it the same way", async () => {
      const admin = await signUpAdmin(api);
      const dave = await signUp(api, "dave");
      await addCredential(dave, { kind: "digitalocean", name: "d", token: tokens.full });
      const response = await api.inject({ method: "DELETE", url: `/v1/admin/users/${dave.userId}`, headers: bearer(admin.accessToken) });
      expect(response.statusCode).toBe(204);
      expect(await api.app.db.selectFrom("user_keys").selectAll().where("user_id", "=", dave.userId).execute()).toEqual([]);
      expect(await api.app.db.selectFrom("credentials").selectAll().where("user_id", "=", dave.userId).execute()).toEqual([]);
    });
  });

  describe.skipIf(skip)("operator CLI", () => {
    const cli = async (...args: string[]) => {
      const lines: string[] = [];
      const env = { CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) };
      await buildCli(env, (line) => lines.push(line)).parseAsync(["node", "admin-cli", ...args]);
      return lines.join("\n");
    };

    it("promotes a registered account to admin (the first-admin step) and audits it", async () => {
      const erin = await signUp(api, "erin");
      expect(await cli("promote", erin.email.toUpperCase())).toContain("is now an admin");
      expect((await api.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(erin.accessToken) })).statusCode).toBe(200);
      expect((await auditEntries(api)).at(-1)).toMatchObject({ action: "admin.user.promote.cli", actor_kind: "system", target: erin.userId });
      await expect(cli("promote", "nobody@example.com")).rejects.toThrow(/no account/);
    });

    it("rotates the master key: add a version, restart, re-wrap, retire the old one; everything still decrypts", async () => {
      const before = await api.app.db.selectFrom("credentials").selectAll().where("wrapped_key", "is not", null).execute();
      expect(before.length).toBeGreaterThan(3);
      // A registered host's gateway token is wrapped by the same keyring and must survive the rotation too.
      const { id: instanceId } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null, registeredAt: new Date().toISOString() });
      const gatewayToken = randomBytes(32).toString("hex");
      remember(api, gatewayToken);
      await storeGatewayToken(api.app.db, api.app.vault.wrapper, { userId: alice.userId, instanceId, token: gatewayToken });
      const status = await cli("master-key", "status");
      expect(status).toContain("current version: 1");
      expect(status).toContain(`version 1: ${before.length + 1} wrapped data key(s)`);
      expect(await cli("master-key", "add")).toContain("added master key version 2");
      await expect(cli("master-key", "retire", "1")).rejects.toThrow(/still wraps/);

      // The running process reloads the key file (its timer, or SIGHUP); a second process loads both versions
      // too, and both wrap new data keys under 2 once each holds it.
      await api.app.keys.reloadNow();
      const restarted = await startApi({ engine, share: api, env: { CLAWSTACK_DIGITALOCEAN_API_URL: stand.url } });
      try {
        const fresh = json(
          await restarted.inject({ method: "POST", url: "/v1/credentials", headers: bearer(alice.accessToken), payload: { kind: "digitalocean", name: "v2", token: tokens.full } }),
        );
        expect(fresh.keyVersion).toBe(2);
        expect(await cli("master-key", "rewrap")).toMatch(/re-wrapped \d+ data key\(s\) under version 2/);
        const after = await restarted.app.db.selectFrom("credentials").selectAll().where("wrapped_key", "is not", null).execute();
        for (const credential of after) {
          expect(credential.key_version).toBe(2);
          const previous = before.find((b) => b.id === credential.id);
          if (previous) {
            expect(credential.ciphertext).toBe(previous.ciphertext);
            expect(credential.wrapped_key).not.toBe(previous.wrapped_key);
          }
        }
        const secret = await restarted.app.db.selectFrom("instance_secrets").selectAll().where("instance_id", "=", instanceId).executeTakeFirstOrThrow();
        expect(secret.key_version).toBe(2);
        expect(await cli("master-key", "status")).not.toMatch(/version 1:/);
        expect(await cli("master-key", "retire", "1")).toContain("removed master key version 1");
      } finally {
        await restarted.close();
      }
      const again = await startApi({ engine, share: api, env: { CLAWSTACK_DIGITALOCEAN_API_URL: stand.url } });
      try {
        const list = json(await again.inject({ method: "GET", url: "/v1/credentials", headers: bearer(alice.accessToken) }));
        const full = (list.credentials as { id: string; name: string }[]).find((c) => c.name === "full")!;
        const test = await again.inject({ method: "POST", url: `/v1/credentials/${full.id}/test`, headers: bearer(alice.accessToken) });
        expect(json(test)).toMatchObject({ ok: true });
        // Only version 2 is left in the keyring: the gateway token still decrypts.
        expect(await readGatewayToken(again.app.db, again.app.vault.wrapper, instanceId)).toBe(gatewayToken);
      } finally {
        await again.close();
      }
    });
  });

  describe.skipIf(skip)("the secret scan", () => {
    it("leaves no token, passphrase, credential value, password or master key in plaintext in the database or the logs", async () => {
      expect(api.secrets.size).toBeGreaterThan(15);
      expect(await scanForSecrets(api)).toEqual([]);
    });
  });
});
