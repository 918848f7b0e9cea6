/**
 * Accounts, sessions, RBAC and agent API keys, end to end over HTTP on both
 * engines; every action leaves an audit entry; nothing secret is left in
 * plaintext in the database or the logs.
 */
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auditEntries,
  bearer,
  countRows,
  engines,
  json,
  login,
  register,
  remember,
  scanForSecrets,
  type Session,
  signUp,
  signUpAdmin,
  startApi,
  type TestApi,
} from "./support";

describe.each(engines("the auth suite"))("auth on $engine", ({ engine, skip }) => {
  let api: TestApi;

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
  });
  afterAll(async () => {
    await api?.close();
  });

  describe.skipIf(skip)("registration and login", () => {
    it("registers an account with role user and stores an argon2id hash, never the password", async () => {
      const account = await register(api);
      const row = await api.app.db.selectFrom("users").selectAll().where("id", "=", account.userId).executeTakeFirstOrThrow();
      expect(row.role).toBe("user");
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=8192,p=1,t=1\$/);
      expect(row.password_hash).not.toContain(account.password);
      expect(await api.app.db.selectFrom("user_keys").selectAll().where("user_id", "=", account.userId).execute()).toHaveLength(1);
    });

    it("refuses a second account with the same email (case-insensitive), naming `email`", async () => {
      const account = await register(api);
      const again = await api.inject({
        method: "POST",
        url: "/v1/auth/register",
        payload: { email: account.email.toUpperCase(), password: "another-long-password" },
      });
      expect(again.statusCode).toBe(409);
      expect(json(again).message).toContain("`email`");
    });

    it("refuses a short password naming `body.password` and writes nothing", async () => {
      const before = await countRows(api, "users");
      const response = await api.inject({ method: "POST", url: "/v1/auth/register", payload: { email: "short@example.com", password: "short" } });
      expect(response.statusCode).toBe(400);
      expect(json(response)).toMatchObject({ field: "body.password" });
      expect(json(response).message).toContain("at least 12");
      expect(await countRows(api, "users")).toBe(before);
    });

    it("logs in, answers /v1/me, and refuses a wrong password or an unknown email the same way", async () => {
      const session = await signUp(api);
      const me = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(session.accessToken) });
      expect(me.statusCode).toBe(200);
      expect(json(me)).toMatchObject({ id: session.userId, email: session.email, role: "user" });

      const wrong = await api.inject({ method: "POST", url: "/v1/auth/login", payload: { email: session.email, password: "wrong-password-123" } });
      const unknown = await api.inject({ method: "POST", url: "/v1/auth/login", payload: { email: "nobody@example.com", password: "wrong-password-123" } });
      remember(api, "wrong-password-123");
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(json(wrong).message).toBe(json(unknown).message);
    });
  });

  describe.skipIf(skip)("tokens", () => {
    let session: Session;
    beforeAll(async () => {
      session = await signUp(api);
    });

    it("rotates refresh tokens: each is single use and the new pair works", async () => {
      const first = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: session.refreshToken } });
      expect(first.statusCode).toBe(200);
      const next = json(first);
      remember(api, String(next.accessToken), String(next.refreshToken));
      expect(next.refreshToken).not.toBe(session.refreshToken);
      expect(next.expiresIn).toBe(900);
      const me = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(String(next.accessToken)) });
      expect(me.statusCode).toBe(200);
      const rows = await api.app.db.selectFrom("sessions").selectAll().where("user_id", "=", session.userId).execute();
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it("detects reuse of a spent refresh token and revokes the whole family", async () => {
      const fresh = await login(api, session);
      const rotated = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
      const current = String(json(rotated).refreshToken);
      remember(api, current, String(json(rotated).accessToken));

      const replay = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
      expect(replay.statusCode).toBe(401);
      expect(json(replay).message).toContain("already used");
      // The legitimate holder's newest token died with the family.
      const afterReuse = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: current } });
      expect(afterReuse.statusCode).toBe(401);
      expect(json(afterReuse).message).toContain("revoked");

      const reuse = (await auditEntries(api)).filter((e) => e.action === "auth.refresh.reuse");
      expect(reuse.at(-1)).toMatchObject({ actor_user_id: session.userId, result: "denied" });
    });

    it("lets only one of two simultaneous refreshes of one token win, and then revokes the family", async () => {
      const fresh = await login(api, session);
      const both = await Promise.all(
        [0, 1].map(() => api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } })),
      );
      expect(both.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      const winner = json(both.find((r) => r.statusCode === 200)!);
      remember(api, String(winner.accessToken), String(winner.refreshToken));
      const next = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: String(winner.refreshToken) } });
      expect(next.statusCode).toBe(401);
    });

    it("spends a refresh token only together with storing its successor (one transaction)", async () => {
      const fresh = await login(api, session);
      const detail = "refresh-insert-failure";
      if (engine === "sqlite") {
        await sql.raw(`CREATE TRIGGER fail_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, '${detail}'); END`).execute(api.app.db);
      } else {
        await sql.raw(`CREATE FUNCTION fail_sessions() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '${detail}'; END $$ LANGUAGE plpgsql`).execute(api.app.db);
        await sql.raw("CREATE TRIGGER fail_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION fail_sessions()").execute(api.app.db);
      }
      try {
        const failed = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
        expect(failed.statusCode).toBe(500);
      } finally {
        await sql.raw("DROP TRIGGER fail_sessions" + (engine === "postgres" ? " ON sessions" : "")).execute(api.app.db);
      }
      // Not spent: the same token still rotates.
      const retry = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
      expect(retry.statusCode).toBe(200);
      remember(api, String(json(retry).accessToken), String(json(retry).refreshToken));
    });

    it("logout revokes the session family", async () => {
      const fresh = await login(api, session);
      const out = await api.inject({ method: "POST", url: "/v1/auth/logout", payload: { refreshToken: fresh.refreshToken } });
      expect(out.statusCode).toBe(204);
      const refresh = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
      expect(refresh.statusCode).toBe(401);
    });

    it("refuses bad, tampered, foreign and expired access tokens with a 401 that says why", async () => {
      const noHeader = await api.inject({ method: "GET", url: "/v1/me" });
      expect(noHeader.statusCode).toBe(401);
      expect(json(noHeader).message).toContain("Authorization");

      const basic = await api.inject({ method: "GET", url: "/v1/me", headers: { authorization: "Basic abc" } });
      expect(json(basic).message).toContain("Bearer <token>");

      const tampered = session.accessToken.slice(0, -3) + (session.accessToken.endsWith("AAA") ? "BBB" : "AAA");
      const bad = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(tampered) });
      expect(bad.statusCode).toBe(401);
      expect(json(bad).message).toBe("access token is not valid");

      const foreignKey = new TextEncoder().encode("a".repeat(48));
      const foreign = await new SignJWT({ role: "admin", typ: "access" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(session.userId)
        .setIssuer("clawstack-api")
        .setAudience("clawstack-api")
        .setExpirationTime("5m")
        .sign(foreignKey);
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(foreign) })).statusCode).toBe(401);

      const ownKey = await api.app.accessTokens.sign({ userId: session.userId, role: "user" });
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(ownKey) })).statusCode).toBe(200);
      remember(api, ownKey);
    });

    it("refuses an expired access token and points at refresh", async () => {
      const secret = Buffer.from(
        (await import("node:fs")).readFileSync(`${api.config.dataDir}/jwt-secret`, "utf8").trim(),
        "base64",
      );
      const expired = await new SignJWT({ role: "user", typ: "access" })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
        .setSubject(session.userId)
        .setIssuer("clawstack-api")
        .setAudience("clawstack-api")
        .setJti("expired-token")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 1000)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 100)
        .sign(secret);
      remember(api, expired);
      const response = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(expired) });
      expect(response.statusCode).toBe(401);
      expect(json(response).message).toContain("expired");
      expect(json(response).message).toContain("/v1/auth/refresh");
    });

    it("refuses a token signed with the real key unless it has exp, iat, iss, aud, sub, jti, both types and a sane age", async () => {
      const secret = Buffer.from(readFileSync(`${api.config.dataDir}/jwt-secret`, "utf8").trim(), "base64");
      const nowSeconds = Math.floor(Date.now() / 1000);
      type Shape = { header?: Record<string, unknown>; drop?: string[]; claims?: Record<string, unknown> };
      // Built by hand (not with SignJWT's setters) so a claim can be left out entirely.
      const forge = async ({ header = { alg: "HS256", typ: "at+jwt" }, drop = [], claims = {} }: Shape) => {
        const payload: Record<string, unknown> = {
          role: "user",
          typ: "access",
          sub: session.userId,
          iss: "clawstack-api",
          aud: "clawstack-api",
          jti: `forged-${Math.random()}`,
          iat: nowSeconds,
          exp: nowSeconds + 300,
          ...claims,
        };
        for (const name of drop) delete payload[name];
        const token = await new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(secret);
        remember(api, token);
        return api.inject({ method: "GET", url: "/v1/me", headers: bearer(token) });
      };
      // The complete shape is accepted, so each refusal below is caused by the one thing it changes.
      expect((await forge({})).statusCode).toBe(200);
      const refusals: Record<string, Shape> = {
        "no exp": { drop: ["exp"] },
        "no iat": { drop: ["iat"] },
        "no iss": { drop: ["iss"] },
        "no aud": { drop: ["aud"] },
        "no sub": { drop: ["sub"] },
        "no jti": { drop: ["jti"] },
        "no payload typ": { drop: ["typ"] },
        "payload typ refresh": { claims: { typ: "refresh" } },
        "no header typ": { header: { alg: "HS256" } },
        "header typ JWT": { header: { alg: "HS256", typ: "JWT" } },
        "foreign issuer": { claims: { iss: "someone-else" } },
        "foreign audience": { claims: { aud: "someone-else" } },
        "exp a year out, iat an hour ago": { claims: { iat: nowSeconds - 3600, exp: nowSeconds + 31_536_000 } },
        "iat in the future": { claims: { iat: nowSeconds + 3600, exp: nowSeconds + 3900 } },
      };
      for (const [name, shape] of Object.entries(refusals)) {
        const response = await forge(shape);
        expect(response.statusCode, name).toBe(401);
      }
    });

    it("refuses a refresh token that was never issued, an empty one, and an expired one", async () => {
      const never = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: "x".repeat(43) } });
      expect(never.statusCode).toBe(401);
      const empty = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: "" } });
      expect(empty.statusCode).toBe(400);
      expect(json(empty).field).toBe("body.refreshToken");

      const fresh = await login(api, session);
      await api.app.db
        .updateTable("sessions")
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where("user_id", "=", session.userId)
        .where("spent_at", "is", null)
        .where("revoked_at", "is", null)
        .execute();
      const expired = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } });
      expect(expired.statusCode).toBe(401);
      expect(json(expired).message).toContain("expired");
    });
  });

  describe.skipIf(skip)("roles", () => {
    let user: Session;
    let admin: Session;
    beforeAll(async () => {
      user = await signUp(api);
      admin = await signUpAdmin(api);
    });

    it("denies admin routes to a user (403) and to nobody (401)", async () => {
      const asUser = await api.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(user.accessToken) });
      expect(asUser.statusCode).toBe(403);
      expect(json(asUser).message).toContain("admin role required");
      expect((await api.inject({ method: "GET", url: "/v1/admin/users" })).statusCode).toBe(401);
      expect((await api.inject({ method: "GET", url: "/v1/admin/audit", headers: bearer(user.accessToken) })).statusCode).toBe(403);
      const patch = await api.inject({
        method: "PATCH",
        url: `/v1/admin/users/${user.userId}`,
        headers: bearer(user.accessToken),
        payload: { role: "admin" },
      });
      expect(patch.statusCode).toBe(403);
      const row = await api.app.db.selectFrom("users").select("role").where("id", "=", user.userId).executeTakeFirstOrThrow();
      expect(row.role).toBe("user");
      const denied = (await auditEntries(api)).filter((e) => e.action === "admin.user.update" && e.actor_user_id === user.userId);
      expect(denied.at(-1)).toMatchObject({ result: "denied", status_code: 403 });
    });

    it("lets an admin list accounts, change a role (taking effect at once) and read every audit entry", async () => {
      const list = await api.inject({ method: "GET", url: "/v1/admin/users?limit=500", headers: bearer(admin.accessToken) });
      expect(list.statusCode).toBe(200);
      expect((json(list).users as { id: string }[]).map((u) => u.id)).toContain(user.userId);

      const promote = await api.inject({
        method: "PATCH",
        url: `/v1/admin/users/${user.userId}`,
        headers: bearer(admin.accessToken),
        payload: { role: "admin" },
      });
      expect(promote.statusCode).toBe(200);
      // The role is read from the database, so the user's existing token is admin now...
      expect((await api.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(user.accessToken) })).statusCode).toBe(200);
      await api.inject({ method: "PATCH", url: `/v1/admin/users/${user.userId}`, headers: bearer(admin.accessToken), payload: { role: "user" } });
      // ...and a demotion takes effect at once too.
      expect((await api.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(user.accessToken) })).statusCode).toBe(403);

      const all = await api.inject({ method: "GET", url: "/v1/admin/audit?limit=500", headers: bearer(admin.accessToken) });
      const actors = new Set((json(all).entries as { actorUserId: string | null }[]).map((e) => e.actorUserId));
      expect(actors.has(user.userId)).toBe(true);
      expect(actors.has(admin.userId)).toBe(true);
    });

    it("lets an admin sign an account out everywhere (every refresh token revoked, earlier access tokens refused)", async () => {
      const victim = await signUp(api, "victim");
      const second = await login(api, victim);
      const response = await api.inject({ method: "DELETE", url: `/v1/admin/users/${victim.userId}/sessions`, headers: bearer(admin.accessToken) });
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ apiKeysRevoked: 0 });
      for (const refreshToken of [victim.refreshToken, second.refreshToken]) {
        expect((await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken } })).statusCode).toBe(401);
      }
      // Access tokens issued before the revocation stop at once too.
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(victim.accessToken) })).statusCode).toBe(401);
      const again = await login(api, victim);
      const byUser = await api.inject({ method: "DELETE", url: `/v1/admin/users/${admin.userId}/sessions`, headers: bearer(again.accessToken) });
      expect(byUser.statusCode).toBe(403);
      const missing = await api.inject({ method: "DELETE", url: "/v1/admin/users/usr_nobodyAAAAAAAAAAAAAAAA/sessions", headers: bearer(admin.accessToken) });
      expect(missing.statusCode).toBe(404);
      expect((await auditEntries(api)).filter((e) => e.action === "admin.user.sessions.revoke").map((e) => e.result)).toEqual(["ok", "denied", "invalid"]);
    });

    it("revokes the account's agent API keys with a forced sign-out unless the admin keeps them, counting and auditing each", async () => {
      const victim = await signUp(api, "key-holder");
      const mint = async (name: string) => {
        const created = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(victim.accessToken), payload: { name, scopes: ["account:read"] } });
        expect(created.statusCode).toBe(201);
        remember(api, String(json(created).key));
        return { id: String(json(created).id), key: String(json(created).key) };
      };
      const works = async (key: string) => (await api.inject({ method: "GET", url: "/v1/me", headers: bearer(key) })).statusCode;
      const first = await mint("agent one");
      const second = await mint("agent two");
      const revokedEarlier = await mint("already revoked");
      await api.inject({ method: "DELETE", url: `/v1/api-keys/${revokedEarlier.id}`, headers: bearer(victim.accessToken) });

      const kept = await api.inject({
        method: "DELETE",
        url: `/v1/admin/users/${victim.userId}/sessions`,
        headers: bearer(admin.accessToken),
        payload: { keepApiKeys: true },
      });
      expect(kept.statusCode).toBe(200);
      expect(json(kept)).toEqual({ apiKeysRevoked: 0 });
      expect(await works(first.key)).toBe(200);
      expect(await works(second.key)).toBe(200);

      const revoked = await api.inject({ method: "DELETE", url: `/v1/admin/users/${victim.userId}/sessions`, headers: bearer(admin.accessToken) });
      expect(revoked.statusCode).toBe(200);
      expect(json(revoked)).toEqual({ apiKeysRevoked: 2 });
      expect(await works(first.key)).toBe(401);
      expect(await works(second.key)).toBe(401);

      const entries = await auditEntries(api);
      const request = entries.find((e) => e.action === "admin.user.sessions.revoke" && e.target === victim.userId && e.result === "ok" && e.request_id !== null && entries.some((k) => k.action === "api_key.revoke.sign_out" && k.request_id === e.request_id));
      expect(request).toBeDefined();
      const perKey = entries.filter((e) => e.action === "api_key.revoke.sign_out" && e.request_id === request!.request_id);
      expect(perKey.map((e) => e.target).sort()).toEqual([first.id, second.id].sort());
      for (const entry of perKey) expect(entry).toMatchObject({ actor_user_id: admin.userId, result: "ok" });
      expect(entries.filter((e) => e.action === "api_key.keep.sign_out" && e.target === victim.userId)).toHaveLength(1);

      const badFlag = await api.inject({
        method: "DELETE",
        url: `/v1/admin/users/${victim.userId}/sessions`,
        headers: bearer(admin.accessToken),
        payload: { keepApiKeys: "yes" },
      });
      expect(badFlag.statusCode).toBe(400);
      expect(json(badFlag).field).toBe("body.keepApiKeys");
    });

    it("lets a user sign out everywhere: refresh tokens, earlier access tokens and agent API keys stop, unless the keys are kept", async () => {
      const user = await signUp(api, "self-sign-out");
      const elsewhere = await login(api, user);
      const created = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(user.accessToken), payload: { name: "agent", scopes: ["account:read"] } });
      expect(created.statusCode).toBe(201);
      const key = String(json(created).key);
      remember(api, key);

      const kept = await api.inject({ method: "POST", url: "/v1/me/sign-out-everywhere", headers: bearer(elsewhere.accessToken), payload: { keepApiKeys: true } });
      expect(kept.statusCode).toBe(200);
      expect(json(kept)).toEqual({ apiKeysRevoked: 0 });
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(key) })).statusCode).toBe(200);
      for (const refreshToken of [user.refreshToken, elsewhere.refreshToken]) {
        expect((await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken } })).statusCode).toBe(401);
      }
      for (const accessToken of [user.accessToken, elsewhere.accessToken]) {
        expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(accessToken) })).statusCode).toBe(401);
      }

      const again = await login(api, user);
      const revoked = await api.inject({ method: "POST", url: "/v1/me/sign-out-everywhere", headers: bearer(again.accessToken) });
      expect(revoked.statusCode).toBe(200);
      expect(json(revoked)).toEqual({ apiKeysRevoked: 1 });
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(key) })).statusCode).toBe(401);
      // An agent key cannot sign its owner out.
      const third = await login(api, user);
      const agent = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(third.accessToken), payload: { name: "agent 2", scopes: ["account:read"] } });
      remember(api, String(json(agent).key));
      expect((await api.inject({ method: "POST", url: "/v1/me/sign-out-everywhere", headers: bearer(String(json(agent).key)) })).statusCode).toBe(403);
      const entries = (await auditEntries(api)).filter((e) => e.action === "account.sign_out_everywhere" && e.actor_user_id === user.userId);
      expect(entries.map((e) => e.result)).toEqual(["ok", "ok", "denied"]);
    });

    it("never demotes or deletes the last admin", async () => {
      const admins = await api.app.db.selectFrom("users").select("id").where("role", "=", "admin").execute();
      for (const other of admins.filter((a) => a.id !== admin.userId)) {
        await api.app.db.updateTable("users").set({ role: "user" }).where("id", "=", other.id).execute();
      }
      const demote = await api.inject({
        method: "PATCH",
        url: `/v1/admin/users/${admin.userId}`,
        headers: bearer(admin.accessToken),
        payload: { role: "user" },
      });
      expect(demote.statusCode).toBe(409);
      expect(json(demote).message).toContain("last admin");
      const remove = await api.inject({ method: "DELETE", url: `/v1/admin/users/${admin.userId}`, headers: bearer(admin.accessToken) });
      expect(remove.statusCode).toBe(409);
    });

    it("a user reads only their own audit entries", async () => {
      const mine = await api.inject({ method: "GET", url: "/v1/audit?limit=500", headers: bearer(user.accessToken) });
      expect(mine.statusCode).toBe(200);
      const entries = json(mine).entries as { actorUserId: string | null }[];
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) expect(entry.actorUserId).toBe(user.userId);
    });

    it("has no route that edits or deletes audit entries", async () => {
      for (const method of ["DELETE", "PATCH", "PUT", "POST"] as const) {
        const response = await api.inject({ method, url: "/v1/admin/audit", headers: bearer(admin.accessToken), payload: {} });
        expect(response.statusCode).toBe(404);
      }
      const spec = (await api.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, Record<string, unknown>> };
      for (const [path, operations] of Object.entries(spec.paths)) {
        if (path.includes("audit")) expect(Object.keys(operations)).toEqual(["get"]);
      }
    });
  });

  describe.skipIf(skip)("agent API keys", () => {
    let owner: Session;
    let created: { id: string; prefix: string; key: string };
    beforeAll(async () => {
      owner = await signUp(api);
    });

    it("creates a key shown once, with an identifiable prefix, stored hashed", async () => {
      const response = await api.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: bearer(owner.accessToken),
        payload: { name: "laptop agent", scopes: ["account:read", "credentials:read"] },
      });
      expect(response.statusCode).toBe(201);
      const body = json(response);
      created = { id: String(body.id), prefix: String(body.prefix), key: String(body.key) };
      remember(api, created.key);
      expect(created.prefix).toMatch(/^clk_[A-Za-z0-9]{12}$/);
      expect(created.key.startsWith(`${created.prefix}_`)).toBe(true);
      const row = await api.app.db.selectFrom("api_keys").selectAll().where("id", "=", created.id).executeTakeFirstOrThrow();
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.last_used_at).toBeNull();

      const list = await api.inject({ method: "GET", url: "/v1/api-keys", headers: bearer(owner.accessToken) });
      const listed = (json(list).apiKeys as Record<string, unknown>[]).find((k) => k.id === created.id)!;
      expect(listed).toMatchObject({ prefix: created.prefix, scopes: ["account:read", "credentials:read"], revokedAt: null });
      expect(listed).not.toHaveProperty("key");
      expect(list.body).not.toContain(created.key);
    });

    it("authenticates as an agent within its scopes, records last use and audits the use", async () => {
      const me = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(created.key) });
      expect(me.statusCode).toBe(200);
      expect(json(me).id).toBe(owner.userId);
      const row = await api.app.db.selectFrom("api_keys").selectAll().where("id", "=", created.id).executeTakeFirstOrThrow();
      expect(row.last_used_at).not.toBeNull();
      const uses = (await auditEntries(api)).filter((e) => e.api_key_id === created.id);
      expect(uses.at(-1)).toMatchObject({ actor_kind: "agent", actor_user_id: owner.userId, action: "GET /v1/me", result: "ok" });
    });

    it("refuses what the scopes do not allow, key management and admin routes", async () => {
      const audit = await api.inject({ method: "GET", url: "/v1/audit", headers: bearer(created.key) });
      expect(audit.statusCode).toBe(403);
      expect(json(audit).message).toContain("`audit:read`");
      const mint = await api.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: bearer(created.key),
        payload: { name: "child", scopes: ["account:read"] },
      });
      expect(mint.statusCode).toBe(403);
      expect((await api.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(created.key) })).statusCode).toBe(403);
      const denied = (await auditEntries(api)).filter((e) => e.api_key_id === created.id && e.result === "denied");
      expect(denied.length).toBeGreaterThanOrEqual(3);
    });

    it("refuses a wrong secret with a valid prefix, a malformed key, and an unknown scope at creation", async () => {
      const forged = `${created.prefix}_${"A".repeat(43)}`;
      const response = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(forged) });
      expect(response.statusCode).toBe(401);
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer("clk_short") })).statusCode).toBe(401);
      const unknownScope = await api.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: bearer(owner.accessToken),
        payload: { name: "x", scopes: ["root"] },
      });
      expect(unknownScope.statusCode).toBe(400);
      expect(json(unknownScope).field).toBe("body.scopes.0");
    });

    it("revokes a key at once; revoking again or someone else's key is 404 or a no-op", async () => {
      const stranger = await signUp(api);
      const theirs = await api.inject({ method: "DELETE", url: `/v1/api-keys/${created.id}`, headers: bearer(stranger.accessToken) });
      expect(theirs.statusCode).toBe(404);
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(created.key) })).statusCode).toBe(200);

      const revoke = await api.inject({ method: "DELETE", url: `/v1/api-keys/${created.id}`, headers: bearer(owner.accessToken) });
      expect(revoke.statusCode).toBe(204);
      const after = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(created.key) });
      expect(after.statusCode).toBe(401);
      expect(json(after).message).toContain("revoked");
      const entries = (await auditEntries(api)).filter((e) => e.action === "api_key.revoke" && e.target === created.id);
      expect(entries.map((e) => e.result)).toEqual(["invalid", "ok"]);
    });

    it("refuses an expired key", async () => {
      const response = await api.inject({
        method: "POST",
        url: "/v1/api-keys",
        headers: bearer(owner.accessToken),
        payload: { name: "short-lived", scopes: ["account:read"], expiresInDays: 1 },
      });
      const key = String(json(response).key);
      remember(api, key);
      await api.app.db
        .updateTable("api_keys")
        .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
        .where("id", "=", String(json(response).id))
        .execute();
      const use = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(key) });
      expect(use.statusCode).toBe(401);
      expect(json(use).message).toContain("expired");
    });
  });

  describe.skipIf(skip)("audit trail and the secret scan", () => {
    it("audits logins (ok and denied) and registrations with metadata only", async () => {
      const account = await register(api);
      await login(api, account);
      await api.inject({ method: "POST", url: "/v1/auth/login", payload: { email: account.email, password: "not-the-password" } });
      remember(api, "not-the-password");
      const entries = (await auditEntries(api)).filter((e) => e.actor_user_id === account.userId);
      expect(entries.map((e) => [e.action, e.result])).toEqual([
        ["auth.register", "ok"],
        ["auth.login", "ok"],
        ["auth.login", "denied"],
      ]);
      for (const entry of entries) {
        expect(entry.bytes_in).toBeGreaterThan(0);
        expect(Number(entry.latency_ms)).toBeGreaterThanOrEqual(0);
        expect(entry.request_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(Object.keys(entry).sort()).toEqual(
          ["action", "actor_kind", "actor_user_id", "api_key_id", "at", "bytes_in", "bytes_out", "id", "ip", "latency_ms", "request_id", "result", "status_code", "target"],
        );
      }
    });

    it("leaves no password, token, API key or master key in plaintext in the database or the logs", async () => {
      expect(api.secrets.size).toBeGreaterThan(20);
      expect(api.logs.length).toBeGreaterThan(50);
      expect(await scanForSecrets(api)).toEqual([]);
    });
  });
});
