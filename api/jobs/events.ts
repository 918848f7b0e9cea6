/**
 * Job progress as rows: each job's events are numbered 1, 2, 3... (`seq`),
 * which is also the SSE event id a follower resumes from (`Last-Event-ID`).
 * `(job_id, seq)` is the primary key, so a row can never be written twice,
 * even by a worker that lost its lease while another took the job over: the
 * loser's insert fails and it stops.
 */
import type { Kysely, Transaction } from "kysely";
import { isUniqueViolation, nowIso } from "../db/ids";
import type { Database, JobEvent } from "../db/schema";
import type { ProgressEvent } from "../engine/types";
import type { Redactor } from "./redact";

/** What a job event row holds, by `type`. */
export type JobEventData =
  | { type: "state"; state: string; attempt: number; message?: string }
  | { type: "log"; line: string }
  | { type: "progress"; event: ProgressEvent }
  | { type: "result"; state: string; error?: string; errorCode?: string };

export interface StoredJobEvent {
  seq: number;
  at: string;
  type: string;
  data: unknown;
}

/** Raised when a worker's event write collides with another writer: it no longer owns the job. */
export class EventConflictError extends Error {
  constructor(jobId: string, seq: number) {
    super(`event ${seq} of job ${jobId} was already written by another worker`);
    this.name = "EventConflictError";
  }
}

/** Appends a job's events in order. Writes are chained, so callers may fire and forget. */
export class JobEventWriter {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly jobId: string,
    private seq: number,
    private readonly redact: Redactor,
  ) {}

  /** Continues after the last stored event (a takeover keeps the earlier attempt's rows). */
  static async open(db: Kysely<Database>, jobId: string, redact: Redactor): Promise<JobEventWriter> {
    const last = await db
      .selectFrom("job_events")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .where("job_id", "=", jobId)
      .executeTakeFirst();
    return new JobEventWriter(db, jobId, Number(last?.seq ?? 0), redact);
  }

  append(data: JobEventData): Promise<void> {
    const { type, ...rest } = this.redact(data);
    const seq = ++this.seq;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.db
          .insertInto("job_events")
          .values({ job_id: this.jobId, seq, at: nowIso(), type, data: JSON.stringify(rest) })
          .execute();
      } catch (error) {
        this.failure = isUniqueViolation(error) ? new EventConflictError(this.jobId, seq) : (error as Error);
      }
    });
    return this.chain;
  }

  /** Waits for every write; throws the first failure. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }

  get failed(): Error | undefined {
    return this.failure;
  }
}

/**
 * Appends one event inside the caller's transaction, after the last stored
 * one. The job's final state uses it for its `result` event, so a finished
 * job always has its result row (both commit or neither). The caller holds
 * the job (its lease, or a queued job's row lock), so no other writer races it;
 * if one did, the primary key refuses the row and the whole transaction.
 */
export async function appendEventIn(trx: Transaction<Database>, jobId: string, data: JobEventData): Promise<number> {
  const last = await trx
    .selectFrom("job_events")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .where("job_id", "=", jobId)
    .executeTakeFirst();
  const seq = Number(last?.seq ?? 0) + 1;
  const { type, ...rest } = data;
  await trx.insertInto("job_events").values({ job_id: jobId, seq, at: nowIso(), type, data: JSON.stringify(rest) }).execute();
  return seq;
}

/** Whether the job's `result` event is among its events up to `seq` (what a follower has already received). */
export async function resultSentBy(db: Kysely<Database>, jobId: string, seq: number): Promise<boolean> {
  const row = await db
    .selectFrom("job_events")
    .select("seq")
    .where("job_id", "=", jobId)
    .where("type", "=", "result")
    .where("seq", "<=", seq)
    .executeTakeFirst();
  return row !== undefined;
}

/** Events of a job after `afterSeq`, oldest first. */
export async function readJobEvents(
  db: Kysely<Database>,
  jobId: string,
  afterSeq: number,
  limit = 500,
): Promise<StoredJobEvent[]> {
  const rows: JobEvent[] = await db
    .selectFrom("job_events")
    .selectAll()
    .where("job_id", "=", jobId)
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ seq: Number(row.seq), at: row.at, type: row.type, data: JSON.parse(row.data) as unknown }));
}
