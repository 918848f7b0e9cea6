/**
 * Gateway token rotation, the API's half:
 *
 *   POST /v1/instances/:id/gateway-token/rotate   a fresh single-use registration token for a registered
 *                                                 instance (yours), answered once
 *
 * The host spends it at `POST /v1/instances/:id/register` with its new gateway
 * token (and TLS fingerprint), exactly like at first boot: the API swaps its
 * sealed copy in one transaction, the old token's copy is deleted, and a
 * replay is refused. The host's half (make a new token, restart the gateway,
 * re-register) is a manual step: docs/rotation.md.
 *
 *   POST /v1/instances/:id/gateway-token/rotate-on-host
 *                                                 asks the host to rotate by itself: its support agent sees
 *                                                 the request in its poll (within a minute), makes a new
 *                                                 token, restarts the gateway and sends the token with its
 *                                                 host credential (`POST /v1/host/instances/:id/gateway-token`)
 *
 * Operators use `admin-cli gateway-token rotate <instance> --out <file>`.
 */
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, userGroup } from "../auth/route-groups";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { findUserInstance } from "../jobs/instances-repo";
import { gatewayRotationRefusal } from "../registration/gateway-tokens";
import { issueRegistrationToken } from "../registration/tokens";
import { nowIso } from "../db/ids";
import { requestHostRotation } from "../support/gateway-rotation-repo";
import { findInstance as findZeroAccessInstance } from "../support/repo";

export const gatewayTokenRoutes: FastifyPluginAsyncZod = userGroup(async (app) => {
  /** The caller's registered, live instance (404 for anyone else's; 409 saying why it cannot rotate now). */
  const rotatableInstance = async (request: FastifyRequest, id: string) => {
    const instance = await findUserInstance(app.db, principalOf(request).userId, id);
    if (!instance) throw notFound(`instance \`${id}\``);
    request.auditTarget = instance.id;
    const refusal = gatewayRotationRefusal(instance);
    if (refusal) throw conflict(refusal, "id");
    return instance;
  };

  app.post(
    "/v1/instances/:id/gateway-token/rotate",
    {
      config: { audit: "instance.gateway_token.rotate" },
      schema: {
        tags: ["instances"],
        summary:
          "Start a gateway token rotation: a single-use registration token (one hour) with which the host registers its new gateway token",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        response: {
          201: z.object({
            registrationToken: z.string().describe("`csreg_...`, shown once; the host sends it with its new gateway token"),
            expiresAt: z.string(),
            registerUrl: z.string().nullable().describe("Where the host registers (null when `CLAWSTACK_PUBLIC_URL` is unset)"),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const instance = await rotatableInstance(request, request.params.id);
      const issued = await app.audited(request, 201, (trx) => issueRegistrationToken(trx, { instanceId: instance.id, jobId: null }));
      const publicUrl = app.jobs.settings.publicUrl;
      return reply.code(201).send({
        registrationToken: issued.token,
        expiresAt: issued.expiresAt,
        registerUrl: publicUrl ? `${publicUrl}/v1/instances/${instance.id}/register` : null,
      });
    },
  );

  app.post(
    "/v1/instances/:id/gateway-token/rotate-on-host",
    {
      config: { audit: "instance.gateway_token.rotate_on_host" },
      schema: {
        tags: ["instances"],
        summary:
          "Ask the host to rotate its gateway token by itself (its support agent polls within a minute; proxied clients reconnect once). Needs a host that registered a host credential",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        response: { 202: z.object({ requestedAt: z.string().describe("When the rotation was first asked for (a repeat keeps it)") }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const instance = await rotatableInstance(request, request.params.id);
      const host = await findZeroAccessInstance(app.db, instance.id);
      if (!host?.host_token_hash) {
        throw conflict("the host has no host credential (it registered without a support agent): use `POST .../gateway-token/rotate` and the manual host step", "id");
      }
      const requestedAt = await app.audited(request, 202, (trx) => requestHostRotation(trx, instance.id, nowIso()));
      return reply.code(202).send({ requestedAt });
    },
  );
});
