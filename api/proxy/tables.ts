/**
 * Row types of the proxy's table and the instance health columns (migration
 * `007_gateway_proxy.ts`). The health columns are not merged into
 * `InstancesTable`: every place that builds an instance row would have to
 * name them, though the migration gives them defaults. They are read and
 * written through `withHealth(db)`, a view of the same database that knows them.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database, Timestamp } from "../db/schema";
import type { InstancesTable } from "../jobs/tables";

export type HealthStatus = "unknown" | "up" | "down" | "cert_mismatch";
export type CertState = "match" | "mismatch";

export interface GatewayTicketsTable {
  ticket_hash: string;
  user_id: string;
  instance_id: string;
  api_key_id: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

declare module "../db/schema" {
  interface Database {
    gateway_tickets: GatewayTicketsTable;
  }
}

export interface InstanceHealthColumns {
  health_status: HealthStatus;
  health_checked_at: Timestamp | null;
  health_last_seen_at: Timestamp | null;
  health_latency_ms: number | null;
  health_cert_state: CertState | null;
  health_seen_cert_sha256: string | null;
}

export interface HealthDatabase extends Omit<Database, "instances"> {
  instances: InstancesTable & InstanceHealthColumns;
}

/** The same connection, typed with the health columns (they exist once migration 007 ran). */
export function withHealth(db: Kysely<Database> | Transaction<Database>): Kysely<HealthDatabase> {
  return db as unknown as Kysely<HealthDatabase>;
}
