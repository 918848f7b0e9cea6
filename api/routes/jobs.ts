/**
 * Jobs: one operation on one instance's stack.
 *
 *   GET  /v1/jobs/:id          state, attempt, error, result
 *   POST /v1/jobs/:id/cancel   a queued job is cancelled at once; a running one is aborted (its worker sees the request)
 *   GET  /v1/jobs/:id/events   server-sent events of its progress (stored rows, secrets redacted before they were
 *                              written), resumable: `Last-Event-ID` (or `?after=`) skips what was already seen;
 *                              the stream ends with `event: end` once the job finished and its `result`
 *                              event was sent (api/jobs/follow.ts)
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup } from "../auth/route-groups";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { followJobEvents } from "../jobs/follow";
import { findUserJob } from "../jobs/instances";
import { cancelJobIn, getJob } from "../jobs/queue";
import type { Job } from "../db/schema";
import { jobView, jobViewSchema } from "../jobs/views";

export const jobRoutes: FastifyPluginAsyncZod = async (root) => {
  // Open event streams end when the app closes (followers reconnect with Last-Event-ID).
  const shutdown = { closing: false };
  root.addHook("preClose", async () => {
    shutdown.closing = true;
  });
  await root.register(scopedGroup(async (app) => routes(app, shutdown)));
};

const routes = async (app: Parameters<FastifyPluginAsyncZod>[0], shutdown: { closing: boolean }) => {
  async function ownJob(userId: string, id: string): Promise<Job> {
    const job = await findUserJob(app.db, userId, id);
    if (!job) throw notFound(`job \`${id}\``);
    return job;
  }

  app.get(
    "/v1/jobs/:id",
    {
      config: { scope: "jobs:read" },
      schema: {
        tags: ["jobs"],
        summary: "One job: state, attempts, error, result",
        security: bearerSecurity,
        params: idParamsOf("job"),
        response: { 200: jobViewSchema, ...errorResponses },
      },
    },
    async (request) => jobView(await ownJob(principalOf(request).userId, request.params.id)),
  );

  app.post(
    "/v1/jobs/:id/cancel",
    {
      config: { scope: "instances:write", audit: "job.cancel" },
      schema: {
        tags: ["jobs"],
        summary: "Cancel a job: 200 when it was still queued (cancelled), 202 when it is running (abort requested)",
        security: bearerSecurity,
        params: idParamsOf("job"),
        response: { 200: jobViewSchema, 202: jobViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await ownJob(principalOf(request).userId, request.params.id);
      request.auditTarget = job.id;
      const outcome = await app.audited(
        request,
        (cancelled) => (cancelled === "cancelled" ? 200 : 202),
        async (trx) => {
          const result = await cancelJobIn(trx, job.id);
          if (result === "finished") throw conflict(`job \`${job.id}\` already finished (${job.state}); nothing to cancel`);
          if (result === "not_found") throw notFound(`job \`${job.id}\``);
          return result;
        },
      );
      if (outcome === "requested") app.jobs.worker?.cancelLocal(job.id);
      const latest = (await getJob(app.db, job.id)) ?? job;
      return reply.code(outcome === "cancelled" ? 200 : 202).send(jobView(latest));
    },
  );

  app.get(
    "/v1/jobs/:id/events",
    {
      config: { scope: "jobs:read" },
      schema: {
        tags: ["jobs"],
        summary: "Follow a job's progress as server-sent events (`text/event-stream`), resumable with `Last-Event-ID`",
        security: bearerSecurity,
        params: idParamsOf("job"),
        headers: z.object({ "last-event-id": z.string().regex(/^\d{1,12}$/, "must be an event id (a number)").optional() }),
        querystring: z.strictObject({
          after: z.coerce.number().int().min(0).optional().describe("Start after this event id (as `Last-Event-ID`)"),
        }),
        response: { 200: z.string().describe("`text/event-stream`"), ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await ownJob(principalOf(request).userId, request.params.id);
      let after = Number(request.headers["last-event-id"] ?? request.query.after ?? 0);
      const raw = reply.raw;
      reply.hijack();
      // Headers already set on the reply (security headers, rate-limit counters) still apply to the stream.
      const inherited: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) inherited[name] = value;
      raw.writeHead(200, {
        ...inherited,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      raw.write("retry: 2000\n\n");
      let closed = false;
      request.raw.on("close", () => {
        closed = true;
      });
      try {
        await followJobEvents({
          db: app.db,
          jobId: job.id,
          after,
          write: (chunk) => raw.write(chunk),
          stopped: () => closed || shutdown.closing,
        });
      } catch (error) {
        request.log.error({ err: error, jobId: job.id }, "job event stream failed");
      } finally {
        // A restart ends the stream with a retry hint: the follower reconnects (Last-Event-ID) to a running process.
        if (shutdown.closing && !closed) raw.write(": server restarting\nretry: 500\n\n");
        raw.end();
        if (shutdown.closing) raw.once("finish", () => request.raw.socket?.end());
      }
    },
  );
};
