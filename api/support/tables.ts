/**
 * The zero-access instance columns (migration `008_zero_access.ts`; its
 * tables are in api/db/schema.ts). Like the health columns (`withHealth`
 * there), they are not in `InstancesTable`: every place that builds an
 * instance row would have to name them. Only the repository of this folder
 * (api/support/repo.ts) reads and writes them, through `zeroAccessDb(db)`.
 *
 * Nothing here holds a secret in plaintext: device keys are public halves,
 * the host token is stored as its SHA-256, ClawChat keys are a sealed box the
 * API holds no key for, support commands are command lines and byte counts
 * (never output).
 */
import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, DeviceKeysTable, OperatorSupportKeysTable, SupportCommandsTable, SupportGrantsTable } from "../db/schema";

export interface ZeroAccessInstanceColumns {
  /** JSON `UserPublicKey[]` pinned when the instance was created; null: none (created before any device key). */
  pinned_keys: string | null;
  /** hex SHA-256 of the host's `cshost_` token. */
  host_token_hash: string | null;
  /** A gateway token rotation the host is asked to carry out (migration 011); null: none pending. */
  gateway_rotation_requested_at: string | null;
}

export interface ZeroAccessDatabase extends Omit<Database, "instances"> {
  instances: Database["instances"] & ZeroAccessInstanceColumns;
}

/** The same connection (or transaction), typed with the zero-access instance columns (they exist once migration 008 ran). */
export function zeroAccessDb(db: Kysely<Database> | Transaction<Database>): Kysely<ZeroAccessDatabase> {
  return db as unknown as Kysely<ZeroAccessDatabase>;
}

export type DeviceKey = Selectable<DeviceKeysTable>;
export type SupportGrantRow = Selectable<SupportGrantsTable>;
export type SupportCommandRow = Selectable<SupportCommandsTable>;
export type OperatorSupportKey = Selectable<OperatorSupportKeysTable>;
