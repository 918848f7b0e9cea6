/**
 * The audit log: metadata of every state-changing request, login, API-key
 * use and credential access (who, when, action, target, result, bytes,
 * latency). Never a body, a secret or content. Append-only: the API has no
 * route that edits or deletes entries (`complete` only fills in the answer's
 * size and latency on the entry its own request wrote).
 *
 *   app.audit.record({ action: "instance.create", actorUserId, target: id, result: "ok" })
 */
import type { Kysely } from "kysely";
import { nowIso } from "../db/ids";
import type { AuditEntry, Database } from "../db/schema";

export type AuditResult = "ok" | "denied" | "invalid" | "error";

export interface AuditRecord {
  action: string;
  result: AuditResult;
  actorUserId?: string | null;
  actorKind?: "user" | "agent" | "anonymous" | "system";
  apiKeyId?: string | null;
  target?: string | null;
  statusCode?: number | null;
  bytesIn?: number;
  bytesOut?: number;
  latencyMs?: number;
  ip?: string | null;
  requestId?: string | null;
}

export interface AuditQuery {
  /** Only this actor's entries; undefined for all (admins). */
  actorUserId?: string;
  action?: string;
  /** Entries with an id below this (paging backwards). */
  beforeId?: number;
  limit: number;
}

export class AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends an entry and returns its id. Pass the transaction of the change
   * it records, so both commit or neither does.
   */
  async record(entry: AuditRecord, db: Kysely<Database> = this.db): Promise<number> {
    const row = await db
      .insertInto("audit_log")
      .values({
        at: nowIso(),
        actor_user_id: entry.actorUserId ?? null,
        actor_kind: entry.actorKind ?? (entry.actorUserId ? "user" : "anonymous"),
        api_key_id: entry.apiKeyId ?? null,
        action: entry.action,
        target: entry.target ?? null,
        result: entry.result,
        status_code: entry.statusCode ?? null,
        bytes_in: entry.bytesIn ?? 0,
        bytes_out: entry.bytesOut ?? 0,
        latency_ms: Math.round((entry.latencyMs ?? 0) * 1000) / 1000,
        ip: entry.ip ?? null,
        request_id: entry.requestId ?? null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /**
   * Fills in what only the answer knows (final status, bytes sent, latency)
   * on the entry a request wrote in the transaction of its change.
   */
  async complete(id: number, answer: { result: AuditResult; statusCode: number; bytesOut: number; latencyMs: number }): Promise<void> {
    await this.db
      .updateTable("audit_log")
      .set({
        result: answer.result,
        status_code: answer.statusCode,
        bytes_out: answer.bytesOut,
        latency_ms: Math.round(answer.latencyMs * 1000) / 1000,
      })
      .where("id", "=", id)
      .execute();
  }

  list(query: AuditQuery): Promise<AuditEntry[]> {
    let select = this.db.selectFrom("audit_log").selectAll().orderBy("id", "desc").limit(query.limit);
    if (query.actorUserId !== undefined) select = select.where("actor_user_id", "=", query.actorUserId);
    if (query.action !== undefined) select = select.where("action", "=", query.action);
    if (query.beforeId !== undefined) select = select.where("id", "<", query.beforeId);
    return select.execute();
  }
}

/** The result an HTTP status stands for. */
export function resultOfStatus(status: number): AuditResult {
  if (status < 400) return "ok";
  if (status === 401 || status === 403) return "denied";
  if (status < 500) return "invalid";
  return "error";
}
