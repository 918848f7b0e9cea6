/**
 * Cloud credentials: add (encrypted before it is stored), list and read
 * (metadata only, never the value), delete, test (decrypts in memory, asks
 * the cloud, forgets).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup, userGroup } from "../auth/route-groups";
import { deleteCredential, findCredential, listCredentials, markTested } from "../vault/credentials-repo";
import { testCredential } from "../vault/credential-test";
import { credentialInput } from "../vault/kinds";
import { notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf, presentedPassword } from "../http/schemas";
import { credentialView, credentialViewSchema } from "./views";

export const credentialRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(userGroup(ownerRoutes));
  await root.register(scopedGroup(readRoutes));
};

/** Adding and deleting credentials: signed-in users only. */
const ownerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/v1/credentials",
    {
      config: { audit: "credential.create" },
      schema: {
        tags: ["credentials"],
        summary: "Add a cloud credential (kind `aws`, `gcp` or `digitalocean`); it is encrypted before it is stored",
        security: bearerSecurity,
        body: credentialInput,
        response: { 201: credentialViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const row = await app.audited(request, 201, async (trx) => {
        const created = await app.vault.create(userId, request.body, trx);
        request.auditTarget = created.id;
        return created;
      });
      return reply.code(201).send(credentialView(row));
    },
  );

  app.delete(
    "/v1/credentials/:id",
    {
      config: { audit: "credential.delete" },
      schema: {
        tags: ["credentials"],
        summary: "Delete a credential (its ciphertext and wrapped data key)",
        security: bearerSecurity,
        params: idParamsOf("cred"),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      request.auditTarget = request.params.id;
      await app.audited(request, 204, async (trx) => {
        if (!(await deleteCredential(trx, principalOf(request).userId, request.params.id))) throw notFound(`credential \`${request.params.id}\``);
      });
      return reply.code(204).send(null);
    },
  );
};

/** Reading and testing credentials: users, and agents with the scope. */
const readRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/credentials",
    {
      config: { scope: "credentials:read" },
      schema: {
        tags: ["credentials"],
        summary: "List your credentials (metadata only)",
        security: bearerSecurity,
        response: { 200: z.object({ credentials: z.array(credentialViewSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ credentials: (await listCredentials(app.db, principalOf(request).userId)).map(credentialView) }),
  );

  app.get(
    "/v1/credentials/:id",
    {
      config: { scope: "credentials:read" },
      schema: {
        tags: ["credentials"],
        summary: "One credential's metadata",
        security: bearerSecurity,
        params: idParamsOf("cred"),
        response: { 200: credentialViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const row = await findCredential(app.db, principalOf(request).userId, request.params.id);
      if (!row) throw notFound(`credential \`${request.params.id}\``);
      return credentialView(row);
    },
  );

  app.post(
    "/v1/credentials/:id/test",
    {
      config: { scope: "credentials:test", audit: "credential.test" },
      schema: {
        tags: ["credentials"],
        summary: "Decrypt the credential in memory and check it with its cloud",
        security: bearerSecurity,
        params: idParamsOf("cred"),
        body: z.strictObject({ passphrase: presentedPassword.optional() }).nullish(),
        response: { 200: z.object({ ok: z.boolean(), detail: z.string() }), ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const userId = principal.userId;
      request.auditTarget = request.params.id;
      const secret = await app.vault.decrypt(userId, request.params.id, {
        passphrase: request.body?.passphrase ?? undefined,
        actor: { kind: principal.kind, apiKeyId: principal.apiKeyId ?? null, requestId: request.id, ip: request.ip },
      });
      const result = await testCredential(secret, { digitalOceanApiUrl: app.config.digitalOceanApiUrl });
      await app.audited(request, 200, (trx) => markTested(trx, request.params.id, result.ok));
      return result;
    },
  );
};
