/**
 * Changing the password (`POST /v1/me/password`) on SQLite and PostgreSQL: the
 * current password is required, the new one meets the same rule as at
 * registration, every refresh token is revoked and earlier access tokens stop
 * at once, agents cannot do it, it is
 * audited, and neither password lands anywhere in plaintext.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEntries, bearer, engines, json, remember, scanForSecrets, signUp, startApi, type Session, type TestApi } from "./support";

describe.each(engines("the password-change suite"))("password change on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let user: Session;
  const change = (token: string, payload: Record<string, unknown>) =>
    api.inject({ method: "POST", url: "/v1/me/password", headers: bearer(token), payload });
  const login = (email: string, password: string) => api.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password } });

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
    user = await signUp(api, "changer");
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("needs the current password and a valid new one, then revokes every refresh token", async () => {
    const next = "a brand new passphrase 42";
    remember(api, next, "wrong-current-password");
    const wrong = await change(user.accessToken, { currentPassword: "wrong-current-password", newPassword: next });
    expect(wrong.statusCode).toBe(403);
    expect(json(wrong)).toMatchObject({ field: "body.currentPassword" });
    const short = await change(user.accessToken, { currentPassword: user.password, newPassword: "short" });
    expect(short.statusCode).toBe(400);
    expect(json(short)).toMatchObject({ field: "body.newPassword" });
    expect((await login(user.email, user.password)).statusCode).toBe(200);

    const ok = await change(user.accessToken, { currentPassword: user.password, newPassword: next });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(json(ok)).toEqual({ apiKeysRevoked: 0 });
    expect((await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: user.refreshToken } })).statusCode).toBe(401);
    expect((await login(user.email, user.password)).statusCode).toBe(401);
    // The access token from before the change stops at once; one from a new sign-in works.
    const before = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(user.accessToken) });
    expect(before.statusCode).toBe(401);
    expect(String(json(before).message)).toMatch(/signed out everywhere/);
    const fresh = await login(user.email, next);
    expect(fresh.statusCode).toBe(200);
    remember(api, String(json(fresh).accessToken), String(json(fresh).refreshToken));
    expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(String(json(fresh).accessToken)) })).statusCode).toBe(200);

    const trail = (await auditEntries(api)).filter((entry) => entry.action === "account.password").map((entry) => entry.result);
    expect(trail).toEqual(expect.arrayContaining(["ok", "denied"]));
  });

  it.skipIf(skip)("refuses agent API keys", async () => {
    const other = await signUp(api, "agent-owner");
    const created = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(other.accessToken), payload: { name: "agent", scopes: ["account:read"] } });
    const key = String(json(created).key);
    remember(api, key);
    const response = await change(key, { currentPassword: other.password, newPassword: "agents may not do this 1" });
    expect(response.statusCode).toBe(403);
    expect((await login(other.email, other.password)).statusCode).toBe(200);
  });

  it.skipIf(skip)("revokes the account's agent API keys unless `keepApiKeys: true`, says how many, and audits each", async () => {
    const owner = await signUp(api, "key-owner");
    const mint = async () => {
      const created = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(owner.accessToken), payload: { name: "agent", scopes: ["account:read"] } });
      remember(api, String(json(created).key));
      return { id: String(json(created).id), key: String(json(created).key) };
    };
    const works = async (key: string) => (await api.inject({ method: "GET", url: "/v1/me", headers: bearer(key) })).statusCode;
    const first = await mint();
    const second = await mint();

    const keep = "kept keys passphrase 1";
    remember(api, keep);
    const kept = await change(owner.accessToken, { currentPassword: owner.password, newPassword: keep, keepApiKeys: true });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(json(kept)).toEqual({ apiKeysRevoked: 0 });
    expect(await works(first.key)).toBe(200);

    const signedIn = await login(owner.email, keep);
    const token = String(json(signedIn).accessToken);
    remember(api, token, String(json(signedIn).refreshToken));
    const revokeNext = "revoke keys passphrase 2";
    remember(api, revokeNext);
    const revoked = await change(token, { currentPassword: keep, newPassword: revokeNext });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(json(revoked)).toEqual({ apiKeysRevoked: 2 });
    expect(await works(first.key)).toBe(401);
    expect(await works(second.key)).toBe(401);

    const entries = await auditEntries(api);
    const perKey = entries.filter((e) => e.action === "api_key.revoke.password_change" && e.actor_user_id === owner.userId);
    expect(perKey.map((e) => e.target).sort()).toEqual([first.id, second.id].sort());
    const request = entries.filter((e) => e.action === "account.password" && e.actor_user_id === owner.userId && e.result === "ok").at(-1);
    expect(perKey.every((e) => e.request_id === request?.request_id)).toBe(true);
    expect(entries.filter((e) => e.action === "api_key.keep.password_change" && e.target === owner.userId)).toHaveLength(1);
  });

  it.skipIf(skip)("leaves no password in plaintext in the database or the logs", async () => {
    expect(await scanForSecrets(api)).toEqual([]);
  });
});
