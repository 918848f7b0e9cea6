/** Reading the audit log: users their own entries, admins everyone's. No route edits or deletes. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { adminGroup, principalOf, scopedGroup } from "../auth/route-groups";
import { bearerSecurity, errorResponses, resourceId, text } from "../http/schemas";
import { auditView, auditViewSchema } from "./views";

const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).optional().describe("Entries with an id below this (paging)"),
  action: text(1, 200).optional().describe("Only entries of this action, e.g. `instance.create`"),
});

const auditPage = z.object({ entries: z.array(auditViewSchema) });

export const auditRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(scopedGroup(ownEntries));
  await root.register(adminGroup(everyEntry));
};

const ownEntries: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/audit",
    {
      config: { scope: "audit:read" },
      schema: {
        tags: ["audit"],
        summary: "Your audit entries, newest first",
        security: bearerSecurity,
        querystring: auditQuery,
        response: { 200: auditPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit, before, action } = request.query;
      const entries = await app.audit.list({ actorUserId: principalOf(request).userId, limit, beforeId: before, action });
      return { entries: entries.map(auditView) };
    },
  );
};

const everyEntry: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/admin/audit",
    {
      schema: {
        tags: ["admin"],
        summary: "Every audit entry (admins), optionally one user's",
        security: bearerSecurity,
        querystring: auditQuery.extend({ userId: resourceId("usr").optional() }),
        response: { 200: auditPage, ...errorResponses },
      },
    },
    async (request) => {
      const { limit, before, action, userId } = request.query;
      const entries = await app.audit.list({ actorUserId: userId, limit, beforeId: before, action });
      return { entries: entries.map(auditView) };
    },
  );
};
