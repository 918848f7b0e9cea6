/**
 * Route groups: authentication is registered once per group (an encapsulated
 * Fastify plugin whose `onRequest` hooks run after the app's own, so rate
 * limits count first), never route by route. A route module puts each route in
 * the group of who may call it:
 *
 *   (no group)        public: liveness, sign-in, a host's registration (by its own token)
 *   scopedGroup(...)  users and agent API keys: each route names the scope an agent needs,
 *                     `config: { scope }` (users hold every scope); a route without one
 *                     stops the boot
 *   userGroup(...)    signed-in users only: agent API keys are refused (403)
 *   adminGroup(...)   role `admin` only (never an agent)
 *
 * Handlers get the caller with `principalOf(request)`: typed and never
 * optional (a 401 if a route were ever outside its group).
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { unauthorized } from "../http/errors";
import { assertAdmin, assertScope, assertUser } from "./plugin";
import type { Principal, Scope } from "./principal";

declare module "fastify" {
  interface FastifyContextConfig {
    /** In a `scopedGroup`: the scope an agent API key needs for this route. */
    scope?: Scope;
  }
}

/** The authenticated caller of a request in a route group. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  if (!principal) throw unauthorized();
  return principal;
}

/** Users and agents: authenticated, then the route's `config.scope`. */
export function scopedGroup(routes: FastifyPluginAsyncZod): FastifyPluginAsyncZod {
  return async (group, options) => {
    group.addHook("onRoute", (route) => {
      if (route.config?.scope === undefined) {
        throw new Error(`${String(route.method)} ${route.url}: a route of a scoped group names the scope agents need (\`config: { scope }\`)`);
      }
    });
    group.addHook("onRequest", group.authenticate);
    group.addHook("onRequest", async (request) => assertScope(request.principal, request.routeOptions.config.scope!));
    await routes(group, options);
  };
}

/** Signed-in users only (agent API keys: 403). */
export function userGroup(routes: FastifyPluginAsyncZod): FastifyPluginAsyncZod {
  return async (group, options) => {
    group.addHook("onRequest", group.authenticate);
    group.addHook("onRequest", async (request) => assertUser(request.principal));
    await routes(group, options);
  };
}

/** Admins only. */
export function adminGroup(routes: FastifyPluginAsyncZod): FastifyPluginAsyncZod {
  return async (group, options) => {
    group.addHook("onRequest", group.authenticate);
    group.addHook("onRequest", async (request) => assertAdmin(request.principal));
    await routes(group, options);
  };
}
