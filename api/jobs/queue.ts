/**
 * The job queue's storage: every state change of a job is one SQL statement
 * (or one transaction) guarded by a compare-and-set on its state and lease, so
 * any number of workers on any number of machines can share one PostgreSQL
 * database, and a worker that lost its lease can no longer write.
 *
 * - enqueue: the unique partial index `jobs_one_active_per_stack` refuses a
 *   second queued or running operation on a stack (`StackBusyError`, HTTP 409);
 * - claim: oldest eligible job that fits the worker's free memory, either
 *   queued and due, or running with an expired lease (takeover); on
 *   PostgreSQL `FOR UPDATE SKIP LOCKED`, on SQLite the single connection
 *   serializes claims;
 * - heartbeat: extends the lease, reports a cancel request, or says the lease is lost;
 * - finish / retry: only by the lease owner.
 */
import type { Kysely, Transaction } from "kysely";
import { newId } from "../db/ids";
import type { Database, InstanceStatus, Job, JobState } from "../db/schema";
import type { JobOperation } from "../engine/types";
import { appendEventIn, type JobEventData } from "./events";
import { getInstance, setInstanceStatus } from "./instances-repo";

export type Dialect = "sqlite" | "postgres";
export type Db = Kysely<Database> | Transaction<Database>;

/** A second operation on a stack that already has one queued or running. */
export class StackBusyError extends Error {
  constructor(
    readonly stackName: string,
    readonly activeJob: Pick<Job, "id" | "operation" | "state"> | undefined,
  ) {
    super(
      activeJob
        ? `the instance's stack already has a ${activeJob.state} \`${activeJob.operation}\` job (${activeJob.id}); wait for it or cancel it`
        : "the instance's stack already has an operation queued or running",
    );
    this.name = "StackBusyError";
  }
}

export interface EnqueueRequest {
  instanceId: string;
  userId: string;
  stackName: string;
  operation: JobOperation;
  memoryMb: number;
  maxAttempts: number;
}

/** Operations that change the stack hold its lock; an offline preview does not. */
export function locksStack(operation: JobOperation): boolean {
  return operation !== "preview";
}

export function now(): string {
  return new Date().toISOString();
}

