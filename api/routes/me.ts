/** The signed-in account: read it, delete it (crypto-erasing its credentials). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { deleteUser, findUserById } from "../auth/users-repo";
import { notFound, unauthorized } from "../http/errors";
import { bearerSecurity, errorResponses } from "../http/schemas";
import { userView, userViewSchema } from "./views";

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/me",
    {
      onRequest: [app.authenticate, app.requireScope("account:read")],
      schema: {
        tags: ["account"],
        summary: "The signed-in account",
        security: bearerSecurity,
        response: { 200: userViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const user = await findUserById(app.db, request.principal!.userId);
      if (!user) throw notFound("account");
      return userView(user);
    },
  );

  app.delete(
    "/v1/me",
    {
      onRequest: [app.authenticate, app.requireUser],
      config: { audit: "account.delete" },
      schema: {
        tags: ["account"],
        summary: "Delete the account: sessions, API keys and credentials go, and the account's vault key is destroyed",
        security: bearerSecurity,
        body: z.strictObject({ password: z.string().min(1).max(1024) }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = request.principal!.userId;
      const user = await findUserById(app.db, userId);
      if (!user) throw notFound("account");
      if (!(await app.passwords.verify(user.password_hash, request.body.password))) {
        throw unauthorized("`password`: wrong password");
      }
      request.auditTarget = userId;
      await app.db.transaction().execute((trx) => deleteUser(trx, userId));
      app.vault.forgetUser(userId);
      return reply.code(204).send(null);
    },
  );
};
