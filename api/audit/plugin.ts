/**
 * The audit plugin: decorates `app.audit` and writes one entry per
 * state-changing request (any method but GET/HEAD/OPTIONS), per request made
 * with an agent API key (key use), and per route that asks for it with
 * `config: { audit: "action.name" }` (e.g. credential reads). The entry is
 * written before the response leaves, so a client that sees the answer can
 * also see its entry. Routes name the target with `request.auditTarget = id`;
 * login sets `request.auditActor` (no principal exists yet).
 */
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AuditLog, resultOfStatus } from "./audit-log";

declare module "fastify" {
  interface FastifyInstance {
    audit: AuditLog;
  }
  interface FastifyRequest {
    auditTarget: string | null;
    auditActor: string | null;
  }
  interface FastifyContextConfig {
    /** The audit action name of this route (default: `METHOD /route/url`). */
    audit?: string;
  }
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export const auditPlugin = fp(
  async (app) => {
    app.decorate("audit", new AuditLog(app.db));
    app.decorateRequest("auditTarget", null);
    app.decorateRequest("auditActor", null);

    app.addHook("onSend", async (request, reply, payload) => {
      const routeUrl = request.routeOptions.url;
      const named = request.routeOptions.config.audit;
      const isAgent = request.principal?.kind === "agent";
      if (routeUrl === undefined || reply.statusCode === 429) return payload;
      if (READ_METHODS.has(request.method) && !isAgent && named === undefined) return payload;
      try {
        await app.audit.record({
          action: named ?? `${request.method} ${routeUrl}`,
          result: resultOfStatus(reply.statusCode),
          actorUserId: request.principal?.userId ?? request.auditActor,
          actorKind: request.principal?.kind ?? (request.auditActor ? "user" : "anonymous"),
          apiKeyId: request.principal?.apiKeyId ?? null,
          target: request.auditTarget,
          statusCode: reply.statusCode,
          bytesIn: contentLength(request),
          bytesOut: payloadBytes(payload),
          latencyMs: reply.elapsedTime,
          ip: request.ip,
          requestId: request.id,
        });
      } catch (error) {
        request.log.error({ err: error }, "audit entry could not be written");
      }
      return payload;
    });
  },
  { name: "clawstack-audit", dependencies: ["clawstack-db"] },
);

function contentLength(request: FastifyRequest): number {
  const header = request.headers["content-length"];
  const length = header === undefined ? 0 : Number(header);
  return Number.isFinite(length) ? length : 0;
}

function payloadBytes(payload: unknown): number {
  if (typeof payload === "string") return Buffer.byteLength(payload);
  if (Buffer.isBuffer(payload)) return payload.length;
  return 0;
}
