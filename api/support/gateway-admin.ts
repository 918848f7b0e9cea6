/**
 * Gateway setup grants over HTTP (issue 16 "first use without a shell",
 * docs/zero-access.md "Gateway setup"):
 *
 *   owner (a signed-in user, never an agent key)
 *     POST   /v1/instances/:id/gateway-admin-grants            a setup grant signed by one of the instance's pinned keys
 *     DELETE /v1/instances/:id/gateway-admin-grants/:grantId   end it now (the host takes operator.admin back within a poll)
 *   reader (user, or agent key with `instances:read`)
 *     GET    /v1/instances/:id/gateway-admin-grants            the grants with their status
 *
 * The host learns of them in its poll (`gatewayAdmin` in
 * `GET /v1/host/instances/:id/support-grants`, api/support/routes.ts) and
 * verifies each itself. Nothing secret is stored here: the model key the
 * dashboard sets in the window goes through the chat proxy only.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { Kysely, Selectable, Transaction } from "kysely";
import { z } from "zod";
import { GATEWAY_ADMIN_GRANT_MAX_MS, verifyGatewayAdminGrant } from "../../core/zero-access/gateway-admin-grant";
import { GrantError } from "../../core/zero-access/support-grant";
import { isUniqueViolation, newId, nowIso } from "../db/ids";
import type { Database, GatewayAdminGrantsTable } from "../db/schema";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, resourceId } from "../http/schemas";
import { agentGrantRefusal } from "./agent-presence";
import { pinnedKeysOf } from "./pinning";
import { grantRefusal, grantStatus, ownInstance, principalOf } from "./route-helpers";
import { grantView, signedGrantBody, zeroAccessId } from "./schemas";

type Db = Kysely<Database> | Transaction<Database>;
export type GatewayAdminGrantRow = Selectable<GatewayAdminGrantsTable>;

const params = z.strictObject({ id: resourceId("inst") });
const grantParams = z.strictObject({ id: resourceId("inst"), grantId: zeroAccessId("gag") });

/** A support grant's view without what only SSH access has (keys, sources, the cloud firewall). */
export const gatewayAdminGrantView = grantView.pick({ id: true, instanceId: true, status: true, notBefore: true, notAfter: true, reason: true, signer: true, createdAt: true, revokedAt: true });

// ---------------------------------------------------------------------------
// Repository

export function activeGatewayAdminGrants(db: Db, instanceId: string, now: string): Promise<GatewayAdminGrantRow[]> {
  return db
    .selectFrom("gateway_admin_grants")
    .selectAll()
    .where("instance_id", "=", instanceId)
    .where("not_after", ">", now)
    .where("revoked_at", "is", null)
    .orderBy("created_at", "asc")
    .limit(8)
    .execute();
}

function listGatewayAdminGrants(db: Db, instanceId: string): Promise<GatewayAdminGrantRow[]> {
  return db.selectFrom("gateway_admin_grants").selectAll().where("instance_id", "=", instanceId).orderBy("created_at", "desc").limit(20).execute();
}

function findGatewayAdminGrant(db: Db, instanceId: string, id: string): Promise<GatewayAdminGrantRow | undefined> {
  return db.selectFrom("gateway_admin_grants").selectAll().where("instance_id", "=", instanceId).where("id", "=", id).executeTakeFirst();
}

// ---------------------------------------------------------------------------
// Routes

function viewOf(row: GatewayAdminGrantRow, now: number): z.infer<typeof gatewayAdminGrantView> {
  return {
    id: row.id,
    instanceId: row.instance_id,
    status: grantStatus(row, now),
    notBefore: row.not_before,
    notAfter: row.not_after,
    reason: row.reason,
    signer: row.signer,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

const ownerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook("onRequest", app.authenticate);
  app.addHook("onRequest", app.requireUser);

  app.post(
    "/v1/instances/:id/gateway-admin-grants",
    {
      config: { audit: "gateway_admin_grant.create" },
      schema: {
        tags: ["zero-access"],
        summary: `Open a gateway setup window: a statement signed by one of the instance's pinned device keys lets the chat proxy hold operator.admin for at most ${GATEWAY_ADMIN_GRANT_MAX_MS / 60_000} minutes (verified here and again by the host)`,
        security: bearerSecurity,
        params,
        body: signedGrantBody,
        response: { 201: gatewayAdminGrantView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const instance = await ownInstance(app.db, userId, request.params.id);
      request.auditTarget = instance.id;
      const noAgent = agentGrantRefusal(instance);
      if (noAgent !== undefined) throw conflict(noAgent, "params.id");
      const pinnedKeys = pinnedKeysOf(instance);
      if (pinnedKeys.length === 0) {
        throw conflict("`id`: this instance pins no device key (it was created before you registered one), so it accepts no grant; register a device key and re-create the instance", "params.id");
      }
      let grant: Awaited<ReturnType<typeof verifyGatewayAdminGrant>>;
      try {
        grant = await verifyGatewayAdminGrant(request.body, { pinnedKeys, instanceId: instance.id, now: new Date() });
      } catch (error) {
        if (error instanceof GrantError) throw grantRefusal(error);
        throw error;
      }
      const now = Date.now();
      const row = await app.audited(request, 201, async (trx) => {
        const created: GatewayAdminGrantRow = {
          id: newId("gag"),
          instance_id: instance.id,
          user_id: userId,
          statement: request.body.statement,
          signature: request.body.signature,
          signer: grant.signer,
          nonce: grant.nonce,
          not_before: grant.notBefore,
          not_after: grant.notAfter,
          reason: grant.reason,
          created_at: new Date(now).toISOString(),
          revoked_at: null,
        };
        try {
          await trx.insertInto("gateway_admin_grants").values(created).execute();
        } catch (error) {
          if (isUniqueViolation(error)) throw grantRefusal(new GrantError("replayed", "this grant (its nonce) was already submitted for this instance"));
          throw error;
        }
        request.auditTarget = `${instance.id}:${created.id}`;
        return created;
      });
      return reply.code(201).send(viewOf(row, now));
    },
  );

  app.delete(
    "/v1/instances/:id/gateway-admin-grants/:grantId",
    {
      config: { audit: "gateway_admin_grant.revoke" },
      schema: {
        tags: ["zero-access"],
        summary: "End a gateway setup window now: the host takes operator.admin back from the chat proxy at its next poll",
        security: bearerSecurity,
        params: grantParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const { id, grantId } = request.params;
      const instance = await ownInstance(app.db, userId, id);
      request.auditTarget = `${instance.id}:${grantId}`;
      await app.audited(request, 204, async (trx) => {
        if (!(await findGatewayAdminGrant(trx, instance.id, grantId))) throw notFound(`gateway setup grant \`${grantId}\``);
        await trx.updateTable("gateway_admin_grants").set({ revoked_at: nowIso() }).where("id", "=", grantId).where("revoked_at", "is", null).execute();
      });
      return reply.code(204).send(null);
    },
  );
};

const readerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook("onRequest", app.authenticate);
  app.addHook("onRequest", app.requireScope("instances:read"));

  app.get(
    "/v1/instances/:id/gateway-admin-grants",
    {
      schema: {
        tags: ["zero-access"],
        summary: "Gateway setup grants of an instance, newest first, with their status",
        security: bearerSecurity,
        params,
        response: { 200: z.object({ items: z.array(gatewayAdminGrantView) }), ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const now = Date.now();
      return { items: (await listGatewayAdminGrants(app.db, instance.id)).map((row) => viewOf(row, now)) };
    },
  );
};

export const gatewayAdminRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(ownerRoutes);
  await app.register(readerRoutes);
};
