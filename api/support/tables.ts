/**
 * The zero-access tables (migration `008_zero_access.ts`) as Kysely sees
 * them. Like the health columns (`withHealth` in api/db/schema.ts), the two
 * instance columns are not in `InstancesTable`: every place that builds an
 * instance row would have to name them. Only the repository of this folder
 * (api/support/repo.ts) reads and writes them, through `zeroAccessDb(db)`.
 *
 * Nothing here holds a secret in plaintext: device keys are public halves,
 * the host token is stored as its SHA-256, ClawChat keys are a sealed box the
 * API holds no key for, support commands are command lines and byte counts
 * (never output).
 */
import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, Timestamp } from "../db/schema";

export interface DeviceKeysTable {
  id: string;
  user_id: string;
  name: string;
  fingerprint: string;
  signing: string;
  sealing: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface ZeroAccessInstanceColumns {
  /** JSON `UserPublicKey[]` pinned when the instance was created; null: none (created before any device key). */
  pinned_keys: string | null;
  /** hex SHA-256 of the host's `cshost_` token. */
  host_token_hash: string | null;
}

export interface SupportGrantsTable {
  id: string;
  instance_id: string;
  user_id: string;
  statement: string;
  signature: string;
  signer: string;
  nonce: string;
  not_before: Timestamp;
  not_after: Timestamp;
  reason: string;
  /** JSON string[]. */
  sources: string;
  /** JSON string[] (OpenSSH `SHA256:` fingerprints of the statement's support keys). */
  support_key_fingerprints: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface SupportCommandsTable {
  instance_id: string;
  seq: number;
  grant_id: string;
  operator: string;
  operator_user_id: string | null;
  command_line: string;
  started_at: Timestamp;
  ended_at: Timestamp;
  exit_status: number;
  /** bigint on PostgreSQL (returned as text by `pg`): read through `Number()`. */
  stdout_bytes: number | string;
  stderr_bytes: number | string;
  received_at: Timestamp;
}

export interface ClawchatKeysTable {
  instance_id: string;
  /** JSON SealedBox. */
  box: string;
  updated_at: Timestamp;
}

export interface OperatorSupportKeysTable {
  id: string;
  user_id: string;
  public_key: string;
  fingerprint: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface ZeroAccessDatabase extends Omit<Database, "instances"> {
  instances: Database["instances"] & ZeroAccessInstanceColumns;
  device_keys: DeviceKeysTable;
  support_grants: SupportGrantsTable;
  support_commands: SupportCommandsTable;
  clawchat_keys: ClawchatKeysTable;
  operator_support_keys: OperatorSupportKeysTable;
}

/** The same connection (or transaction), typed with the zero-access tables (they exist once migration 008 ran). */
export function zeroAccessDb(db: Kysely<Database> | Transaction<Database>): Kysely<ZeroAccessDatabase> {
  return db as unknown as Kysely<ZeroAccessDatabase>;
}

export type DeviceKey = Selectable<DeviceKeysTable>;
export type SupportGrantRow = Selectable<SupportGrantsTable>;
export type SupportCommandRow = Selectable<SupportCommandsTable>;
export type OperatorSupportKey = Selectable<OperatorSupportKeysTable>;