function later(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/** Inserts a queued job. Throws `StackBusyError` when the stack already has an active operation. */
export async function enqueueJob(db: Db, request: EnqueueRequest): Promise<Job> {
  const at = now();
  const row = {
    id: newId("job"),
    instance_id: request.instanceId,
    user_id: request.userId,
    stack_name: request.stackName,
    operation: request.operation,
    state: "queued" as const,
    stack_lock: locksStack(request.operation) ? request.stackName : null,
    attempt: 0,
    max_attempts: request.maxAttempts,
    memory_mb: request.memoryMb,
    run_after: at,
    lease_owner: null,
    lease_expires_at: null,
    cancel_requested: 0,
    takeover: 0,
    result: null,
    error: null,
    error_code: null,
    error_field: null,
    created_at: at,
    started_at: null,
    finished_at: null,
    updated_at: at,
  };
  if (row.stack_lock) {
    // Checked first for a clear message; the unique index is what makes it true under races.
    const active = await activeStackJob(db, request.stackName);
    if (active) throw new StackBusyError(request.stackName, active);
  }
  try {
    await db.insertInto("jobs").values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new StackBusyError(request.stackName, undefined);
    throw error;
  }
  return row;
}

export async function activeStackJob(db: Db, stackName: string): Promise<Job | undefined> {
  return db
    .selectFrom("jobs")
    .selectAll()
    .where("stack_lock", "=", stackName)
    .where("state", "in", ["queued", "running"])
    .executeTakeFirst();
}

export function isUniqueViolation(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const code = (error as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

export interface ClaimRequest {
  workerId: string;
  /** Memory the worker has left: only jobs whose estimate fits are claimed. Undefined: any job (an idle worker). */
  freeMemoryMb: number | undefined;
  /** Operations the worker has no free slot for (a preview while its preview slots are taken). */
  excludeOperations?: JobOperation[];
  leaseMs: number;
}

/**
 * Claims one job: the oldest due queued job, or a running job whose lease
 * expired (its worker died). Returns it with `attempt` incremented and, for a
 * takeover, `takeover = 1`, or undefined when nothing fits.
 */
export async function claimJob(db: Kysely<Database>, dialect: Dialect, request: ClaimRequest): Promise<Job | undefined> {
  return db.transaction().execute(async (trx) => {
    const at = now();
    let query = trx
      .selectFrom("jobs")
      .select(["id", "state"])
      .where((eb) =>
        eb.or([
          eb.and([eb("state", "=", "queued"), eb("run_after", "<=", at)]),
          eb.and([eb("state", "=", "running"), eb("lease_expires_at", "<", at)]),
        ]),
      )
      .$if(request.freeMemoryMb !== undefined, (qb) => qb.where("memory_mb", "<=", Math.floor(request.freeMemoryMb!)))
      .$if((request.excludeOperations ?? []).length > 0, (qb) => qb.where("operation", "not in", request.excludeOperations!))
      .orderBy("run_after")
      .orderBy("created_at")
      .limit(1);
    if (dialect === "postgres") query = query.forUpdate().skipLocked();
    const candidate = await query.executeTakeFirst();
    if (!candidate) return undefined;
    const claimed = await trx
      .updateTable("jobs")
      .set((eb) => ({
        state: "running",
        lease_owner: request.workerId,
        lease_expires_at: later(request.leaseMs),
        attempt: eb("attempt", "+", 1),
        takeover: candidate.state === "running" ? 1 : 0,
        started_at: eb.fn.coalesce("started_at", eb.val(at)),
        updated_at: at,
      }))
      .where("id", "=", candidate.id)
      .where("state", "=", candidate.state)
      .where((eb) =>
        candidate.state === "running" ? eb("lease_expires_at", "<", at) : eb("run_after", "<=", at),
      )
      .returningAll()
      .executeTakeFirst();
    return claimed;
  });
}

export type HeartbeatResult = { held: true; cancelRequested: boolean } | { held: false };

/** Extends the lease; `held: false` means another worker took the job over (or it was finished). */
export async function heartbeat(db: Db, jobId: string, workerId: string, leaseMs: number): Promise<HeartbeatResult> {
  const row = await db
    .updateTable("jobs")
    .set({ lease_expires_at: later(leaseMs), updated_at: now() })
    .where("id", "=", jobId)
    .where("lease_owner", "=", workerId)
    .where("state", "=", "running")
    .returning(["cancel_requested"])
    .executeTakeFirst();
  return row ? { held: true, cancelRequested: row.cancel_requested === 1 } : { held: false };
}

export interface FinishRequest {
  state: Extract<JobState, "succeeded" | "failed" | "cancelled">;
  result?: unknown;
  error?: { code: string; message: string; field?: string | undefined };
  /** Instance changes applied in the same transaction. */
  instance?: { status: InstanceStatus; outputs?: Record<string, unknown> };
}

/**
 * Final state, written only by the lease owner, together with the job's
 * `result` event (one transaction: a finished job always has its result row).
 * Returns false when the lease was lost.
 */
export async function finishJob(
  db: Kysely<Database>,
  job: Pick<Job, "id" | "instance_id">,
  workerId: string,
  request: FinishRequest,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const at = now();
    const updated = await trx
      .updateTable("jobs")
      .set({
        state: request.state,
        result: request.result === undefined ? null : JSON.stringify(request.result),
        error: request.error?.message ?? null,
        error_code: request.error?.code ?? null,
        error_field: request.error?.field ?? null,
        lease_owner: null,
        lease_expires_at: null,
        finished_at: at,
        updated_at: at,
      })
      .where("id", "=", job.id)
      .where("lease_owner", "=", workerId)
      .where("state", "=", "running")
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return false;
    if (request.instance) await setInstanceStatus(trx, job.instance_id, request.instance.status, request.instance.outputs);
    await appendEventIn(trx, job.id, resultEvent(request.state, request.error));
    return true;
  });
}

/** Puts a job back in the queue after a retryable failure, due after `delayMs`. */
export async function requeueJob(
  db: Db,
  jobId: string,
  workerId: string,
  delayMs: number,
  error: { code: string; message: string },
): Promise<boolean> {
  const updated = await db
    .updateTable("jobs")
    .set({
      state: "queued",
      run_after: later(delayMs),
      lease_owner: null,
      lease_expires_at: null,
      takeover: 0,
      error: error.message,
      error_code: error.code,
      updated_at: now(),
    })
    .where("id", "=", jobId)
    .where("lease_owner", "=", workerId)
    .where("state", "=", "running")
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Marks a takeover's stale lock as cancelled, so a later retry does not cancel again. */
export async function clearTakeover(db: Db, jobId: string, workerId: string): Promise<void> {
  await db
    .updateTable("jobs")
    .set({ takeover: 0, updated_at: now() })
    .where("id", "=", jobId)
    .where("lease_owner", "=", workerId)
    .execute();
}

/** The `result` event of a final state (the error message is already redacted by whoever wrote it). */
function resultEvent(state: FinishRequest["state"], error: FinishRequest["error"]): JobEventData {
  return { type: "result", state, ...(error ? { error: error.message, errorCode: error.code } : {}) };
}

export type CancelOutcome = "cancelled" | "requested" | "finished" | "not_found";

/**
 * Cancels a queued job at once; asks the worker of a running job to stop (it
 * sees the request at its next heartbeat and aborts the engine).
 */
export async function cancelJob(db: Kysely<Database>, jobId: string): Promise<CancelOutcome> {
  return db.transaction().execute((trx) => cancelJobIn(trx, jobId));
}

/** `cancelJob` inside the caller's transaction (the route's, which also holds its audit entry). */
export async function cancelJobIn(trx: Transaction<Database>, jobId: string): Promise<CancelOutcome> {
  const at = now();
  const queued = await trx
    .updateTable("jobs")
    .set({ state: "cancelled", finished_at: at, updated_at: at, error: "cancelled before it started", error_code: "cancelled" })
    .where("id", "=", jobId)
    .where("state", "=", "queued")
    .returning(["instance_id", "operation"])
    .executeTakeFirst();
  if (queued) {
    if (queued.operation !== "preview") await settleCancelledInstance(trx, queued.instance_id);
    await appendEventIn(trx, jobId, resultEvent("cancelled", { code: "cancelled", message: "cancelled before it started" }));
    return "cancelled";
  }
  const running = await trx
    .updateTable("jobs")
    .set({ cancel_requested: 1, updated_at: at })
    .where("id", "=", jobId)
    .where("state", "=", "running")
    .executeTakeFirst();
  if (Number(running.numUpdatedRows) === 1) return "requested";
  const exists = await trx.selectFrom("jobs").select("id").where("id", "=", jobId).executeTakeFirst();
  return exists ? "finished" : "not_found";
}

/** An instance whose only queued operation was cancelled goes back to what its outputs say. */
async function settleCancelledInstance(trx: Db, instanceId: string): Promise<void> {
  const instance = await getInstance(trx, instanceId);
  if (!instance) return;
  if (instance.status === "pending") await setInstanceStatus(trx, instanceId, "failed");
  else if (instance.status === "destroying" || instance.status === "refreshing") {
    await setInstanceStatus(trx, instanceId, instance.outputs ? "ready" : "failed");
  }
}

export async function getJob(db: Db, jobId: string): Promise<Job | undefined> {
  return db.selectFrom("jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
}

/** An instance's first job (the `up` its creation enqueued). */
export function firstJobOf(db: Db, instanceId: string): Promise<Job | undefined> {
  return db.selectFrom("jobs").selectAll().where("instance_id", "=", instanceId).orderBy("created_at").executeTakeFirst();
}

/** The operator's view of the queue (`clawstack queue`): counts by state and operation, running jobs, the oldest queued one. */
export async function queueOverview(db: Kysely<Database>) {
  const counts = await db
    .selectFrom("jobs")
    .select(["state", "operation", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy(["state", "operation"])
    .orderBy("state")
    .orderBy("operation")
    .execute();
  const running = await db
    .selectFrom("jobs")
    .select(["id", "operation", "stack_name", "attempt", "lease_owner", "lease_expires_at"])
    .where("state", "=", "running")
    .orderBy("started_at")
    .execute();
  const oldestQueued = await db
    .selectFrom("jobs")
    .select(["id", "created_at"])
    .where("state", "=", "queued")
    .orderBy("created_at")
    .executeTakeFirst();
  return { counts, running, oldestQueued };
}

/** Exponential backoff with full jitter on the upper half: base·2^(attempt−1), capped. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
