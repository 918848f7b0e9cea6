/** Administration of accounts (role `admin` only). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { revokeAllForUser } from "../auth/sessions-repo";
import { countAdmins, deleteUser, findUserById, listUsers, setRole } from "../auth/users-repo";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParams } from "../http/schemas";
import { userView, userViewSchema } from "./views";

export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  const adminOnly = [app.authenticate, app.requireAdmin];

  app.get(
    "/v1/admin/users",
    {
      onRequest: adminOnly,
      schema: {
        tags: ["admin"],
        summary: "List accounts",
        security: bearerSecurity,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          after: z.string().max(64).optional(),
        }),
        response: { 200: z.object({ users: z.array(userViewSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ users: (await listUsers(app.db, request.query.limit, request.query.after)).map(userView) }),
  );

  app.patch(
    "/v1/admin/users/:id",
    {
      onRequest: adminOnly,
      config: { audit: "admin.user.role" },
      schema: {
        tags: ["admin"],
        summary: "Change an account's role",
        security: bearerSecurity,
        params: idParams,
        body: z.strictObject({ role: z.enum(["user", "admin"]) }),
        response: { 200: userViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      request.auditTarget = id;
      const user = await app.db.transaction().execute(async (trx) => {
        const current = await findUserById(trx, id);
        if (!current) throw notFound(`account \`${id}\``);
        if (current.role === "admin" && request.body.role === "user" && (await countAdmins(trx)) <= 1) {
          throw conflict("`role`: this is the last admin; promote another account first", "body.role");
        }
        await setRole(trx, id, request.body.role);
        return findUserById(trx, id);
      });
      return userView(user!);
    },
  );

  app.delete(
    "/v1/admin/users/:id",
    {
      onRequest: adminOnly,
      config: { audit: "admin.user.delete" },
      schema: {
        tags: ["admin"],
        summary: "Delete an account; its credentials become undecryptable (its vault key is destroyed)",
        security: bearerSecurity,
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      await app.db.transaction().execute(async (trx) => {
        const current = await findUserById(trx, id);
        if (!current) throw notFound(`account \`${id}\``);
        if (current.role === "admin" && (await countAdmins(trx)) <= 1) {
          throw conflict("this is the last admin; promote another account first");
        }
        await deleteUser(trx, id);
      });
      app.vault.forgetUser(id);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    "/v1/admin/users/:id/sessions",
    {
      onRequest: adminOnly,
      config: { audit: "admin.user.sessions.revoke" },
      schema: {
        tags: ["admin"],
        summary: "Sign an account out everywhere: revoke every refresh token (access tokens end within their 15 minutes)",
        security: bearerSecurity,
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      if (!(await findUserById(app.db, id))) throw notFound(`account \`${id}\``);
      await revokeAllForUser(app.db, id);
      return reply.code(204).send(null);
    },
  );
};
