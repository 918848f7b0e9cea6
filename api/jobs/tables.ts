/**
 * Row types of the job queue's tables (migration `002_jobs.ts`), merged into
 * the API's `Database` interface so `app.db` sees them everywhere.
 */
import type { Selectable } from "kysely";
import type { Timestamp } from "../db/schema";
import type { Operation } from "../engine/types";

export type Cloud = "aws" | "gcp" | "digitalocean";

/**
 * - `pending`: recorded, first `up` queued;
 * - `provisioning`, `refreshing`, `destroying`: a job is running on the stack;
 * - `ready`: the last `up`/`refresh` succeeded;
 * - `failed`: the last `up` failed (see the job's error);
 * - `destroyed`: resources destroyed and stack removed.
 */
export type InstanceStatus = "pending" | "provisioning" | "ready" | "failed" | "refreshing" | "destroying" | "destroyed";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const ACTIVE_JOB_STATES: readonly JobState[] = ["queued", "running"];

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
  operation: Operation;
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

/** A secret a registered host handed over (its gateway token), sealed like a vault credential. */
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

export interface JobsTables {
  instances: InstancesTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  registration_tokens: RegistrationTokensTable;
  instance_secrets: InstanceSecretsTable;
}

declare module "../db/schema" {
  interface Database extends JobsTables {}
}

export type Instance = Selectable<InstancesTable>;
export type Job = Selectable<JobsTable>;
export type JobEvent = Selectable<JobEventsTable>;
