/**
 * Instances: one OpenClaw host per instance, one Pulumi stack each.
 *
 *   POST   /v1/instances                  record + enqueue `up` (Idempotency-Key header)
 *   GET    /v1/instances                  list yours
 *   GET    /v1/instances/:id              status, outputs, last job
 *   POST   /v1/instances/:id/preview      offline synth + policy review (no CLI, no credentials needed)
 *   POST   /v1/instances/:id/up           enqueue `up` again (after a failure, or to apply the stack's current program)
 *   POST   /v1/instances/:id/refresh      enqueue `refresh`
 *   DELETE /v1/instances/:id              enqueue `destroy` (the stack is removed afterwards)
 *   POST   /v1/instances/:id/stop|start|reboot   enqueue a power action (address and state disk kept)
 *   POST   /v1/instances/:id/register     the host's first-boot call with its single-use registration token
 *
 * Wrapped with fastify-plugin so the job runtime it registers (`app.jobs`,
 * the embedded worker) is shared with the job routes.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup } from "../auth/route-groups";
import { HttpError } from "../http/errors";
import { createInstanceBody } from "../http/instance-body";
import { bearerSecurity, errorResponses, gatewayTokenField, idParamsOf, opaqueToken, tlsCertSha256Field } from "../http/schemas";
import { createInstance, enqueueOperation, isFinished } from "../jobs/instances";
import { getInstance, listUserInstances, markInstanceRegistered } from "../jobs/instances-repo";
import { ownInstance } from "./own-instance";
import { jobsPlugin } from "../jobs/plugin";
import { getJob } from "../jobs/queue";
import type { Instance, Job } from "../db/schema";
import type { JobOperation } from "../engine/types";
import { instanceView, instanceViewSchema, jobView, jobViewSchema } from "../jobs/views";
import { storeGatewayToken } from "../registration/gateway-tokens";
import { redeemRegistrationToken } from "../registration/tokens";
import { forgetHostToken, storeHostToken } from "../support/host-credential";
import { pinDeviceKeys } from "../support/pinning";

const createBody = createInstanceBody;

const idempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, "must be 1 to 200 printable ASCII characters")
    .optional()
    .describe("Retries with the same key return the first result instead of provisioning twice"),
});

const instanceAndJob = z.object({ instance: instanceViewSchema, job: jobViewSchema });

const registerBody = z.strictObject({
  registrationToken: opaqueToken("csreg_", "a registration token").describe("The single-use `csreg_...` token from user-data"),
  gatewayToken: gatewayTokenField.describe("The host's gateway token; stored encrypted in the vault, never shown"),
  tlsCertSha256: tlsCertSha256Field.describe("SHA-256 fingerprint of the gateway's TLS certificate, pinned from now on"),
  hostToken: opaqueToken("cshost_", "a host token").optional().describe("The host's own credential for its support-access calls (docs/zero-access.md); only its SHA-256 is stored"),
});

const REDEEM_REFUSALS = {
  unknown: [401, "`registrationToken`: not a registration token of this instance"],
  used: [409, "`registrationToken`: this token was already used (registration tokens are single use)"],
  expired: [410, "`registrationToken`: this token expired (tokens are valid for one hour); re-run `up` to issue a new one"],
} as const;

const routes: FastifyPluginAsyncZod = async (app) => {
  await app.register(jobsPlugin);

  async function lastJobOf(instance: Instance): Promise<Job | undefined> {
    return instance.last_job_id ? getJob(app.db, instance.last_job_id) : undefined;
  }

  // Everything but the host's registration: users, and agents with the route's scope.
  await app.register(
    scopedGroup(async (app) => {
      app.post(
        "/v1/instances",
        {
          config: { scope: "instances:write", audit: "instance.create" },
          schema: {
            tags: ["instances"],
            summary: "Request an OpenClaw host: validates the stack config, records the instance and enqueues its `up`",
            security: bearerSecurity,
            headers: idempotencyHeaders,
            body: createBody,
            response: { 200: instanceAndJob, 201: instanceAndJob, ...errorResponses },
          },
        },
        async (request, reply) => {
          const result = await createInstance(
            app.db,
            { credentials: app.jobs.credentials, queue: app.jobs.settings.queue, dbEngine: app.dbEngine },
            { userId: principalOf(request).userId, body: request.body, idempotencyKey: request.headers["idempotency-key"] },
            (work) =>
              app.audited(request, 201, async (trx) => {
                const created = await work(trx);
                await pinDeviceKeys(trx, created.instance);
                request.auditTarget = created.instance.id;
                return created;
              }),
          );
          request.auditTarget = result.instance.id;
          if (result.created) app.jobs.wake();
          const latest = (await getJob(app.db, result.job.id)) ?? result.job;
          return reply.code(result.created ? 201 : 200).send({ instance: instanceView(result.instance, latest), job: jobView(latest) });
        },
      );

      app.get(
        "/v1/instances",
        {
          config: { scope: "instances:read" },
          schema: {
            tags: ["instances"],
            summary: "Your instances, newest first",
            security: bearerSecurity,
            response: { 200: z.object({ instances: z.array(instanceViewSchema) }), ...errorResponses },
          },
        },
        async (request) => {
          const instances = await listUserInstances(app.db, principalOf(request).userId);
          return { instances: await Promise.all(instances.map(async (instance) => instanceView(instance, await lastJobOf(instance)))) };
        },
      );

      app.get(
        "/v1/instances/:id",
        {
          config: { scope: "instances:read" },
          schema: {
            tags: ["instances"],
            summary: "One instance: status, outputs, last job",
            security: bearerSecurity,
            params: idParamsOf("inst"),
            response: { 200: instanceViewSchema, ...errorResponses },
          },
        },
        async (request) => {
          const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
          return instanceView(instance, await lastJobOf(instance));
        },
      );

      app.post(
        "/v1/instances/:id/preview",
        {
          config: { scope: "instances:read", audit: "instance.preview" },
          schema: {
            tags: ["instances"],
            summary: "Preview: the offline plan (the real program under mocks) and the policy review; needs no CLI and no credentials",
            security: bearerSecurity,
            params: idParamsOf("inst"),
            querystring: z.strictObject({
              wait: z.coerce.number().int().min(0).max(60).default(0).describe("Seconds to wait for the result (0: answer 202 at once)"),
            }),
            response: { 200: z.object({ job: jobViewSchema }), 202: z.object({ job: jobViewSchema }), ...errorResponses },
          },
        },
        async (request, reply) => {
          const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
          request.auditTarget = instance.id;
          let job = await enqueueOperation(app.db, app.jobs.settings.queue, instance, "preview", (work) => app.audited(request, 202, work));
          app.jobs.wake();
          const deadline = Date.now() + request.query.wait * 1000;
          while (!isFinished(job) && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            job = (await getJob(app.db, job.id)) ?? job;
          }
          return reply.code(isFinished(job) ? 200 : 202).send({ job: jobView(job) });
        },
      );

      /** `up` again, `refresh`, `destroy` and the power actions only enqueue an operation on the caller's instance: one route shape. */
      const operationRoute = (method: "POST" | "DELETE", url: string, operation: Exclude<JobOperation, "preview">, summary: string) =>
        app.route({
          method,
          url,
          config: { scope: "instances:write", audit: `instance.${operation}` },
          schema: {
            tags: ["instances"],
            summary: `${summary} (409 while another operation is queued or running)`,
            security: bearerSecurity,
            params: idParamsOf("inst"),
            response: { 202: z.object({ job: jobViewSchema }), ...errorResponses },
          },
          handler: async (request, reply) => {
            const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
            request.auditTarget = instance.id;
            const job = await enqueueOperation(app.db, app.jobs.settings.queue, instance, operation, (work) => app.audited(request, 202, work));
            app.jobs.wake();
            return reply.code(202).send({ job: jobView(job) });
          },
        });
      operationRoute("POST", "/v1/instances/:id/up", "up", "Enqueue `up` again, e.g. after a failed first `up`");
      operationRoute("POST", "/v1/instances/:id/refresh", "refresh", "Enqueue a `refresh` of the instance's stack");
      operationRoute("DELETE", "/v1/instances/:id", "destroy", "Enqueue a `destroy`: the cloud resources go, then the stack is removed");
      operationRoute("POST", "/v1/instances/:id/stop", "stop", "Enqueue a `stop`: the host shuts down gracefully and stays stopped; address and state disk are kept (409 unless ready or stopped)");
      operationRoute("POST", "/v1/instances/:id/start", "start", "Enqueue a `start` of a stopped host; same address, same state disk (409 unless stopped or ready)");
      operationRoute("POST", "/v1/instances/:id/reboot", "reboot", "Enqueue a `reboot` of a running host (409 unless ready)");
    }),
  );

  app.post(
    "/v1/instances/:id/register",
    {
      config: { audit: "instance.register", rateLimit: { max: app.config.rateLimit.loginMax } },
      schema: {
        tags: ["instances"],
        summary:
          "First-boot registration by the host (authenticated by its single-use registration token): stores the gateway token in the vault and pins the TLS fingerprint",
        params: idParamsOf("inst"),
        body: registerBody,
        response: { 204: z.null(), ...errorResponses, 410: errorResponses[404] },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditTarget = id;
      const { registrationToken, gatewayToken, tlsCertSha256 } = request.body;
      await app.audited(request, 204, async (trx) => {
        const instance = await getInstance(trx, id);
        // An unknown instance answers like an unknown token: ids are not confirmed to strangers.
        if (!instance) throw new HttpError(401, REDEEM_REFUSALS.unknown[1], "body.registrationToken");
        const outcome = await redeemRegistrationToken(trx, id, registrationToken);
        if (outcome !== "ok") {
          const [status, message] = REDEEM_REFUSALS[outcome];
          throw new HttpError(status, message, "body.registrationToken");
        }
        const secretId = await storeGatewayToken(trx, app.vault.wrapper, {
          userId: instance.user_id,
          instanceId: id,
          token: gatewayToken,
        });
        await markInstanceRegistered(trx, id, { secretId, tlsFingerprint: tlsCertSha256 });
        // The host credential says the host runs the support agent; registering without one says it does not.
        if (request.body.hostToken !== undefined) await storeHostToken(trx, id, request.body.hostToken);
        else await forgetHostToken(trx, id);
      });
      return reply.code(204).send(null);
    },
  );
};

export const instanceRoutes = fp(routes, { name: "clawstack-instance-routes" });
