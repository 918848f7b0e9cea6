/** Administration of accounts (role `admin` only). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { adminGroup, principalOf } from "../auth/route-groups";
import { signOutEverywhere } from "../auth/sign-out";
import { createInvite, deleteInvite, listInvites } from "../auth/invites-repo";
import { assignPlan, listPlans, MAX_PLAN_INSTANCES, PLAN_ID, upsertPlan } from "../auth/plans-repo";
import { countAdmins, deleteUser, findUserByEmail, findUserById, listUsers, setRole } from "../auth/users-repo";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, email, errorResponses, idParamsOf, resourceId, trimmedText } from "../http/schemas";
import { inviteView, inviteViewSchema, planView, planViewSchema, signOutViewSchema, userView, userViewSchema } from "./views";

export const adminRoutes: FastifyPluginAsyncZod = adminGroup(async (app) => {
  app.get(
    "/v1/admin/users",
    {
      schema: {
        tags: ["admin"],
        summary: "List accounts",
        security: bearerSecurity,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          after: resourceId("usr").optional().describe("Accounts with an id after this one (paging)"),
        }),
        response: { 200: z.object({ users: z.array(userViewSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ users: (await listUsers(app.db, request.query.limit, request.query.after)).map(userView) }),
  );

  app.patch(
    "/v1/admin/users/:id",
    {
      config: { audit: "admin.user.update" },
      schema: {
        tags: ["admin"],
        summary: "Change an account's role and/or plan",
        security: bearerSecurity,
        params: idParamsOf("usr"),
        body: z
          .strictObject({ role: z.enum(["user", "admin"]).optional(), plan: z.string().regex(PLAN_ID, "must be a plan id: 1-40 lower-case letters, digits or dashes, starting with a letter or digit").optional() })
          .refine((body) => body.role !== undefined || body.plan !== undefined, { message: "send `role`, `plan` or both" }),
        response: { 200: userViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { role, plan } = request.body;
      request.auditTarget = id;
      const user = await app.audited(request, 200, async (trx) => {
        const current = await findUserById(trx, id);
        if (!current) throw notFound(`account \`${id}\``);
        if (role !== undefined) {
          if (current.role === "admin" && role === "user" && (await countAdmins(trx)) <= 1) {
            throw conflict("`role`: this is the last admin; promote another account first", "body.role");
          }
          await setRole(trx, id, role);
        }
        // A plan with fewer instances than the account holds is allowed: it only stops new ones.
        if (plan !== undefined) await assignPlan(trx, id, plan);
        return findUserById(trx, id);
      });
      return userView(user!);
    },
  );

  app.post(
    "/v1/admin/invites",
    {
      config: { audit: "admin.invite.create", rateLimit: { max: app.config.rateLimit.loginMax } },
      schema: {
        tags: ["admin"],
        summary: "Invite an email to register: returns a single-use token, shown once (send it to the person)",
        security: bearerSecurity,
        body: z.strictObject({ email, expiresInDays: z.number().int().min(1).max(30).default(7) }),
        response: { 201: inviteViewSchema.extend({ token: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      // An account needs no invitation (and registering with one would fail on its email).
      if (await findUserByEmail(app.db, request.body.email)) {
        throw conflict("`email`: an account with this email already exists; it needs no invitation", "body.email");
      }
      const { invite, token } = await app.audited(request, 201, async (trx) => {
        const created = await createInvite(trx, { email: request.body.email, createdBy: principalOf(request).userId, expiresInDays: request.body.expiresInDays });
        request.auditTarget = created.invite.id;
        return created;
      });
      return reply.code(201).send({ ...inviteView(invite), token });
    },
  );

  app.get(
    "/v1/admin/invites",
    {
      schema: {
        tags: ["admin"],
        summary: "Invitations, newest first (never their tokens)",
        security: bearerSecurity,
        response: { 200: z.object({ invites: z.array(inviteViewSchema) }), ...errorResponses },
      },
    },
    async () => ({ invites: (await listInvites(app.db)).map(inviteView) }),
  );

  app.delete(
    "/v1/admin/invites/:id",
    {
      config: { audit: "admin.invite.delete" },
      schema: {
        tags: ["admin"],
        summary: "Withdraw an unused invitation",
        security: bearerSecurity,
        params: idParamsOf("inv"),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      request.auditTarget = request.params.id;
      await app.audited(request, 204, async (trx) => {
        if (!(await deleteInvite(trx, request.params.id))) throw notFound(`unused invitation \`${request.params.id}\``);
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/admin/plans",
    {
      schema: {
        tags: ["admin"],
        summary: "List plans and their limits",
        security: bearerSecurity,
        response: { 200: z.object({ plans: z.array(planViewSchema) }), ...errorResponses },
      },
    },
    async () => ({ plans: (await listPlans(app.db)).map(planView) }),
  );

  app.put(
    "/v1/admin/plans/:id",
    {
      config: { audit: "admin.plan.put" },
      schema: {
        tags: ["admin"],
        summary: "Create a plan or change its name and instance limit",
        security: bearerSecurity,
        params: z.strictObject({ id: z.string().regex(PLAN_ID, "1-40 lower-case letters, digits or dashes, starting with a letter or digit") }),
        body: z.strictObject({ name: trimmedText(1, 80), maxInstances: z.number().int().min(0).max(MAX_PLAN_INSTANCES) }),
        response: { 200: planViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      request.auditTarget = request.params.id;
      return planView(await app.audited(request, 200, (trx) => upsertPlan(trx, { id: request.params.id, ...request.body })));
    },
  );

  app.delete(
    "/v1/admin/users/:id",
    {
      config: { audit: "admin.user.delete" },
      schema: {
        tags: ["admin"],
        summary: "Delete an account; its credentials become undecryptable (its vault key is destroyed)",
        security: bearerSecurity,
        params: idParamsOf("usr"),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      await app.audited(request, 204, async (trx) => {
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
      config: { audit: "admin.user.sessions.revoke" },
      schema: {
        tags: ["admin"],
        summary:
          "Sign an account out everywhere: every refresh token revoked, every access token issued before now refused, and every agent API key revoked unless `keepApiKeys` is true",
        security: bearerSecurity,
        params: idParamsOf("usr"),
        body: z
          .strictObject({ keepApiKeys: z.boolean().default(false).describe("Leave the account's agent API keys working (default: revoke them all)") })
          .nullish(),
        response: { 200: signOutViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      const answer = await app.audited(request, 200, async (trx) => {
        if (!(await findUserById(trx, id))) throw notFound(`account \`${id}\``);
        return signOutEverywhere(trx, app.audit, {
          userId: id,
          keepApiKeys: request.body?.keepApiKeys ?? false,
          reason: "sign_out",
          by: { userId: principalOf(request).userId, ip: request.ip, requestId: request.id },
        });
      });
      return reply.code(200).send(answer);
    },
  );
});
