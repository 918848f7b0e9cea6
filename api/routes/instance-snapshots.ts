/**
 * The state disk's snapshots and their schedule (issue 16), beside the instance routes:
 *
 *   GET  /v1/instances/:id/snapshots          the schedule, and the snapshots the newest successful `snapshots` job
 *                                             listed in the cloud (with `listedAt`), plus the newest job's state
 *   POST /v1/instances/:id/snapshots/refresh  enqueue a `snapshots` job (202; the one already queued or running if any)
 *
 * Listing needs the user's short-lived cloud credentials, which only a worker has, so the API never calls the
 * cloud itself here: the worker's job stores the list as its result (docs/jobs.md), and this route serves it.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, scopedGroup } from "../auth/route-groups";
import type { Cloud, Instance, Job } from "../db/schema";
import { stateDiskIdOf } from "../engine/state-snapshots";
import { notFound } from "../http/errors";
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { latestInstanceJobs } from "../jobs/instance-jobs-repo";
import { enqueueSnapshotListing } from "../jobs/instances";
import { findUserInstance } from "../jobs/instances-repo";
import { jobView, jobViewSchema } from "../jobs/views";

const snapshotSchema = z.object({
  id: z.string().describe("The cloud's id of the snapshot (DigitalOcean snapshot id, `snap-...`, GCP snapshot name)"),
  createdAt: z.string().describe("When the cloud started it, ISO 8601 UTC"),
  name: z.string().optional(),
  sizeGiB: z.number().optional().describe("Size of the disk it restores, GiB"),
  status: z.string().optional().describe("The cloud's word for its state, lower case (`completed`, `pending`, `ready`...); DigitalOcean lists finished ones only"),
  source: z.enum(["schedule", "manual", "unknown"]).describe("`schedule`: taken by the stack's schedule; `manual`: anything else; `unknown`: the cloud does not say"),
});

const scheduleSchema = z
  .object({
    enabled: z.boolean(),
    frequency: z.enum(["daily", "weekly"]).optional(),
    hourUtc: z.number().int().optional(),
    weekday: z.string().optional(),
    retain: z.number().int().optional(),
  })
  .nullable()
  .describe("The stack's `snapshots` config; null for an instance created before it was stored (the default schedule)");

const TAKEN_BY: Record<Cloud, string> = {
  digitalocean: "ClawStack's snapshot sweep (DigitalOcean has no schedule for volumes)",
  aws: "AWS Data Lifecycle Manager (the stack's lifecycle policy)",
  gcp: "a GCP snapshot schedule (the stack's resource policy on the disk)",
};

const snapshotsAnswer = z.object({
  schedule: scheduleSchema,
  scheduleSummary: z.string().nullable().describe("The stack's `snapshots` output (the schedule as deployed), null before the first `up`"),
  takenBy: z.string().describe("What takes the scheduled snapshots on this cloud"),
  stateDiskId: z.string().nullable().describe("The stack's `stateDiskId` output; null: nothing to list yet (run `up`)"),
  listedAt: z.string().nullable().describe("When the snapshots below were listed in the cloud; null: never"),
  snapshots: z.array(snapshotSchema).describe("The state disk's snapshots at `listedAt`, newest first (at most 500)"),
  total: z.number().int().describe("How many snapshots the disk had at `listedAt`"),
  listing: jobViewSchema.omit({ result: true }).nullable().describe("The newest `snapshots` job (queued, running, or how it ended); null: never listed"),
});

type ListingResult = { listedAt: string; stateDiskId: string; snapshots: z.infer<typeof snapshotSchema>[]; total: number };

function listingOf(job: Job | undefined): ListingResult | undefined {
  if (!job?.result) return undefined;
  const parsed = JSON.parse(job.result) as Partial<ListingResult>;
  if (typeof parsed.listedAt !== "string" || !Array.isArray(parsed.snapshots)) return undefined;
  return { listedAt: parsed.listedAt, stateDiskId: String(parsed.stateDiskId ?? ""), snapshots: parsed.snapshots, total: Number(parsed.total ?? parsed.snapshots.length) };
}

function scheduleOf(config: Record<string, unknown>): z.infer<typeof scheduleSchema> {
  const schedule = config.snapshots as Record<string, unknown> | undefined;
  if (!schedule || typeof schedule.enabled !== "boolean") return null;
  return scheduleSchema.unwrap().parse({
    enabled: schedule.enabled,
    ...(schedule.frequency === "daily" || schedule.frequency === "weekly" ? { frequency: schedule.frequency } : {}),
    ...(typeof schedule.hourUtc === "number" ? { hourUtc: schedule.hourUtc } : {}),
    ...(typeof schedule.weekday === "string" ? { weekday: schedule.weekday } : {}),
    ...(typeof schedule.retain === "number" ? { retain: schedule.retain } : {}),
  });
}

export const instanceSnapshotRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(scopedGroup(routes));
};

const routes: FastifyPluginAsyncZod = async (app) => {
  async function ownInstance(userId: string, id: string): Promise<Instance> {
    const instance = await findUserInstance(app.db, userId, id);
    if (!instance) throw notFound(`instance \`${id}\``);
    return instance;
  }

  app.get(
    "/v1/instances/:id/snapshots",
    {
      config: { scope: "instances:read" },
      schema: {
        tags: ["instances"],
        summary:
          "The state disk's snapshot schedule and its snapshots as last listed in the cloud (`listedAt`); `POST .../snapshots/refresh` lists them again",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        response: { 200: snapshotsAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(principalOf(request).userId, request.params.id);
      const config = JSON.parse(instance.config) as Record<string, unknown>;
      const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
      const { latest, succeeded } = await latestInstanceJobs(app.db, instance.id, "snapshots");
      const listed = listingOf(succeeded);
      const stateDiskId = stateDiskIdOf(outputs) ?? null;
      // A list of another disk (the stack replaced it since) is not this disk's: it is not shown.
      const current = listed && stateDiskId !== null && listed.stateDiskId === stateDiskId ? listed : undefined;
      let listing = null;
      if (latest) {
        const { result: _result, ...view } = jobView(latest);
        void _result;
        listing = view;
      }
      return {
        schedule: scheduleOf(config),
        scheduleSummary: typeof outputs.snapshots === "string" ? outputs.snapshots : null,
        takenBy: TAKEN_BY[instance.cloud],
        stateDiskId,
        listedAt: current?.listedAt ?? null,
        snapshots: current?.snapshots ?? [],
        total: current?.total ?? 0,
        listing,
      };
    },
  );

  app.post(
    "/v1/instances/:id/snapshots/refresh",
    {
      config: { scope: "instances:read", audit: "instance.snapshots.refresh" },
      schema: {
        tags: ["instances"],
        summary:
          "List the state disk's snapshots in the cloud again: enqueues a read-only `snapshots` job (or answers the one queued or running); 409 without a `stateDiskId` output or while another operation holds the stack",
        security: bearerSecurity,
        params: idParamsOf("inst"),
        response: { 202: z.object({ job: jobViewSchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const instance = await ownInstance(principalOf(request).userId, request.params.id);
      request.auditTarget = instance.id;
      const { job, created } = await enqueueSnapshotListing(app.db, instance, (work) => app.audited(request, 202, work));
      if (created) app.jobs.wake();
      return reply.code(202).send({ job: jobView(job) });
    },
  );
};
