/** Agent API keys: create (the key is shown once), list, revoke. Users only: a key cannot mint keys. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { generateApiKey } from "../auth/api-key-format";
import { insertApiKey, listApiKeys, revokeApiKey } from "../auth/api-keys-repo";
import { SCOPES } from "../auth/principal";
import { principalOf, userGroup } from "../auth/route-groups";
import { sha256Hex } from "../auth/tokens";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf, trimmedText } from "../http/schemas";
import { apiKeyView, apiKeyViewSchema } from "./views";

const MAX_KEYS_PER_USER = 50;

export const apiKeyRoutes: FastifyPluginAsyncZod = userGroup(async (app) => {
  app.post(
    "/v1/api-keys",
    {
      config: { audit: "api_key.create" },
      schema: {
        tags: ["api-keys"],
        summary: "Create an agent API key; the key is in this answer only",
        security: bearerSecurity,
        body: z.strictObject({
          name: trimmedText(1, 100),
          scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
          expiresInDays: z.number().int().min(1).max(365).optional(),
        }),
        response: { 201: apiKeyViewSchema.extend({ key: z.string().describe("Shown once; store it now") }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const generated = generateApiKey();
      const { expiresInDays } = request.body;
      const row = await app.audited(request, 201, async (trx) => {
        const existing = await listApiKeys(trx, userId);
        if (existing.filter((k) => k.revoked_at === null).length >= MAX_KEYS_PER_USER) {
          throw conflict(`at most ${MAX_KEYS_PER_USER} active API keys per account: revoke one first`);
        }
        const inserted = await insertApiKey(trx, {
          id: `key_${generated.id}`,
          userId,
          name: request.body.name,
          prefix: generated.prefix,
          keyHash: sha256Hex(generated.key),
          scopes: [...new Set(request.body.scopes)],
          expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000).toISOString() : null,
        });
        request.auditTarget = inserted.id;
        return inserted;
      });
      return reply.code(201).send({ ...apiKeyView(row), key: generated.key });
    },
  );

  app.get(
    "/v1/api-keys",
    {
      schema: {
        tags: ["api-keys"],
        summary: "List your API keys (never the keys themselves)",
        security: bearerSecurity,
        response: { 200: z.object({ apiKeys: z.array(apiKeyViewSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ apiKeys: (await listApiKeys(app.db, principalOf(request).userId)).map(apiKeyView) }),
  );

  app.delete(
    "/v1/api-keys/:id",
    {
      config: { audit: "api_key.revoke" },
      schema: {
        tags: ["api-keys"],
        summary: "Revoke an API key (at once, for every process)",
        security: bearerSecurity,
        params: idParamsOf("key"),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      request.auditTarget = request.params.id;
      await app.audited(request, 204, async (trx) => {
        const outcome = await revokeApiKey(trx, principalOf(request).userId, request.params.id);
        if (outcome === "missing") throw notFound(`API key \`${request.params.id}\``);
      });
      return reply.code(204).send(null);
    },
  );
});
