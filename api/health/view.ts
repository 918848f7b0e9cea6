/** The health part of the instance view, from the columns of migration 007 (absent on a row built in memory: `unknown`). */
import type { Instance, InstanceHealthColumns } from "../db/schema";

/** Instances powered off (or on their way) on purpose: their health says `stopped`, never `down`. */
export const POWERED_DOWN_STATUSES = ["stopping", "stopped", "starting", "rebooting"] as const;

export function healthView(instance: Instance) {
  const row = instance as Instance & Partial<InstanceHealthColumns>;
  const stopped = (POWERED_DOWN_STATUSES as readonly string[]).includes(instance.status);
  return {
    status: stopped ? ("stopped" as const) : (row.health_status ?? "unknown"),
    checkedAt: row.health_checked_at ?? null,
    lastSeenAt: row.health_last_seen_at ?? null,
    latencyMs: row.health_latency_ms == null ? null : Number(row.health_latency_ms),
    certificate: row.health_cert_state ?? null,
  };
}
