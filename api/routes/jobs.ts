/**
 * Jobs: one operation on one instance's stack.
 *
 *   GET  /v1/jobs/:id          state, attempt, error, result
 *   POST /v1/jobs/:id/cancel   a queued job is cancelled at once; a running one is aborted (its worker sees the request)
 *   GET  /v1/jobs/:id/events   server-sent events of its progress (stored rows, secrets redacted before they were
 *                              written), resumable: `Last-Event-ID` (or `?after=`) skips what was already seen;
 *                              the stream ends with `event: end` once the job finished
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { conflict, notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { readJobEvents } from "../jobs/events";
import { findUserJob, isFinished } from "../jobs/instances";
import { cancelJobIn, getJob } from "../jobs/queue";
import type { Job } from "../jobs/tables";
import { jobView, jobViewSchema } from "../jobs/views";

/** How often a follower's stream looks for new rows. */
const POLL_MS = 200;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** After a job finished, how long to wait for its final `result` row before ending the stream anyway. */
const RESULT_GRACE_MS = 2_000;
const PAGE = 500;

export const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  // Open event streams end when the app closes (followers reconnect with Last-Event-ID).
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });

  async function ownJob(userId: string, id: string): Promise<Job> {
    const job = await findUserJob(app.db, userId, id);
    if (!job) throw notFound(`job \`${id}\``);
    return job;
  }

  app.get(
    "/v1/jobs/:id",
    {
      onRequest: [app.authenticate, app.requireScope("jobs:read")],
      schema: {
        tags: ["jobs"],
        summary: "One job: state, attempts, error, result",
        security: bearerSecurity,
        params: idParamsOf("job"),
        response: { 200: jobViewSchema, ...errorResponses },
      },
    },
    async (request) => jobView(await ownJob(request.principal!.userId, request.params.id)),
  );

  app.post(
    "/v1/jobs/:id/cancel",
    {
      onRequest: [app.authenticate, app.requireScope("instances:write")],
      config: { audit: "job.cancel" },
      schema: {
        tags: ["jobs"],
        summary: "Cancel a job: 200 when it was still queued (cancelled), 202 when it is running (abort requested)",
        security: bearerSecurity,
        params: idParamsOf("job"),
        response: { 200: jobViewSchema, 202: jobViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await ownJob(request.principal!.userId, request.params.id);
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
      onRequest: [app.authenticate, app.requireScope("jobs:read")],
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
      const job = await ownJob(request.principal!.userId, request.params.id);
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
      let lastType = "";
      let lastWrite = Date.now();
      let finishedSince: number | undefined;
      try {
        while (!closed && !closing) {
          const events = await readJobEvents(app.db, job.id, after, PAGE);
          for (const event of events) {
            raw.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ at: event.at, ...(event.data as object) })}\n\n`);
            after = event.seq;
            lastType = event.type;
            lastWrite = Date.now();
          }
          if (events.length === PAGE) continue;
          const current = await getJob(app.db, job.id);
          if (!current || isFinished(current)) {
            finishedSince ??= Date.now();
            const resultStored =
              lastType === "result" ||
              (await app.db.selectFrom("job_events").select("seq").where("job_id", "=", job.id).where("type", "=", "result").executeTakeFirst()) !==
                undefined;
            if (resultStored || Date.now() - finishedSince > RESULT_GRACE_MS) {
              raw.write(`event: end\ndata: ${JSON.stringify({ state: current?.state ?? "unknown" })}\n\n`);
              break;
            }
          }
          if (Date.now() - lastWrite > KEEPALIVE_MS) {
            raw.write(": keep-alive\n\n");
            lastWrite = Date.now();
          }
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      } catch (error) {
        request.log.error({ err: error, jobId: job.id }, "job event stream failed");
      } finally {
        raw.end();
      }
    },
  );
};
