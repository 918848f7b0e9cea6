/**
 * Browser sessions (api/auth/browser-session.ts, api/routes/auth.ts): the refresh token only in an
 * HttpOnly, Secure, SameSite=Strict cookie scoped to /v1/auth/session; every cookie-authenticated
 * call needs the CSRF header bound to that token; logout clears both cookies; JSON clients unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfTokenFor } from "../../api/auth/browser-session";
import { bearer, json, login, register, remember, scanForSecrets, startApi, type TestApi } from "./support";

const REFRESH = "__Secure-clawstack-refresh";
const CSRF = "__Host-clawstack-csrf";

interface Cookie {
  name: string;
  value: string;
  attributes: string[];
}

function cookiesOf(setCookie: string | string[] | undefined): Map<string, Cookie> {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  const cookies = new Map<string, Cookie>();
  for (const line of list) {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const cut = pair.indexOf("=");
    cookies.set(pair.slice(0, cut), { name: pair.slice(0, cut), value: pair.slice(cut + 1), attributes: attributes.map((a) => a.toLowerCase()) });
  }
  return cookies;
}

describe("browser sessions", () => {
  let api: TestApi;
  let account: { email: string; password: string };

  beforeAll(async () => {
    api = await startApi({ engine: "sqlite" });
    const { email, password } = await register(api, "browser");
    account = { email, password };
  });
  afterAll(async () => {
    await api?.close();
  });

  async function browserLogin() {
    const response = await api.inject({
      method: "POST",
      url: "/v1/auth/login",
      headers: { "x-clawstack-session": "cookie" },
      payload: account,
    });
    expect(response.statusCode).toBe(200);
    const cookies = cookiesOf(response.headers["set-cookie"]);
    const refresh = cookies.get(REFRESH)!;
    const csrf = cookies.get(CSRF)!;
    remember(api, refresh.value, String(json(response).accessToken));
    return { response, refresh, csrf };
  }

  const sessionCall = (path: "refresh" | "logout", refresh: string | undefined, csrf: string | undefined) =>
    api.inject({
      method: "POST",
      url: `/v1/auth/session/${path}`,
      headers: { ...(refresh !== undefined ? { cookie: `${REFRESH}=${refresh}; ${CSRF}=${csrf ?? ""}` } : {}), ...(csrf !== undefined ? { "x-clawstack-csrf": csrf } : {}) },
    });

  it("puts the refresh token only in an HttpOnly, Secure, SameSite=Strict cookie scoped to the session path", async () => {
    const { response, refresh, csrf } = await browserLogin();
    const body = json(response);
    expect(body.refreshToken).toBeUndefined();
    expect(typeof body.accessToken).toBe("string");
    expect(response.body).not.toContain(refresh.value);
    expect(refresh.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(refresh.attributes).toEqual(expect.arrayContaining(["httponly", "secure", "samesite=strict", "path=/v1/auth/session"]));
    // The CSRF cookie is readable by the page (no HttpOnly), same-origin only, and bound to the refresh token.
    expect(csrf.attributes).toEqual(expect.arrayContaining(["secure", "samesite=strict", "path=/"]));
    expect(csrf.attributes).not.toContain("httponly");
    expect(csrf.value).toBe(csrfTokenFor(refresh.value));
    expect(csrf.value).not.toBe(refresh.value);
    expect(response.headers["cache-control"]).toBe("no-store");
  });

  it("keeps JSON clients unchanged: no cookie, the refresh token in the body", async () => {
    const response = await api.inject({ method: "POST", url: "/v1/auth/login", payload: account });
    expect(response.statusCode).toBe(200);
    expect(response.headers["set-cookie"]).toBeUndefined();
    expect(json(response).refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    remember(api, String(json(response).refreshToken));
    const tokens = await login(api, account);
    const rotated = await api.inject({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: tokens.refreshToken } });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.headers["set-cookie"]).toBeUndefined();
    remember(api, String(json(rotated).refreshToken));
  });

  it("refuses a cookie refresh without the CSRF header, or with one of another session, naming the header", async () => {
    const { refresh, csrf } = await browserLogin();
    const other = await browserLogin();
    const missing = await sessionCall("refresh", refresh.value, undefined);
    expect(missing.statusCode).toBe(400);
    expect(json(missing).field).toBe("headers.x-clawstack-csrf");
    const wrong = await sessionCall("refresh", refresh.value, other.csrf.value);
    expect(wrong.statusCode).toBe(403);
    expect(json(wrong).field).toBe("headers.x-clawstack-csrf");
    // The refused attempts spent nothing: the right header still rotates.
    const ok = await sessionCall("refresh", refresh.value, csrf.value);
    expect(ok.statusCode).toBe(200);
    remember(api, cookiesOf(ok.headers["set-cookie"]).get(REFRESH)!.value);
  });

  it("rotates the cookie: the new pair works, the old cookie replayed revokes the family and clears the cookies", async () => {
    const { refresh, csrf } = await browserLogin();
    const rotated = await sessionCall("refresh", refresh.value, csrf.value);
    expect(rotated.statusCode).toBe(200);
    expect(json(rotated).refreshToken).toBeUndefined();
    const next = cookiesOf(rotated.headers["set-cookie"]);
    const nextRefresh = next.get(REFRESH)!.value;
    remember(api, nextRefresh, String(json(rotated).accessToken));
    expect(nextRefresh).not.toBe(refresh.value);
    expect(next.get(CSRF)!.value).toBe(csrfTokenFor(nextRefresh));
    const me = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(String(json(rotated).accessToken)) });
    expect(me.statusCode).toBe(200);

    const replay = await sessionCall("refresh", refresh.value, csrf.value);
    expect(replay.statusCode).toBe(401);
    const cleared = cookiesOf(replay.headers["set-cookie"]);
    expect(cleared.get(REFRESH)?.value).toBe("");
    expect(cleared.get(CSRF)?.value).toBe("");
    // Reuse revoked the whole family: the newer cookie is dead too.
    expect((await sessionCall("refresh", nextRefresh, csrfTokenFor(nextRefresh))).statusCode).toBe(401);
  });

  it("signs out: the session is revoked and both cookies expire", async () => {
    const { refresh, csrf } = await browserLogin();
    const noHeader = await sessionCall("logout", refresh.value, undefined);
    expect(noHeader.statusCode).toBe(400);
    const out = await sessionCall("logout", refresh.value, csrf.value);
    expect(out.statusCode).toBe(204);
    const cleared = cookiesOf(out.headers["set-cookie"]);
    for (const name of [REFRESH, CSRF]) {
      expect(cleared.get(name)?.value).toBe("");
      expect(cleared.get(name)?.attributes).toContain("max-age=0");
    }
    expect(cleared.get(REFRESH)?.attributes).toContain("path=/v1/auth/session");
    expect((await sessionCall("refresh", refresh.value, csrf.value)).statusCode).toBe(401);
  });

  it("answers a cookie call without a cookie 401 naming the cookie", async () => {
    const response = await api.inject({ method: "POST", url: "/v1/auth/session/refresh", headers: { "x-clawstack-csrf": "A".repeat(43) } });
    expect(response.statusCode).toBe(401);
    expect(json(response).field).toBe("headers.cookie");
  });

  it("leaves no token in the database or the logs", async () => {
    expect(await scanForSecrets(api)).toEqual([]);
  });
});
