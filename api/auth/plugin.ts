/**
 * Authentication and authorization hooks.
 *
 *   app.authenticate        hook (onRequest or preHandler): sets `request.principal`
 *                           from `Authorization: Bearer <JWT access token | clk_ API key>`, else 401
 *   app.requireScope(s)     hook after authenticate: agents need scope `s` (users hold every scope), else 403
 *   app.requireUser         hook after authenticate: refuses agent API keys (account and key management), 403
 *   app.requireAdmin        hook after authenticate: role `admin` only (never an agent), 403
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { ApiConfig } from "../config";
import { forbidden, unauthorized } from "../http/errors";
import { findApiKeyByPrefix, touchApiKey } from "./api-keys-repo";
import { looksLikeApiKey, parseApiKey } from "./api-key-format";
import { type Principal, type Scope, SCOPES } from "./principal";
import { PasswordHasher } from "./password";
import { JwtKeySet } from "./jwt-keys";
import { AccessTokens, equalHex, sha256Hex } from "./tokens";
import { findUserById } from "./users-repo";
import type { User } from "../db/schema";

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module "fastify" {
  interface FastifyInstance {
    passwords: PasswordHasher;
    accessTokens: AccessTokens;
    authenticate: Hook;
    requireScope(scope: Scope): Hook;
    requireUser: Hook;
    requireAdmin: Hook;
  }
  interface FastifyRequest {
    /** Who is calling; null until `app.authenticate` ran (or on public routes). */
    principal: Principal | null;
    /** The caller's account as `app.authenticate` read it for an access token (null for API keys), so a route need not read it again. */
    account: User | null;
  }
}

/** How often an API key's `last_used_at` is written (one write per key per minute at most). */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export const authPlugin = fp<{ config: ApiConfig }>(
  async (app, { config }) => {
    app.decorate("passwords", new PasswordHasher(config.passwordHashing));
    app.decorate(
      "accessTokens",
      // Reloaded and agreed on by the key heartbeat (api/vault/key-heartbeat.ts).
      new AccessTokens(new JwtKeySet(config), config.accessTokenTtlSeconds),
    );
    const lastUsedWrites = new Map<string, number>();
    app.decorateRequest("principal", null);
    app.decorateRequest("account", null);

    const authenticate: Hook = async (request) => {
      const header = request.headers.authorization;
      if (header === undefined) throw unauthorized();
      const match = /^Bearer ([^\s]+)$/.exec(header);
      if (!match) throw unauthorized("`Authorization`: expected `Bearer <token>`");
      const token = match[1]!;
      request.principal = looksLikeApiKey(token) ? await fromApiKey(token) : await fromAccessToken(request, token);
    };

    async function fromAccessToken(request: FastifyRequest, token: string): Promise<Principal> {
      const claims = await app.accessTokens.verify(token);
      if ("refused" in claims) {
        throw unauthorized(
          claims.refused === "expired"
            ? "access token expired: refresh it at `POST /v1/auth/refresh`"
            : "access token is not valid",
        );
      }
      // The role comes from the database, so a demotion or deletion takes effect at once.
      const user = await findUserById(app.db, claims.userId);
      if (!user) throw unauthorized("access token is not valid: the account no longer exists");
      // Signed out everywhere (password change, admin revocation): tokens issued before then stop at once.
      if (user.tokens_valid_after && (claims.issuedAtMs ?? 0) < Date.parse(user.tokens_valid_after)) {
        throw unauthorized("access token is not valid: the account was signed out everywhere; sign in again");
      }
      request.account = user;
      return { userId: user.id, role: user.role, kind: "user", scopes: SCOPES };
    }

    async function fromApiKey(token: string): Promise<Principal> {
      const parsed = parseApiKey(token);
      if (!parsed) throw unauthorized("API key is not valid");
      const key = await findApiKeyByPrefix(app.db, parsed.prefix);
      if (!key || !equalHex(key.key_hash, sha256Hex(token))) throw unauthorized("API key is not valid");
      if (key.revoked_at !== null) throw unauthorized(`API key \`${key.prefix}\` was revoked`);
      const now = Date.now();
      if (key.expires_at !== null && Date.parse(key.expires_at) <= now) {
        throw unauthorized(`API key \`${key.prefix}\` expired`);
      }
      if (now - (lastUsedWrites.get(key.id) ?? 0) >= LAST_USED_WRITE_INTERVAL_MS) {
        lastUsedWrites.set(key.id, now);
        await touchApiKey(app.db, key.id, new Date(now).toISOString());
      }
      const scopes = (JSON.parse(key.scopes) as string[]).filter((s): s is Scope =>
        (SCOPES as readonly string[]).includes(s),
      );
      // Agents act for their user but never with admin rights.
      return { userId: key.user_id, role: "user", kind: "agent", scopes, apiKeyId: key.id };
    }

    app.decorate("authenticate", authenticate);
    app.decorate("requireScope", (scope: Scope): Hook => async (request) => assertScope(request.principal, scope));
    app.decorate("requireUser", async (request: FastifyRequest) => assertUser(request.principal));
    app.decorate("requireAdmin", async (request: FastifyRequest) => assertAdmin(request.principal));
  },
  { name: "clawstack-auth", dependencies: ["clawstack-db"] },
);

/** Agents need `scope` (users hold every scope); 401 without a principal, 403 without the scope. */
export function assertScope(principal: Principal | null, scope: Scope): void {
  if (!principal) throw unauthorized();
  if (!principal.scopes.includes(scope)) {
    throw forbidden(`this API key lacks the scope \`${scope}\` (it has: ${principal.scopes.join(", ") || "none"})`);
  }
}

/** Signed-in users only: agent API keys are refused. */
export function assertUser(principal: Principal | null): void {
  if (!principal) throw unauthorized();
  if (principal.kind !== "user") throw forbidden("agent API keys cannot do this: sign in as the user");
}

/** Role `admin` only, never an agent. */
export function assertAdmin(principal: Principal | null): void {
  if (!principal) throw unauthorized();
  if (principal.kind !== "user" || principal.role !== "admin") throw forbidden("admin role required");
}
