/**
 * What the dashboard needs around instances, beside the instance routes (api/routes/instances.ts):
 *
 *   POST /v1/instances/plan          the offline plan, policy findings and preflight of a create request,
 *                                    before anything exists (same body and checks as POST /v1/instances;
 *                                    nothing stored); a stricter rate limit: each call runs the offline synth
 *   GET  /v1/instances/:id/jobs      the instance's jobs, newest first, in pages (`before`: the last job id seen)
 *   GET  /v1/instances/:id/health    the gateway's latest check and its recent transitions (metadata only)
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup } from "../auth/route-groups";
import type { Cloud } from "../db/schema";
import { selectJobStack } from "../engine/host-config";
import { offlinePlanner } from "../engine/plan";
import { EngineError } from "../engine/types";
import { HEALTH_ACTION_PREFIX, listHealthTransitions } from "../health/history-repo";
import { healthView } from "../health/view";
import { HttpError } from "../http/errors";
import { createInstanceBody } from "../http/instance-body";
import { bearerSecurity, errorResponses, idParamsOf, resourceId } from "../http/schemas";
import { CredentialChoiceError, MissingCredentialError } from "../jobs/credentials";
import { instanceConfig } from "../jobs/instances";
import { listInstanceJobs } from "../jobs/instance-jobs-repo";
import { ownInstance } from "./own-instance";
import { getJob } from "../jobs/queue";
import { instanceViewSchema, jobView, jobViewSchema } from "../jobs/views";
import { newInstanceId, stackNameFor } from "../stacks/naming";

const planResource = z.object({
  type: z.string(),
  name: z.string(),
  urn: z.string(),
  parent: z.string(),
  inputs: z.record(z.string(), z.unknown()).describe("The resource's inputs as planned; secret inputs as `[secret]`"),
});

const previewOutcomeSchema = z.object({
  plan: z.object({ resources: z.array(planResource), outputs: z.record(z.string(), z.unknown()) }),
  violations: z.array(
    z.object({
      policy: z.string(),
      enforcement: z.string().describe("`mandatory` (the stack would be refused) or `advisory`"),
      message: z.string(),
      urn: z.string().optional(),
      resourceType: z.string().optional(),
    }),
  ),
  mandatoryViolations: z.number().int(),
  preflight: z.object({ findings: z.number().int(), notes: z.array(z.string()) }).optional(),
});

const planAnswer = z.object({
  config: z.record(z.string(), z.unknown()).describe("The stack config the instance would be created with (normalized, no secrets)"),
  credentialId: z.string().describe("The credential `POST /v1/instances` would use"),
  summary: z.object({
    resources: z.number().int(),
    byType: z.array(z.object({ type: z.string(), count: z.number().int() })).describe("Planned resources per type, most first"),
  }),
  preview: previewOutcomeSchema.describe("What a preview job returns: the offline plan, the policy findings, the preflight"),
});

const jobSummarySchema = jobViewSchema.omit({ result: true });

const jobsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: resourceId("job").optional().describe("The last job of the previous page (`next`): the jobs created before it"),
});

const healthQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z.coerce.number().int().min(1).optional().describe("The last transition id of the previous page (`next`)"),
});

const healthAnswer = z.object({
  instanceStatus: instanceViewSchema.shape.status,
  latest: instanceViewSchema.shape.health,
  transitions: z
    .array(
      z.object({
        id: z.number().int(),
        at: z.string(),
        status: z.string().describe("What the gateway became: `up`, `down` or `cert_mismatch`"),
        latencyMs: z.number().describe("Round trip of the check that saw it (0 when it did not answer)"),
      }),
    )
    .describe("Changes of the gateway's status, newest first, as the health checker audited them"),
  next: z.number().int().nullable().describe("`before` for the next page, or null"),
});

export const instanceExtraRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(scopedGroup(routes));
};

const routes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/v1/instances/plan",
    {
      config: { scope: "instances:read", rateLimit: { max: app.config.rateLimit.loginMax } },
      schema: {
        tags: ["instances"],
        summary:
          "Preview a create request before anything exists: the offline plan, the policy findings and the preflight; same body and refusals as `POST /v1/instances`, nothing stored",
        security: bearerSecurity,
        body: createInstanceBody,
        response: { 200: planAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      const body = request.body;
      // The checks of POST /v1/instances, in its order: the host config parser, then the credential choice.
      const config = instanceConfig(body);
      let credentialId: string;
      try {
        credentialId = await app.jobs.credentials.choose(userId, body.cloud as Cloud, body.credentialId);
      } catch (error) {
        if (error instanceof MissingCredentialError) throw new HttpError(400, error.message, "body.cloud");
        if (error instanceof CredentialChoiceError) throw new HttpError(400, error.message, "body.credentialId");
        throw error;
      }
      // What a preview job runs on the stored config: parsed once by the stack kind, then the offline planner
      // (serialized in-process with the worker's synths). No stack, no work directory, no credential.
      const stored = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
      const stackName = stackNameFor(userId, newInstanceId());
      let preview;
      try {
        preview = await offlinePlanner({ stackName, config: stored, stack: selectJobStack("host", stored) });
      } catch (error) {
        if (error instanceof EngineError) throw new HttpError(error.httpStatus, error.message, error.field ? `body.options.${error.field}` : undefined);
        throw error;
      }
      const counts = new Map<string, number>();
      for (const resource of preview.plan.resources) counts.set(resource.type, (counts.get(resource.type) ?? 0) + 1);
      const byType = [...counts].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1));
      return { config: stored, credentialId, summary: { resources: preview.plan.resources.length, byType }, preview };
    },
  );

  app.get(
    "/v1/instances/:id/jobs",
    {
      config: { scope: "jobs:read" },
      schema: {
        tags: ["instances"],
        summary: "The instance's jobs, newest first, in pages (each job's result: `GET /v1/jobs/:id`)",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        querystring: jobsQuery,
        response: { 200: z.object({ jobs: z.array(jobSummarySchema), next: z.string().nullable().describe("`before` for the next page, or null") }), ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const { limit, before } = request.query;
      let cursor;
      if (before !== undefined) {
        cursor = await getJob(app.db, before);
        if (!cursor || cursor.instance_id !== instance.id) throw new HttpError(400, `\`before\`: \`${before}\` is not a job of this instance`, "querystring.before");
      }
      const jobs = await listInstanceJobs(app.db, instance.id, { limit, ...(cursor ? { before: cursor } : {}) });
      return {
        jobs: jobs.map((job) => {
          const { result: _result, ...view } = jobView(job);
          void _result;
          return view;
        }),
        next: jobs.length === limit ? (jobs.at(-1)?.id ?? null) : null,
      };
    },
  );

  app.get(
    "/v1/instances/:id/health",
    {
      config: { scope: "instances:read" },
      schema: {
        tags: ["instances"],
        summary: "The gateway's latest health check and its recent transitions (metadata only)",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        querystring: healthQuery,
        response: { 200: healthAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      const { limit, before } = request.query;
      const rows = await listHealthTransitions(app.db, instance.id, { limit, ...(before !== undefined ? { beforeId: before } : {}) });
      return {
        instanceStatus: instance.status,
        latest: healthView(instance),
        transitions: rows.map((row) => ({
          id: Number(row.id),
          at: row.at,
          status: row.action.slice(HEALTH_ACTION_PREFIX.length),
          latencyMs: Number(row.latency_ms),
        })),
        next: rows.length === limit ? Number(rows.at(-1)!.id) : null,
      };
    },
  );
};
