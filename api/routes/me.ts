/** The signed-in account: read it, change its password, delete it (crypto-erasing its credentials). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup, userGroup } from "../auth/route-groups";
import { signOutEverywhere } from "../auth/sign-out";
import { countAdmins, deleteUser, findUserById, setPasswordHash } from "../auth/users-repo";
import { conflict, HttpError, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, password, presentedPassword } from "../http/schemas";
import { signOutViewSchema, userView, userViewSchema } from "./views";

export const meRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(scopedGroup(readRoutes));
  await root.register(userGroup(accountRoutes));
};

const readRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/me",
    {
      config: { scope: "account:read" },
      schema: {
        tags: ["account"],
        summary: "The signed-in account",
        security: bearerSecurity,
        response: { 200: userViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      // Read once per request: authentication already loaded the row for an access token (not for an API key).
      const user = request.account ?? (await findUserById(app.db, principalOf(request).userId));
      if (!user) throw notFound("account");
      return userView(user);
    },
  );
};

const accountRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/v1/me/password",
    {
      config: { audit: "account.password", rateLimit: { max: app.config.rateLimit.loginMax, timeWindow: app.config.rateLimit.windowMs } },
      schema: {
        tags: ["account"],
        summary:
          "Change the password: the account is signed out everywhere (refresh tokens, earlier access tokens) and its agent API keys are revoked unless `keepApiKeys` is true",
        security: bearerSecurity,
        body: z.strictObject({
          currentPassword: presentedPassword,
          newPassword: password,
          keepApiKeys: z.boolean().default(false).describe("Leave the account's agent API keys working (default: revoke them all)"),
        }),
        response: { 200: signOutViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const user = await findUserById(app.db, userId);
      if (!user) throw notFound("account");
      if (!(await app.passwords.verify(user.password_hash, request.body.currentPassword))) {
        // 403, not 401: the session is fine (a 401 would make clients refresh and retry).
        throw new HttpError(403, "`currentPassword`: wrong password", "body.currentPassword");
      }
      request.auditTarget = userId;
      const passwordHash = await app.passwords.hash(request.body.newPassword);
      const answer = await app.audited(request, 200, async (trx) => {
        await setPasswordHash(trx, userId, passwordHash);
        return signOutEverywhere(trx, app.audit, {
          userId,
          keepApiKeys: request.body.keepApiKeys,
          reason: "password_change",
          by: { userId, ip: request.ip, requestId: request.id },
        });
      });
      return reply.code(200).send(answer);
    },
  );

  app.post(
    "/v1/me/sign-out-everywhere",
    {
      config: { audit: "account.sign_out_everywhere" },
      schema: {
        tags: ["account"],
        summary:
          "Sign out everywhere: every refresh token revoked, every access token issued before now refused (this one too), and the account's agent API keys revoked unless `keepApiKeys` is true",
        security: bearerSecurity,
        body: z
          .strictObject({ keepApiKeys: z.boolean().default(false).describe("Leave the account's agent API keys working (default: revoke them all)") })
          .nullish(),
        response: { 200: signOutViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      request.auditTarget = userId;
      const answer = await app.audited(request, 200, (trx) =>
        signOutEverywhere(trx, app.audit, {
          userId,
          keepApiKeys: request.body?.keepApiKeys ?? false,
          reason: "sign_out",
          by: { userId, ip: request.ip, requestId: request.id },
        }),
      );
      return reply.code(200).send(answer);
    },
  );

  app.delete(
    "/v1/me",
    {
      config: { audit: "account.delete" },
      schema: {
        tags: ["account"],
        summary: "Delete the account: sessions, API keys and credentials go, and the account's vault key is destroyed",
        security: bearerSecurity,
        body: z.strictObject({ password: presentedPassword }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const user = await findUserById(app.db, userId);
      if (!user) throw notFound("account");
      if (!(await app.passwords.verify(user.password_hash, request.body.password))) {
        throw new HttpError(403, "`password`: wrong password", "body.password");
      }
      request.auditTarget = userId;
      await app.audited(request, 204, async (trx) => {
        // The last admin cannot leave: nobody could manage accounts, invitations or plans afterwards.
        if (user.role === "admin" && (await countAdmins(trx)) <= 1) {
          throw conflict("this is the last admin; make another account admin first (PATCH /v1/admin/users/{id})");
        }
        await deleteUser(trx, userId);
      });
      app.vault.forgetUser(userId);
      return reply.code(204).send(null);
    },
  );
};
