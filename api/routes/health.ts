/**
 * Liveness (`/healthz`): no auth, no database; also the bare baseline route of
 * the benchmark. Readiness (`/readyz`): 503 once the process drains for a
 * restart (SIGTERM with `CLAWSTACK_SHUTDOWN_DRAIN_MS`), for load balancers.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["meta"],
        summary: "Liveness probe",
        response: { 200: z.object({ status: z.literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["meta"],
        summary: "Readiness probe: 503 while the process drains before a restart",
        response: { 200: z.object({ status: z.literal("ready") }), 503: z.object({ status: z.literal("draining") }) },
      },
    },
    async (_request, reply) => (app.readiness.draining ? reply.code(503).send({ status: "draining" as const }) : { status: "ready" as const }),
  );
};
