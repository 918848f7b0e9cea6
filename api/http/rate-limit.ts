/**
 * Rate limits per client address, counted in one early `onRequest` hook, before authentication
 * and before any route hook: refused requests (401, 403, 400), unknown routes (404) and allowed
 * ones all count. Two buckets:
 *
 * - every request: `limits.max` a window per address (`x-ratelimit-*` headers);
 * - routes that declare `config: { rateLimit: { max } }` (register, login, refresh, logout,
 *   password change, invitations, host registration) also count in their own per-route bucket.
 *
 * Over a limit: `429` with `Retry-After`. The counters live in process, or in Redis when given
 * (shared by every API process); Redis unreachable refuses requests (503, the error handler).
 * Stores and key normalization (IPv6 by /64) are @fastify/rate-limit's; it is registered in a
 * child context so that it adds no route hooks of its own (those would run after authentication).
 */
import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Redis } from "ioredis";
import type { ApiConfig } from "../config";
import { HttpError } from "./errors";

export interface RateLimitOptions {
  limits: ApiConfig["rateLimit"];
  redis: Redis | undefined;
}

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;
type Verdict = Awaited<ReturnType<Limiter>>;

/** The stricter limit a route declares, if any. */
function routeLimit(request: FastifyRequest): number | undefined {
  const declared = request.routeOptions.config.rateLimit;
  return declared && typeof declared.max === "number" ? declared.max : undefined;
}

export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app, { limits, redis }) => {
    const address = (request: FastifyRequest) => normalizeIP(request.ip);
    let everyRequest: Limiter | undefined;
    let strictRoute: Limiter | undefined;
    await app.register(async (scope) => {
      await scope.register(rateLimit, { global: false, ...(redis ? { redis, nameSpace: "clawstack-rate-limit:" } : {}) });
      everyRequest = scope.createRateLimit({
        max: limits.max,
        timeWindow: limits.windowMs,
        keyGenerator: (request) => `all:${address(request)}`,
      });
      strictRoute = scope.createRateLimit({
        max: (request) => routeLimit(request) ?? limits.loginMax,
        timeWindow: limits.windowMs,
        keyGenerator: (request) => `route:${request.method} ${request.routeOptions.url ?? ""}:${address(request)}`,
      });
    });
    const limitAll = everyRequest!;
    const limitRoute = strictRoute!;

    app.addHook("onRequest", async (request, reply) => {
      const all = await limitAll(request);
      if (!all.isAllowed) {
        reply.header("x-ratelimit-limit", all.max);
        reply.header("x-ratelimit-remaining", all.remaining);
        reply.header("x-ratelimit-reset", all.ttlInSeconds);
      }
      refuseIfExceeded(all, reply, "from one address");
      if (routeLimit(request) !== undefined) refuseIfExceeded(await limitRoute(request), reply, "on this route from one address");
    });
  },
  { name: "clawstack-rate-limit" },
);

function refuseIfExceeded(verdict: Verdict, reply: FastifyReply, scope: string): void {
  if (verdict.isAllowed || !verdict.isExceeded) return;
  reply.header("retry-after", verdict.ttlInSeconds);
  throw new HttpError(429, `rate limit exceeded: at most ${verdict.max} requests a minute ${scope}; retry in ${verdict.ttlInSeconds} s`);
}
