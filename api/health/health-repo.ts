/** SQL for the gateway health columns of instances (migration 007, through `withHealth`). */
import type { Kysely, Transaction } from "kysely";
import { type CertState, type Database, type HealthStatus, withHealth } from "../db/schema";

type Db = Kysely<Database> | Transaction<Database>;

/** What one check of a gateway saw. */
export interface HealthObservation {
  status: Exclude<HealthStatus, "unknown">;
  latencyMs: number | null;
  certState: CertState | null;
  presentedSha256: string | null;
}

export interface HealthTarget {
  id: string;
  user_id: string;
  outputs: string | null;
  tls_fingerprint: string | null;
  health_status: HealthStatus;
}

/** Every registered instance that is not being or has not been destroyed. */
export function listHealthTargets(db: Db): Promise<HealthTarget[]> {
  return withHealth(db)
    .selectFrom("instances")
    .select(["id", "user_id", "outputs", "tls_fingerprint", "health_status"])
    .where("registered_at", "is not", null)
    .where("status", "not in", ["destroying", "destroyed", "stopping", "stopped", "starting", "rebooting"])
    .execute();
}

/** Stores what one check saw at `at` (the last-seen time and latency only when the gateway was up). */
export async function recordHealth(db: Db, instanceId: string, seen: HealthObservation, at: string): Promise<void> {
  await withHealth(db)
    .updateTable("instances")
    .set({
      health_status: seen.status,
      health_checked_at: at,
      ...(seen.status === "up" ? { health_last_seen_at: at, health_latency_ms: seen.latencyMs } : {}),
      health_cert_state: seen.certState,
      health_seen_cert_sha256: seen.presentedSha256,
    })
    .where("id", "=", instanceId)
    .execute();
}
