/**
 * Key rotation without restarts (issue 20): processes reload their key
 * sources and report what they hold; `admin-cli` refuses a rewrap, a retire or
 * a JWT rotation that a live process would lose data or tokens over; a process
 * whose write version was retired while it was paused refuses to write with
 * it; JWT keys rotate with overlap (key ids) and the old single secret keeps
 * working as version 1. Both engines.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import { loadConfig } from "../../api/config";
import { agreeVersion, jwtRetireBlockers, type KeyHolder, masterKeyBlockers } from "../../api/vault/key-holders";
import { keyWrapperFor } from "../../api/vault/plugin";
import { Vault } from "../../api/vault/vault";
import { bearer, engines, json, login, register, remember, scanForSecrets, signUp, startApi, type Session, type TestApi } from "./support";

const doToken = () => `dop_v1_${randomBytes(32).toString("hex")}`;

describe("key source configuration", () => {
  it.each([
    [{ CLAWSTACK_MASTER_KEYS: "1:x", CLAWSTACK_MASTER_KEYS_FILE: "/k" }, "CLAWSTACK_MASTER_KEYS_FILE"],
    [{ CLAWSTACK_KMS_KEYS: "1:x", CLAWSTACK_KMS_KEYS_FILE: "/k" }, "CLAWSTACK_KMS_KEYS_FILE"],
    [{ CLAWSTACK_JWT_SECRET: "x", CLAWSTACK_JWT_KEYS_FILE: "/k" }, "CLAWSTACK_JWT_KEYS"],
    [{ CLAWSTACK_KMS_KEYS_FILE: "/a", CLAWSTACK_GCP_KMS_KEYS_FILE: "/b" }, "CLAWSTACK_GCP_KMS_KEYS"],
    [{ CLAWSTACK_KEY_RELOAD_MS: "-1" }, "CLAWSTACK_KEY_RELOAD_MS"],
  ])("refuses %j naming %s", (env, key) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ key }));
  });
});

describe("the agreement and refusal rules", () => {
  const holder = (over: Partial<KeyHolder>): KeyHolder => ({
    processId: "api-h-1-aa",
    kind: "api",
    host: "h",
    pid: 1,
    lastSeen: new Date().toISOString(),
    stoppedAt: null,
    wrapKind: "local",
    keyVersions: { local: [1, 2] },
    writeVersion: 2,
    jwtVersions: [1, 2],
    jwtWriteVersion: 2,
    jwtWriteSince: null,
    ...over,
  });

  it("writes with the highest version every live process holds and nobody retired", () => {
    expect(agreeVersion([1, 2], [[1, 2], [1]], new Set())).toBe(1);
    expect(agreeVersion([1, 2], [[1, 2]], new Set())).toBe(2);
    expect(agreeVersion([1, 2], [[1, 2]], new Set([2]))).toBe(1);
    expect(agreeVersion([1], [], new Set([1]))).toBeUndefined();
  });

  it("blocks a rewrap on a live process that lacks the version or writes with another, not on a stale or stopped one", () => {
    const old = new Date(Date.now() - 60_000).toISOString();
    const rows = [
      holder({ processId: "fine" }),
      holder({ processId: "lacks", keyVersions: { local: [1] }, writeVersion: 1 }),
      holder({ processId: "writes-old", writeVersion: 1 }),
      holder({ processId: "stale", keyVersions: { local: [1] }, writeVersion: 1, lastSeen: old }),
      holder({ processId: "stopped", keyVersions: { local: [1] }, writeVersion: 1, stoppedAt: old }),
      holder({ processId: "kms", wrapKind: "kms", keyVersions: { kms: [1] }, writeVersion: 1 }),
    ];
    expect(masterKeyBlockers(rows, "local", 2, 10_000).map((row) => row.processId)).toEqual(["lacks", "writes-old"]);
  });

  it("blocks a JWT retirement while a token signed with the key may be valid", () => {
    const now = Date.now();
    const grace = 20_000;
    const rows = [
      holder({ processId: "signs-old", jwtWriteVersion: 1 }),
      holder({ processId: "switched-now", jwtWriteSince: new Date(now - 1_000).toISOString() }),
      holder({ processId: "switched-long-ago", jwtWriteSince: new Date(now - 60_000).toISOString() }),
      holder({ processId: "never-old" }),
      holder({ processId: "gone-long-ago", jwtWriteVersion: 1, lastSeen: new Date(now - 60_000).toISOString() }),
    ];
    expect(jwtRetireBlockers(rows, 1, grace, now).map(({ holder: row }) => row.processId)).toEqual(["signs-old", "switched-now"]);
  });
});

describe.each(engines("the key rotation suite"))("key rotation on $engine", ({ engine, skip }) => {
  let api: TestApi;

  beforeAll(async () => {
    if (skip) return;
    // Reloading off: this process plays the one whose reload was skipped (it reloads only when told, like SIGHUP).
    api = await startApi({ engine, env: { CLAWSTACK_KEY_RELOAD_MS: "0" } });
  });
  afterAll(async () => {
    await api?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const cli = async (target: TestApi | string, ...rest: string[]) => {
    const on = typeof target === "string" ? api : target;
    const args = typeof target === "string" ? [target, ...rest] : rest;
    const lines: string[] = [];
    const env = {
      CLAWSTACK_DATA_DIR: on.dataDir,
      CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
      CLAWSTACK_KEY_RELOAD_MS: "0",
      CLAWSTACK_ACCESS_TOKEN_TTL: String(on.config.accessTokenTtlSeconds),
      ...(on.databaseUrl ? { DATABASE_URL: on.databaseUrl } : {}),
    };
    await buildCli(env, (line) => lines.push(line)).parseAsync(["node", "admin-cli", ...args]);
    return lines.join("\n");
  };
  const addCredential = (session: Session, name: string, on: TestApi = api) => {
    const token = doToken();
    remember(on, token);
    return on.inject({ method: "POST", url: "/v1/credentials", headers: bearer(session.accessToken), payload: { kind: "digitalocean", name, token } });
  };
  const keyVersions = async (on: TestApi = api) =>
    (await on.app.db.selectFrom("credentials").select("key_version").where("wrapped_key", "is not", null).orderBy("created_at").execute()).map((row) => Number(row.key_version));

  it.skipIf(skip)("refuses rewrap and retire while a running process has not reloaded the new version (the skipped-reload case)", async () => {
    const alice = await signUp(api, "alice");
    expect((await addCredential(alice, "before")).statusCode).toBe(201);
    expect(await cli("master-key", "status")).toMatch(new RegExp(`api process ${api.app.keys.processId} .*holds 1, writes with 1`));

    expect(await cli("master-key", "add")).toContain("added master key version 2");
    // The running process did not reload: rewrap is refused, naming it.
    await expect(cli("master-key", "rewrap")).rejects.toThrow(new RegExp(`refused: .*api process ${api.app.keys.processId}.*holds 1, writes with 1`));
    // Even after a rewrap done behind the CLI's back (an older admin-cli), retire is refused: the process still writes with 1.
    await new Vault(api.app.db, keyWrapperFor(api.config), api.app.passwords).rewrapAll();
    await expect(cli("master-key", "retire", "1")).rejects.toThrow(new RegExp(`refused: .*api process ${api.app.keys.processId}`));
    expect(JSON.parse(readFileSync(api.config.masterKeyFile, "utf8")).keys).toHaveProperty("1");

    // The process keeps storing under 1, which is still in the keyring: nothing lost.
    expect((await addCredential(alice, "during")).statusCode).toBe(201);
    // It reloads (SIGHUP, or its timer when reloading is on): now rewrap and retire go through.
    await api.app.keys.reloadNow();
    expect(await cli("master-key", "status")).toMatch(/holds 1, 2, writes with 2/);
    expect(await cli("master-key", "rewrap")).toMatch(/re-wrapped 1 data key\(s\) under version 2/);
    expect(await cli("master-key", "retire", "1")).toContain("removed master key version 1");
    await api.app.keys.reloadNow();
    expect((await addCredential(alice, "after")).statusCode).toBe(201);
    expect(new Set(await keyVersions())).toEqual(new Set([2]));

    // Every credential decrypts in a fresh process that has only version 2.
    const again = await startApi({ engine, share: api, env: { CLAWSTACK_KEY_RELOAD_MS: "0" } });
    try {
      const list = json(await again.inject({ method: "GET", url: "/v1/credentials", headers: bearer(alice.accessToken) }));
      for (const credential of list.credentials as { id: string }[]) {
        const row = await again.app.db.selectFrom("credentials").selectAll().where("id", "=", credential.id).executeTakeFirstOrThrow();
        const salt = await again.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", alice.userId).executeTakeFirstOrThrow();
        await expect(again.app.vault.open(row, Buffer.from(salt.key_salt, "base64"))).resolves.toMatchObject({ kind: "digitalocean" });
      }
    } finally {
      await again.close();
    }
  });

  it.skipIf(skip)("a process paused while its write version was retired refuses to write with it when it wakes", async () => {
    // Its own database, and a clock and heartbeat timer that only move when the test says: a process that can be paused.
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    const paused = await startApi({ engine, env: { CLAWSTACK_KEY_RELOAD_MS: "0" } });
    try {
      const bob = await signUp(paused, "bob");
      expect((await addCredential(bob, "before", paused)).statusCode).toBe(201);
      expect(await cli(paused, "master-key", "add")).toContain("added master key version 2");
      // Paused for a minute (no heartbeat): the CLI sees it stale and goes ahead.
      vi.setSystemTime(Date.now() + 60_000);
      expect(await cli(paused, "master-key", "status")).toMatch(/stale \(ignored\) api process/);
      expect(await cli(paused, "master-key", "rewrap")).toMatch(/re-wrapped 1 data key/);
      expect(await cli(paused, "master-key", "retire", "1")).toContain("removed master key version 1");
      // It wakes holding only 1 (reloading is off here): it must not store a new secret under the retired version.
      // Its first write finds its heartbeat stale: refused (503, retry) while it beats; the retry finds version 1 retired.
      const stale = await addCredential(bob, "while-stale", paused);
      expect(stale.statusCode).toBe(503);
      await vi.waitFor(async () => expect(await cli(paused, "master-key", "status")).toMatch(/api process .*holds 1, writes with nothing \(refusing\)/));
      const refused = await addCredential(bob, "while-retired", paused);
      expect(refused.statusCode).toBe(500);
      expect(await keyVersions(paused)).toEqual([2]);
      // Once it reloads, it writes with 2.
      await paused.app.keys.reloadNow();
      expect(json(await addCredential(bob, "reloaded", paused))).toMatchObject({ keyVersion: 2 });
      expect(await keyVersions(paused)).toEqual([2, 2]);
    } finally {
      await paused.close();
    }
  });

  it.skipIf(skip)("rotates the JWT signing key with overlap: old tokens keep working until retired, which waits for their expiry", async () => {
    const account = await register(api, "carol");
    const before = await login(api, account);
    const header = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8")) as { kid?: string };
    expect(header(before.accessToken).kid).toBe("1");
    // A token from before key ids (no kid) was signed with the one secret: version 1.
    const secret = Buffer.from(readFileSync(join(api.dataDir, "jwt-secret"), "utf8").trim(), "base64");
    const legacy = await new SignJWT({ role: "user", typ: "access", iat_ms: Date.now() })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setSubject(account.userId)
      .setIssuer("clawstack-api")
      .setAudience("clawstack-api")
      .setIssuedAt()
      .setJti("legacy")
      .setExpirationTime("60s")
      .sign(secret);
    remember(api, legacy);
    expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(legacy) })).statusCode).toBe(200);

    expect(await cli("jwt", "rotate")).toContain("added JWT signing key 2");
    // Not yet reloaded: a second rotation is refused, and nothing signs with 2.
    await expect(cli("jwt", "rotate")).rejects.toThrow(new RegExp(`refused: .*api process ${api.app.keys.processId}`));
    await api.app.keys.reloadNow();
    const after = await login(api, account);
    expect(header(after.accessToken).kid).toBe("2");
    for (const token of [before.accessToken, legacy, after.accessToken]) {
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(token) })).statusCode).toBe(200);
    }
    // Retiring 1 now would cut tokens signed a moment ago.
    await expect(cli("jwt", "retire", "1")).rejects.toThrow(/refused: tokens signed with JWT key 1 may still be valid/);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + (api.config.accessTokenTtlSeconds + 60) * 1000);
    await api.app.keys.reloadNow();
    expect(await cli("jwt", "retire", "1")).toContain("removed JWT key 1");
    expect(existsSync(join(api.dataDir, "jwt-secret"))).toBe(false);
    vi.useRealTimers();
    await api.app.keys.reloadNow();
    // The retired key verifies nothing (these tokens would have expired anyway); the new one does.
    expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(legacy) })).statusCode).toBe(401);
    const fresh = await login(api, account);
    expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(fresh.accessToken) })).statusCode).toBe(200);
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("keeps CLAWSTACK_JWT_SECRET working as key 1 and reloads CLAWSTACK_JWT_KEYS_FILE", async () => {
    const first = randomBytes(32).toString("base64");
    const byEnv = await startApi({ engine, env: { CLAWSTACK_JWT_SECRET: first, CLAWSTACK_KEY_RELOAD_MS: "0" } });
    remember(byEnv, first);
    try {
      const session = await signUp(byEnv, "dave");
      expect(JSON.parse(Buffer.from(session.accessToken.split(".")[0]!, "base64url").toString("utf8")).kid).toBe("1");
      expect((await byEnv.inject({ method: "GET", url: "/v1/me", headers: bearer(session.accessToken) })).statusCode).toBe(200);
      const keysFile = join(byEnv.dataDir, "jwt-keys.env");
      writeFileSync(keysFile, `1:${first}\n`, { mode: 0o600 });
      const byFile = await startApi({ engine, share: byEnv, env: { CLAWSTACK_JWT_KEYS_FILE: keysFile, CLAWSTACK_KEY_RELOAD_MS: "0" } });
      try {
        expect((await byFile.inject({ method: "GET", url: "/v1/me", headers: bearer(session.accessToken) })).statusCode).toBe(200);
        const second = randomBytes(32).toString("base64");
        remember(byEnv, second);
        writeFileSync(keysFile, `1:${first},2:${second}\n`);
        await byFile.app.keys.reloadNow();
        // The other process (an environment variable: it cannot reload) does not hold 2: byFile keeps signing with 1.
        const still = await login(byFile, session);
        expect(JSON.parse(Buffer.from(still.accessToken.split(".")[0]!, "base64url").toString("utf8")).kid).toBe("1");
        expect((await byEnv.inject({ method: "GET", url: "/v1/me", headers: bearer(still.accessToken) })).statusCode).toBe(200);
        await byEnv.app.keys.stop();
        await byFile.app.keys.reloadNow();
        const moved = await login(byFile, session);
        expect(JSON.parse(Buffer.from(moved.accessToken.split(".")[0]!, "base64url").toString("utf8")).kid).toBe("2");
        expect((await byFile.inject({ method: "GET", url: "/v1/me", headers: bearer(moved.accessToken) })).statusCode).toBe(200);
      } finally {
        await byFile.close();
      }
    } finally {
      await byEnv.close();
    }
  });
});
