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
import { bearerSecurity, errorResponses, idParamsOf } from "../http/schemas";
import { latestInstanceJobs } from "../jobs/instance-jobs-repo";
import { enqueueSnapshotListing } from "../jobs/instances";
import { ownInstance } from "./own-instance";
import { instanceSnapshotsAnswer, instanceSnapshotsView, jobView, jobViewSchema } from "../jobs/views";

export const instanceSnapshotRoutes: FastifyPluginAsyncZod = async (root) => {
  await root.register(scopedGroup(routes));
};

const routes: FastifyPluginAsyncZod = async (app) => {
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
        response: { 200: instanceSnapshotsAnswer, ...errorResponses },
      },
    },
    async (request) => {
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      return instanceSnapshotsView(instance, await latestInstanceJobs(app.db, instance.id, "snapshots"));
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
      const instance = await ownInstance(app.db, principalOf(request).userId, request.params.id);
      request.auditTarget = instance.id;
      const { job, created } = await enqueueSnapshotListing(app.db, instance, (work) => app.audited(request, 202, work));
      if (created) app.jobs.wake();
      return reply.code(202).send({ job: jobView(job) });
    },
  );
};
