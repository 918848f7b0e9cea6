/**
 * SQL for an instance's health history: the checker audits each change of a gateway's status as
 * `instance.health.<status>` with actor `system` and the instance as target (api/health/gateway-health.ts).
 * Read newest first through the index `audit_log_target` (migration 010).
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/schema";

type Db = Kysely<Database> | Transaction<Database>;

export interface HealthTransition {
  id: number;
  at: string;
  action: string;
  result: string;
  latency_ms: number;
}

export const HEALTH_ACTION_PREFIX = "instance.health.";

export function listHealthTransitions(db: Db, instanceId: string, page: { limit: number; beforeId?: number }): Promise<HealthTransition[]> {
  let select = db
    .selectFrom("audit_log")
    .select(["id", "at", "action", "result", "latency_ms"])
    .where("target", "=", instanceId)
    .where("actor_kind", "=", "system")
    .where("action", "like", `${HEALTH_ACTION_PREFIX}%`)
    .orderBy("id", "desc")
    .limit(page.limit);
  if (page.beforeId !== undefined) select = select.where("id", "<", page.beforeId);
  return select.execute() as Promise<HealthTransition[]>;
}
