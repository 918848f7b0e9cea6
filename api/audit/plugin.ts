/**
 * The audit plugin: decorates `app.audit` and `app.audited`, and makes sure
 * one entry exists per state-changing request (any method but
 * GET/HEAD/OPTIONS), per request made with an agent API key (key use), and
 * per route that asks for it with `config: { audit: "action.name" }` (e.g.
 * credential reads). Routes name the target with `request.auditTarget = id`;
 * login sets `request.auditActor` (no principal exists yet).
 *
 * Fail closed, in two ways:
 * - a change is written with `app.audited(request, status, async (trx) => ...)`:
 *   the request's entry (result `ok`) is inserted in the same transaction as
 *   the change, so the change commits only together with its entry, and a
 *   failed insert rolls the change back and answers 500;
 * - every other audited answer (refusals, failures, agent reads) gets its
 *   entry in `onSend`, before the answer leaves; if it cannot be written, the
 *   answer becomes a 500 instead.
 * A change's entry gets the answer's final status, size and latency in
 * `onSend`; if that last update fails, it is logged (the entry itself, and
 * the change, are already committed).
 */
import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Transaction } from "kysely";
import type { Database } from "../db/schema";
import { AuditLog, type AuditRecord, resultOfStatus } from "./audit-log";

declare module "fastify" {
  interface FastifyInstance {
    audit: AuditLog;
    /**
     * Runs `change` in one transaction together with the request's audit
     * entry (result `ok`, status `status`, or `status(value)`): both commit or
     * neither. Set `request.auditTarget` (and `auditActor`) before `change`
     * returns. Never use `app.db` inside `change` (on SQLite it waits for the
     * transaction's own connection).
     */
    audited<T>(request: FastifyRequest, status: number | ((value: T) => number), change: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  }
  interface FastifyRequest {
    auditTarget: string | null;
    auditActor: string | null;
    /** The entry `app.audited` wrote with the change (null: none yet). */
    auditEntryId: number | null;
    /** The entry of this request could not be written: the answer is the 500 that says so. */
    auditFailed: boolean;
  }
  interface FastifyContextConfig {
    /** The audit action name of this route (default: `METHOD /route/url`). */
    audit?: string;
  }
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The entry of `request` as far as it is known now. */
function entryOf(request: FastifyRequest, statusCode: number, latencyMs: number): AuditRecord {
  return {
    action: request.routeOptions.config.audit ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
    result: resultOfStatus(statusCode),
    actorUserId: request.principal?.userId ?? request.auditActor,
    actorKind: request.principal?.kind ?? (request.auditActor ? "user" : "anonymous"),
    apiKeyId: request.principal?.apiKeyId ?? null,
    target: request.auditTarget,
    statusCode,
    bytesIn: contentLength(request),
    latencyMs,
    ip: request.ip,
    requestId: request.id,
  };
}

export const auditPlugin = fp(
  async (app) => {
    app.decorate("audit", new AuditLog(app.db));
    app.decorateRequest("auditTarget", null);
    app.decorateRequest("auditActor", null);
    app.decorateRequest("auditEntryId", null);
    app.decorateRequest("auditFailed", false);

    app.decorate("audited", async function audited<T>(
      request: FastifyRequest,
      status: number | ((value: T) => number),
      change: (trx: Transaction<Database>) => Promise<T>,
    ): Promise<T> {
      const started = performance.now();
      let entryId: number | undefined;
      const value = await app.db.transaction().execute(async (trx) => {
        const result = await change(trx);
        const statusCode = typeof status === "number" ? status : status(result);
        entryId = await app.audit.record(entryOf(request, statusCode, performance.now() - started), trx);
        return result;
      });
      request.auditEntryId = entryId ?? null;
      return value;
    });

    app.addHook("onSend", async (request, reply, payload) => {
      const routeUrl = request.routeOptions.url;
      if (request.auditEntryId !== null) {
        const entryId = request.auditEntryId;
        request.auditEntryId = null;
        try {
          await app.audit.complete(entryId, {
            result: resultOfStatus(reply.statusCode),
            statusCode: reply.statusCode,
            bytesOut: payloadBytes(payload),
            latencyMs: reply.elapsedTime,
          });
        } catch (error) {
          request.log.warn({ err: error, auditEntryId: entryId }, "the audit entry was written with the change; its answer size and latency could not be added");
        }
        return payload;
      }
      if (routeUrl === undefined || reply.statusCode === 429 || request.auditFailed) return payload;
      const isAgent = request.principal?.kind === "agent";
      if (READ_METHODS.has(request.method) && !isAgent && request.routeOptions.config.audit === undefined) return payload;
      try {
        await app.audit.record({ ...entryOf(request, reply.statusCode, reply.elapsedTime), bytesOut: payloadBytes(payload) });
      } catch (error) {
        request.log.error({ err: error }, "audit entry could not be written");
        // An answer that is already a failure stands (nothing was changed); any other becomes one.
        if (reply.statusCode >= 500) return payload;
        request.auditFailed = true;
        throw new Error("the audit entry of this request could not be written", { cause: error });
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
