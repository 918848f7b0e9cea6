/**
 * Browser sessions: the dashboard keeps its access token in memory only and its refresh token in
 * an `HttpOnly; Secure; SameSite=Strict` cookie that only the session routes (`/v1/auth/session/…`)
 * receive. JSON clients keep sending the refresh token in the body of `/v1/auth/refresh`.
 *
 * CSRF: every cookie-authenticated call must carry the header `X-Clawstack-CSRF`, whose value
 * is bound to the refresh token it goes with (a signed double-submit token, OWASP's pattern):
 * `base64url(SHA-256("clawstack/csrf/v1|" + refreshToken))`. The page reads it from a second
 * cookie (`__Host-clawstack-csrf`, readable by script, same-origin only); a cross-site page can
 * neither read that cookie nor send the custom header (it needs a CORS preflight, which the API
 * refuses with credentials), and cannot compute the value without the HttpOnly refresh token.
 * The hash cannot be reversed into the token (256 random bits).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { parse, serialize } from "cookie";
import { HttpError } from "../http/errors";

/** Where the refresh cookie is sent, and nowhere else. */
export const SESSION_PATH = "/v1/auth/session";
export const REFRESH_COOKIE = "__Secure-clawstack-refresh";
export const CSRF_COOKIE = "__Host-clawstack-csrf";
export const CSRF_HEADER = "x-clawstack-csrf";
/** Sent with `POST /v1/auth/login` by a browser: the refresh token then goes into the cookie, not the body. */
export const SESSION_MODE_HEADER = "x-clawstack-session";

const CSRF_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const REFRESH_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function csrfTokenFor(refreshToken: string): string {
  return createHash("sha256").update(`clawstack/csrf/v1|${refreshToken}`).digest("base64url");
}

/** `Set-Cookie` values that start (or rotate) a browser session. */
export function sessionCookies(refreshToken: string, maxAgeSeconds: number): string[] {
  const common = { secure: true, sameSite: "strict" as const, maxAge: maxAgeSeconds };
  return [
    serialize(REFRESH_COOKIE, refreshToken, { ...common, httpOnly: true, path: SESSION_PATH }),
    serialize(CSRF_COOKIE, csrfTokenFor(refreshToken), { ...common, path: "/" }),
  ];
}

/** `Set-Cookie` values that end a browser session (both cookies expire at once). */
export function clearedSessionCookies(): string[] {
  const common = { secure: true, sameSite: "strict" as const, maxAge: 0, expires: new Date(0) };
  return [
    serialize(REFRESH_COOKIE, "", { ...common, httpOnly: true, path: SESSION_PATH }),
    serialize(CSRF_COOKIE, "", { ...common, path: "/" }),
  ];
}

/**
 * The refresh token of a cookie-authenticated request, once its CSRF header matches it.
 * A missing or wrong header is refused first (403 naming the header), before the cookie is
 * looked at; a missing cookie is a 401 (sign in again).
 */
export function presentedBrowserSession(headers: Record<string, string | string[] | undefined>): string {
  const csrf = headers[CSRF_HEADER];
  if (typeof csrf !== "string" || !CSRF_FORMAT.test(csrf)) {
    throw new HttpError(403, `\`${CSRF_HEADER}\`: cookie-authenticated calls need this header, holding the value of the \`${CSRF_COOKIE}\` cookie`, `headers.${CSRF_HEADER}`);
  }
  const cookieHeader = headers.cookie;
  const refreshToken = typeof cookieHeader === "string" ? parse(cookieHeader)[REFRESH_COOKIE] : undefined;
  if (refreshToken === undefined || !REFRESH_FORMAT.test(refreshToken)) {
    throw new HttpError(401, `\`${REFRESH_COOKIE}\`: no browser session (cookie missing or malformed): sign in again`, "headers.cookie");
  }
  const expected = Buffer.from(csrfTokenFor(refreshToken));
  if (!timingSafeEqual(expected, Buffer.from(csrf))) {
    throw new HttpError(403, `\`${CSRF_HEADER}\`: does not match this browser session`, `headers.${CSRF_HEADER}`);
  }
  return refreshToken;
}
