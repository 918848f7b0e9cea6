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
 * re-register) is a documented manual step today: docs/rotation.md.
 * Operators use `admin-cli gateway-token rotate <instance> --out <file>`.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, userGroup } from "../auth/route-groups";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { findUserInstance } from "../jobs/instances-repo";
import { gatewayRotationRefusal } from "../registration/gateway-tokens";
import { issueRegistrationToken } from "../registration/tokens";

export const gatewayTokenRoutes: FastifyPluginAsyncZod = userGroup(async (app) => {
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
      const instance = await findUserInstance(app.db, principalOf(request).userId, request.params.id);
      if (!instance) throw notFound(`instance \`${request.params.id}\``);
      request.auditTarget = instance.id;
      const refusal = gatewayRotationRefusal(instance);
      if (refusal) throw conflict(refusal, "id");
      const issued = await app.audited(request, 201, (trx) => issueRegistrationToken(trx, { instanceId: instance.id, jobId: null }));
      const publicUrl = app.jobs.settings.publicUrl;
      return reply.code(201).send({
        registrationToken: issued.token,
        expiresAt: issued.expiresAt,
        registerUrl: publicUrl ? `${publicUrl}/v1/instances/${instance.id}/register` : null,
      });
    },
  );
});
