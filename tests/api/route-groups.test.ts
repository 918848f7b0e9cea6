/**
 * Route groups (api/auth/route-groups.ts): authentication registered once per group, the scope named by
 * each route of a scoped group (a route without one stops the boot), agents kept out of user and admin
 * groups, and `principalOf` handing the handler the caller.
 */
import Fastify, { type FastifyRequest } from "fastify";
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { describe, expect, it } from "vitest";
import type { Principal } from "../../api/auth/principal";
import { adminGroup, principalOf, scopedGroup, userGroup } from "../../api/auth/route-groups";
import { unauthorized } from "../../api/http/errors";

const CALLERS: Record<string, Principal> = {
  user: { userId: "usr_1", role: "user", kind: "user", scopes: ["account:read", "jobs:read"] },
  admin: { userId: "usr_2", role: "admin", kind: "user", scopes: ["account:read", "jobs:read"] },
  agent: { userId: "usr_1", role: "user", kind: "agent", scopes: ["jobs:read"], apiKeyId: "key_1" },
};

/** An app with a stand-in `authenticate` (the caller named by the `x-caller` header) and the given route plugin. */
async function appWith(routes: FastifyPluginAsyncZod) {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("principal", null);
  app.decorate("authenticate", async (request: FastifyRequest) => {
    const caller = CALLERS[String(request.headers["x-caller"])];
    if (!caller) throw unauthorized();
    request.principal = caller;
  });
  await app.register(routes);
  await app.ready();
  return app;
}

const whoAmI = (request: FastifyRequest) => ({ userId: principalOf(request).userId, kind: principalOf(request).kind });

describe("route groups", () => {
  it("a scoped group checks each route's own scope after authentication, and hands the handler its caller", async () => {
    const app = await appWith(
      scopedGroup(async (group) => {
        group.get("/jobs", { config: { scope: "jobs:read" } }, async (request) => whoAmI(request));
        group.get("/me", { config: { scope: "account:read" } }, async (request) => whoAmI(request));
      }),
    );
    expect((await app.inject({ url: "/jobs" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/jobs", headers: { "x-caller": "agent" } })).json()).toEqual({ userId: "usr_1", kind: "agent" });
    expect((await app.inject({ url: "/me", headers: { "x-caller": "agent" } })).statusCode).toBe(403);
    expect((await app.inject({ url: "/me", headers: { "x-caller": "user" } })).json()).toEqual({ userId: "usr_1", kind: "user" });
    await app.close();
  });

  it("a route of a scoped group that names no scope stops the boot", async () => {
    await expect(appWith(scopedGroup(async (group) => void group.get("/open", async () => ({}))))).rejects.toThrow(/GET \/open: .*names the scope/);
  });

  it("user and admin groups refuse agents, and the admin group refuses users", async () => {
    const app = await appWith(async (root) => {
      await root.register(userGroup(async (group) => void group.get("/account", async (request) => whoAmI(request))));
      await root.register(adminGroup(async (group) => void group.get("/admin", async (request) => whoAmI(request))));
      root.get("/public", async () => ({ ok: true }));
    });
    expect((await app.inject({ url: "/public" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/account", headers: { "x-caller": "agent" } })).statusCode).toBe(403);
    expect((await app.inject({ url: "/account", headers: { "x-caller": "user" } })).statusCode).toBe(200);
    expect((await app.inject({ url: "/admin", headers: { "x-caller": "user" } })).statusCode).toBe(403);
    expect((await app.inject({ url: "/admin", headers: { "x-caller": "agent" } })).statusCode).toBe(403);
    expect((await app.inject({ url: "/admin", headers: { "x-caller": "admin" } })).json()).toEqual({ userId: "usr_2", kind: "user" });
    await app.close();
  });

  it("principalOf refuses a request without a caller (a route outside every group)", () => {
    let refused: unknown;
    try {
      principalOf({ principal: null } as FastifyRequest);
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ statusCode: 401 });
  });
});
