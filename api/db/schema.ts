/**
 * The database schema as Kysely sees it: every table of the API, one
 * interface each, listed in one `Database` interface. The same schema runs on
 * SQLite and PostgreSQL, so column types stay portable: ids are text,
 * timestamps are ISO-8601 text (UTC, sortable), binary values are base64 text,
 * booleans are nullable timestamps (`revoked_at`) or 0/1, JSON is text.
 *
 * A new table: a migration `api/db/migrations/00N_<name>.ts` exporting
 * `up(db)` / `down(db)` (run in name order at boot, on both engines;
 * `api/db/portable.ts` has the few dialect-specific column types), and its
 * interface here, in `Database`. Only repositories (`*-repo.ts` and the
 * storage modules named in docs/architecture.md) query them.
 *
 * No table or column may hold chat content, prompts, files or a plaintext
 * secret: credentials are ciphertext only, tokens and keys are stored hashed.
 */
import type { Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from "kysely";
import type { CloudName } from "../../core/presets";
import type { JobOperation } from "../engine/types";

/** ISO-8601 UTC timestamp text, e.g. `2026-11-23T09:31:26.123Z`. */
export type Timestamp = string;

export type Role = "user" | "admin";

export interface PlansTable {
  id: string;
  name: string;
  max_instances: number;
  created_at: Timestamp;
}

export interface UsersTable {
  id: string;
  email: string;
  /** argon2id encoded hash (`$argon2id$v=19$...`). */
  password_hash: string;
  role: Role;
  plan_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Access tokens issued before this are refused (password change, sign-out everywhere); null: none yet. */
  tokens_valid_after?: Timestamp | null;
}

/**
 * A user's vault key material: the random HKDF salt from which, with the
 * master key of `key_version`, the per-user wrapping key is derived. Deleting
 * this row (it cascades with the user) makes every wrapped data key of that
 * user unrecoverable: crypto-erasure.
 */
export interface UserKeysTable {
  user_id: string;
  /** base64, 32 random bytes. */
  key_salt: string;
  created_at: Timestamp;
}

/** One refresh token of a login session family. Only the SHA-256 of the token is stored. */
export interface SessionsTable {
  id: string;
  user_id: string;
  family_id: string;
  /** hex SHA-256 of the refresh token. */
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** Set when this token was exchanged for the next one; presenting it again is reuse. */
  spent_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** The public, identifiable part of the key: `clk_<id>`. */
  prefix: string;
  /** hex SHA-256 of the whole key. */
  key_hash: string;
  /** JSON array of scope names. */
  scopes: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

/** A credential is for one cloud (`core/presets.ts` `CLOUDS`). */
export type CredentialKind = CloudName;

/**
 * A cloud credential. Secret material exists only as AES-256-GCM ciphertext
 * under a per-credential data key, itself wrapped by the user's key. AWS
 * credentials (role ARN + external ID) hold nothing secret: their cipher
 * columns are null and `metadata` carries the ARN.
 */
export interface CredentialsTable {
  id: string;
  user_id: string;
  kind: CredentialKind;
  name: string;
  /** JSON of non-secret, displayable facts (AWS role ARN, GCP audience...). */
  metadata: string;
  ciphertext: string | null;
  iv: string | null;
  auth_tag: string | null;
  /** base64 of iv | wrapped data key | tag. */
  wrapped_key: string | null;
  /** Master key version the data key is wrapped under. */
  key_version: number | null;
  /** `local` (HKDF from the master keyring) or `kms`. */
  wrap_kind: string | null;
  /** Set in passphrase mode: the argon2id salt (base64) of the user's passphrase. */
  passphrase_salt: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  last_tested_at: Timestamp | null;
  last_test_ok: number | null;
}

/** Metadata of an action. Never a body, a secret or content. Append-only through the API. */
export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor_user_id: string | null;
  /** `user`, `agent`, `anonymous` or `system`. */
  actor_kind: string;
  api_key_id: string | null;
  action: string;
  target: string | null;
  /** `ok`, `denied`, `invalid`, `error`. */
  result: string;
  status_code: number | null;
  bytes_in: number;
  bytes_out: number;
  latency_ms: number;
  ip: string | null;
  request_id: string | null;
}

/** A single-use invitation to register (`CLAWSTACK_REGISTRATION=invite`); only the token's hash is stored. */
export interface InvitesTable {
  id: string;
  /** Normalized (trimmed, lower-case), as account emails are. */
  email: string;
  token_hash: string;
  created_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by: string | null;
}

/** One API or worker process's key heartbeat (api/vault/key-holders.ts). */
export interface KeyHoldersTable {
  process_id: string;
  kind: "api" | "worker";
  host: string;
  pid: number;
  started_at: Timestamp;
  last_seen: Timestamp;
  stopped_at: Timestamp | null;
  wrap_kind: string;
  key_versions: string;
  write_version: number | null;
  jwt_versions: string | null;
  jwt_write_version: number | null;
  jwt_write_since: Timestamp | null;
}

export interface KeyRetirementsTable {
  purpose: string;
  version: number;
  retired_at: Timestamp;
}

/** The cloud of an instance (`core/presets.ts` `CLOUDS`). */
export type Cloud = CloudName;

/**
 * - `pending`: recorded, first `up` queued;
 * - `provisioning`, `refreshing`, `destroying`: a job is running on the stack;
 * - `ready`: the last `up`/`refresh` succeeded;
 * - `failed`: the last `up` failed (see the job's error);
 * - `destroyed`: resources destroyed and stack removed.
 */
export type InstanceStatus =
  | "pending"
  | "provisioning"
  | "ready"
  | "failed"
  | "refreshing"
  | "destroying"
  | "destroyed"
  | "stopping"
  | "stopped"
  | "starting"
  | "rebooting";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";


export interface InstancesTable {
  id: string;
  user_id: string;
  cloud: Cloud;
  region: string;
  size: string;
  credential_id: string | null;
  config: string;
  stack_name: string;
  status: InstanceStatus;
  outputs: string | null;
  last_job_id: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  gateway_token_ref: string | null;
  tls_fingerprint: string | null;
  registered_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface JobsTable {
  id: string;
  instance_id: string;
  user_id: string;
  stack_name: string;
  operation: JobOperation;
  state: JobState;
  stack_lock: string | null;
  attempt: number;
  max_attempts: number;
  memory_mb: number;
  run_after: Timestamp;
  lease_owner: string | null;
  lease_expires_at: Timestamp | null;
  cancel_requested: number;
  takeover: number;
  result: string | null;
  error: string | null;
  error_code: string | null;
  error_field: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  at: Timestamp;
  type: string;
  data: string;
}

export interface RegistrationTokensTable {
  token_hash: string;
  instance_id: string;
  job_id: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

/** A secret a registered host handed over (its gateway token), sealed like a vault credential (api/vault/sealing.ts). */
export interface InstanceSecretsTable {
  id: string;
  instance_id: string;
  user_id: string;
  kind: "gateway-token";
  ciphertext: string;
  iv: string;
  auth_tag: string;
  wrapped_key: string;
  key_version: number;
  wrap_kind: string;
  created_at: Timestamp;
}

/** One run per interval of a scheduled task across every worker (api/jobs/scheduler-slot.ts). */
export interface SchedulerRunsTable {
  task: string;
  slot: string;
  holder: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
}

/** A single-use ticket for the WebSocket pass-through (only its hash). */
export interface GatewayTicketsTable {
  ticket_hash: string;
  user_id: string;
  instance_id: string;
  api_key_id: string | null;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

/** Zero access (migration `008_zero_access.ts`, docs/zero-access.md): public halves, signed statements, sealed boxes, no output. */
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

/** A gateway setup grant (migration 014, api/support/gateway-admin.ts): statement and signature as signed. */
export interface GatewayAdminGrantsTable {
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
  created_at: Timestamp;
  revoked_at: Timestamp | null;
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
  /** Where the grant's SSH rule in the host's cloud firewall is (migration 012, api/support/cloud-firewall.ts). */
  cloud_firewall: CloudFirewallState;
  /** The last cloud failure's message; null once an attempt succeeded. */
  cloud_firewall_error: string | null;
}

/**
 * A grant's rule in the host's cloud firewall: `opening` (wanted, not yet confirmed), `open`, `closing`
 * (revoked or ended, removal pending), `closed`, `failed` (the last cloud call failed; it may be open).
 */
export type CloudFirewallState = "opening" | "open" | "closing" | "closed" | "failed";

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

/** Every table of the API. */
export interface Database {
  plans: PlansTable;
  users: UsersTable;
  user_keys: UserKeysTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  credentials: CredentialsTable;
  audit_log: AuditLogTable;
  invites: InvitesTable;
  key_holders: KeyHoldersTable;
  key_retirements: KeyRetirementsTable;
  instances: InstancesTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  registration_tokens: RegistrationTokensTable;
  instance_secrets: InstanceSecretsTable;
  scheduler_runs: SchedulerRunsTable;
  gateway_tickets: GatewayTicketsTable;
  device_keys: DeviceKeysTable;
  support_grants: SupportGrantsTable;
  gateway_admin_grants: GatewayAdminGrantsTable;
  support_commands: SupportCommandsTable;
  clawchat_keys: ClawchatKeysTable;
  operator_support_keys: OperatorSupportKeysTable;
}

export type HealthStatus = "unknown" | "up" | "down" | "cert_mismatch";
export type CertState = "match" | "mismatch";

/**
 * The instance health columns (migration `007_gateway_proxy.ts`). They are
 * not in `InstancesTable`: every place that builds an instance row would have
 * to name them, though the migration gives them defaults. They are read and
 * written through `withHealth(db)`, a view of the same database that knows them.
 */
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

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type Credential = Selectable<CredentialsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type Invite = Selectable<InvitesTable>;
export type Instance = Selectable<InstancesTable>;
export type Job = Selectable<JobsTable>;
export type JobEvent = Selectable<JobEventsTable>;
export type InstanceSecret = Selectable<InstanceSecretsTable>;
