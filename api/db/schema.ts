/**
 * The database schema as Kysely sees it: one interface per table, one
 * `Database` interface listing them. The same schema runs on SQLite and
 * PostgreSQL, so column types stay portable: ids are text, timestamps are
 * ISO-8601 text (UTC, sortable), binary values are base64 text, booleans are
 * nullable timestamps (`revoked_at`), JSON is text.
 *
 * EXTENDING (the job queue: instances, jobs, job_events, registration tokens):
 *   1. write `api/db/migrations/00N_<name>.ts` exporting `up(db)` / `down(db)`
 *      (the migrator runs every file in that folder in name order, on both
 *      engines; `api/db/portable.ts` has the few dialect-specific column types);
 *   2. declare the tables in your own module by augmenting `Database`:
 *        declare module "../db/schema" {
 *          interface Database { jobs: JobsTable; job_events: JobEventsTable }
 *        }
 *      (TypeScript merges interface declarations, so `app.db` sees them
 *      everywhere: the module is part of the compiled program).
 *
 * No table or column may hold chat content, prompts, files or a plaintext
 * secret: credentials are ciphertext only, tokens and keys are stored hashed.
 */
import type { Generated, Insertable, Selectable, Updateable } from "kysely";

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

export type CredentialKind = "aws" | "gcp" | "digitalocean";

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

export interface CoreTables {
  plans: PlansTable;
  users: UsersTable;
  user_keys: UserKeysTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  credentials: CredentialsTable;
  audit_log: AuditLogTable;
}

/** Every table of the API. Other modules add theirs by interface augmentation (see the top). */
export interface Database extends CoreTables {}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type Credential = Selectable<CredentialsTable>;
export type AuditEntry = Selectable<AuditLogTable>;
