/**
 * Accounts and sessions: register, login, refresh (rotating, with reuse
 * detection), logout. Stricter rate limit than the rest of the API.
 * Browser sessions (the dashboard) get their refresh token in a cookie and
 * rotate it at `/v1/auth/session/refresh` (api/auth/browser-session.ts).
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  clearedSessionCookies,
  CSRF_HEADER,
  presentedBrowserSession,
  SESSION_MODE_HEADER,
  sessionCookies,
} from "../auth/browser-session";
import { findSessionByHash, insertSession, revokeFamily, spendSession } from "../auth/sessions-repo";
import { randomToken, sha256Hex } from "../auth/tokens";
import { INVITE_PREFIX, markInviteUser, spendInvite } from "../auth/invites-repo";
import { type Db, findUserByEmail, findUserById, insertUser } from "../auth/users-repo";
import { isUniqueViolation, newId } from "../db/ids";
import type { Role } from "../db/schema";
import { conflict, HttpError, unauthorized } from "../http/errors";
import { email, errorResponses, opaqueToken, password, presentedPassword } from "../http/schemas";
import { userView, userViewSchema } from "./views";

const tokenPair = z.object({
  tokenType: z.literal("Bearer"),
  accessToken: z.string().describe("JWT, valid `expiresIn` seconds"),
  expiresIn: z.number().int(),
  refreshToken: z
    .string()
    .optional()
    .describe("Opaque, single use: exchange it at /v1/auth/refresh. Absent for browser sessions: their refresh token is in an HttpOnly cookie"),
});

type TokenPair = z.infer<typeof tokenPair> & { refreshToken: string };

const browserHeaders = z.object({
  [SESSION_MODE_HEADER]: z
    .literal("cookie", "must be `cookie` (or leave the header out)")
    .optional()
    .describe("`cookie`: a browser session; the refresh token is set as an HttpOnly cookie for /v1/auth/session instead of being in the body"),
});

const csrfHeaders = z.object({
  [CSRF_HEADER]: z.string().max(64, "must be the value of the `__Host-clawstack-csrf` cookie").describe("The value of the `__Host-clawstack-csrf` cookie (CSRF protection)"),
});

const refreshBody = z.strictObject({ refreshToken: opaqueToken("", "a refresh token") });

/** A refresh that changed nothing: its transaction is rolled back and the route answers 401. */
class RefreshRefused extends Error {
  constructor(readonly outcome: "reused" | "gone") {
    super(`refresh token ${outcome}`);
  }
}

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const strict = { rateLimit: { max: app.config.rateLimit.loginMax, timeWindow: app.config.rateLimit.windowMs } };

  app.post(
    "/v1/auth/register",
    {
      config: { ...strict, audit: "auth.register" },
      schema: {
        tags: ["auth"],
        summary: "Create an account (role `user`); with CLAWSTACK_REGISTRATION=invite (the default) send the admin's `invite`",
        body: z.strictObject({ email, password, invite: opaqueToken(INVITE_PREFIX, "an invitation token").optional() }),
        response: { 201: userViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { email: address, password: secret, invite } = request.body;
      // Invite mode (the default): no account without an admin's invitation. The first admin is created
      // with `admin-cli create-admin`, by whoever can reach the server's database, never over HTTP.
      if (app.config.registration === "invite" && invite === undefined) {
        throw new HttpError(
          403,
          "`invite`: registration needs an invitation from an admin (POST /v1/admin/invites); the operator can open sign-ups with CLAWSTACK_REGISTRATION=open",
          "body.invite",
        );
      }
      if (await findUserByEmail(app.db, address)) throw conflict("`email`: an account with this email already exists", "body.email");
      const passwordHash = await app.passwords.hash(secret);
      const user = await app
        .audited(request, 201, async (trx) => {
          // An invitation is spent in the transaction that creates the account (open mode still checks one it is given).
          const spent = invite === undefined ? undefined : await spendInvite(trx, invite, address);
          if (invite !== undefined && !spent) {
            throw new HttpError(403, "`invite`: this invitation is not valid (unknown, already used, expired, or for another email)", "body.invite");
          }
          const created = await insertUser(trx, { email: address, passwordHash, role: "user", keySalt: randomBytes(32).toString("base64") });
          if (spent) await markInviteUser(trx, spent.id, created.id);
          request.auditActor = created.id;
          request.auditTarget = created.id;
          return created;
        })
        .catch((error: unknown) => {
          // Two registrations of one address at once: the second loses the unique index race.
          if (isUniqueViolation(error)) throw conflict("`email`: an account with this email already exists", "body.email");
          throw error;
        });
      return reply.code(201).send(userView(user));
    },
  );

  app.post(
    "/v1/auth/login",
    {
      config: { ...strict, audit: "auth.login" },
      schema: {
        tags: ["auth"],
        summary: "Exchange email and password for an access token and a refresh token",
        headers: browserHeaders,
        body: z.strictObject({ email, password: presentedPassword }),
        response: { 200: tokenPair, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await findUserByEmail(app.db, request.body.email);
      const ok = await app.passwords.verify(user?.password_hash, request.body.password);
      if (user) request.auditActor = user.id;
      if (!user || !ok) throw unauthorized("email or password is wrong");
      // The new session and the login's audit entry commit together.
      const tokens = await app.audited(request, 200, (trx) => issueTokens(app, user.id, user.role, newId("fam"), trx));
      return request.headers[SESSION_MODE_HEADER] === "cookie" ? inCookies(reply, tokens) : tokens;
    },
  );

  /** A browser session's answer: the refresh token goes into the HttpOnly cookie, never into the body. */
  function inCookies(reply: FastifyReply, tokens: TokenPair) {
    reply.header("set-cookie", sessionCookies(tokens.refreshToken, app.config.refreshTokenTtlSeconds));
    reply.header("cache-control", "no-store");
    const { refreshToken: _inCookie, ...rest } = tokens;
    return rest;
  }

  app.post(
    "/v1/auth/refresh",
    {
      config: { ...strict, audit: "auth.refresh" },
      schema: {
        tags: ["auth"],
        summary: "Rotate a refresh token: the old one is spent; presenting a spent one revokes its whole family",
        body: refreshBody,
        response: { 200: tokenPair, ...errorResponses },
      },
    },
    async (request) => rotate(request, request.body.refreshToken),
  );

  app.post(
    "/v1/auth/session/refresh",
    {
      config: { ...strict, audit: "auth.refresh" },
      schema: {
        tags: ["auth"],
        summary: "Browser sessions: rotate the refresh token held in the HttpOnly cookie; needs the `X-Clawstack-CSRF` header",
        headers: csrfHeaders,
        response: { 200: tokenPair, ...errorResponses },
      },
    },
    async (request, reply) => {
      const refreshToken = presentedBrowserSession(request.headers);
      try {
        return inCookies(reply, await rotate(request, refreshToken));
      } catch (error) {
        // A refused cookie is of no further use: the browser drops it and signs in again.
        if (error instanceof HttpError && error.statusCode === 401) reply.header("set-cookie", clearedSessionCookies());
        throw error;
      }
    },
  );

  app.post(
    "/v1/auth/session/logout",
    {
      config: { ...strict, audit: "auth.logout" },
      schema: {
        tags: ["auth"],
        summary: "Browser sessions: revoke the session in the cookie and clear both cookies; needs the `X-Clawstack-CSRF` header",
        headers: csrfHeaders,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const refreshToken = presentedBrowserSession(request.headers);
      await revokeSessionOf(request, refreshToken);
      reply.header("set-cookie", clearedSessionCookies());
      return reply.code(204).send(null);
    },
  );

  /** Spends a refresh token and issues the next pair (rotation with reuse detection), for both kinds of client. */
  async function rotate(request: FastifyRequest, refreshToken: string): Promise<TokenPair> {
    const session = await findSessionByHash(app.db, sha256Hex(refreshToken));
    if (!session) throw unauthorized("refresh token is not valid");
    request.auditActor = session.user_id;
    request.auditTarget = session.family_id;
    if (session.revoked_at !== null) throw unauthorized("refresh token was revoked: sign in again");
    const expired = Date.parse(session.expires_at) <= Date.now();
    // Spending the old token, storing the next one and the audit entry happen together or not at all.
    const outcome =
      session.spent_at !== null
        ? ("reused" as const)
        : expired
          ? ("expired" as const)
          : await app
              .audited(request, 200, async (trx) => {
                // Another request may have spent it since we read it: that is reuse too.
                if (!(await spendSession(trx, session.id))) throw new RefreshRefused("reused");
                const user = await findUserById(trx, session.user_id);
                if (!user) throw new RefreshRefused("gone");
                return issueTokens(app, user.id, user.role, session.family_id, trx);
              })
              .catch((error: unknown) => {
                if (error instanceof RefreshRefused) return error.outcome;
                throw error;
              });
    if (outcome === "expired") throw unauthorized("refresh token expired: sign in again");
    if (outcome === "gone") throw unauthorized("refresh token is not valid");
    if (outcome === "reused") {
      // A spent token presented again: stolen or replayed. End the whole session family, with its own entry.
      await app.db.transaction().execute(async (trx) => {
        await revokeFamily(trx, session.family_id);
        await app.audit.record(
          {
            action: "auth.refresh.reuse",
            result: "denied",
            actorUserId: session.user_id,
            actorKind: "user",
            target: session.family_id,
            ip: request.ip,
            requestId: request.id,
          },
          trx,
        );
      });
      throw unauthorized("refresh token was already used: every session of this login is revoked; sign in again");
    }
    return outcome;
  }

  app.post(
    "/v1/auth/logout",
    {
      config: { ...strict, audit: "auth.logout" },
      schema: {
        tags: ["auth"],
        summary: "Revoke the login session (the refresh token's whole family)",
        body: refreshBody,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await revokeSessionOf(request, request.body.refreshToken);
      return reply.code(204).send(null);
    },
  );

  async function revokeSessionOf(request: FastifyRequest, refreshToken: string): Promise<void> {
    const session = await findSessionByHash(app.db, sha256Hex(refreshToken));
    if (session) {
      request.auditActor = session.user_id;
      request.auditTarget = session.family_id;
      await app.audited(request, 204, (trx) => revokeFamily(trx, session.family_id));
    }
  }
};

async function issueTokens(app: FastifyInstance, userId: string, role: Role, familyId: string, db: Db = app.db): Promise<TokenPair> {
  const refreshToken = randomToken();
  await insertSession(db, {
    userId,
    familyId,
    tokenHash: sha256Hex(refreshToken),
    expiresAt: new Date(Date.now() + app.config.refreshTokenTtlSeconds * 1000).toISOString(),
  });
  return {
    tokenType: "Bearer" as const,
    accessToken: await app.accessTokens.sign({ userId, role }),
    expiresIn: app.accessTokens.ttl,
    refreshToken,
  };
}

