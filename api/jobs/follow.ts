/**
 * Following a job's events: the loop behind `GET /v1/jobs/:id/events`. It
 * sends stored rows as server-sent events, polls for new ones, and ends with
 * `event: end` only after the follower has the job's `result` event.
 *
 * Why that order holds: a job's final state and its `result` row commit in
 * one transaction (`finishJob`, `cancelJobIn`), so once the job reads as
 * finished, the result row is there to read. After seeing the final state the
 * loop reads what was stored since its last read and sends it; it ends when
 * a `result` row at or before the last id sent exists (sent now, or before a
 * resume with `Last-Event-ID`). Only a job finished by an older version,
 * which has no result row, ends after a short grace period without one.
 */
import type { Kysely } from "kysely";
import type { Database, Job } from "../db/schema";
import { readJobEvents, resultSentBy, type StoredJobEvent } from "./events";
import { isFinished } from "./instances";
import { getJob } from "./queue";

export interface FollowOptions {
  db: Kysely<Database>;
  jobId: string;
  /** Start after this event id (`Last-Event-ID`, `?after=`). */
  after: number;
  /** Writes a chunk of the stream. */
  write(chunk: string): void;
  /** True once the follower hung up or the app is closing. */
  stopped(): boolean;
  /** How often to look for new rows. Default 200 ms. */
  pollMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream. Default 15 s. */
  keepAliveMs?: number;
  /** For a finished job without any result row (finished by an older version): how long to wait for one. Default 2 s. */
  resultGraceMs?: number;
}

const PAGE = 500;

function eventChunk(event: StoredJobEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ at: event.at, ...(event.data as object) })}\n\n`;
}

/** Streams the job's events until it finished and its result was sent (or the follower stopped). */
export async function followJobEvents(options: FollowOptions): Promise<void> {
  const { db, jobId, write, stopped } = options;
  const pollMs = options.pollMs ?? 200;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const resultGraceMs = options.resultGraceMs ?? 2_000;
  let after = options.after;
  let lastWrite = Date.now();
  let finishedSince: number | undefined;

  /** Sends every stored row after `after`; returns whether a `result` row was among them. */
  const sendStored = async (): Promise<boolean> => {
    let sawResult = false;
    for (;;) {
      const events = await readJobEvents(db, jobId, after, PAGE);
      for (const event of events) {
        write(eventChunk(event));
        after = event.seq;
        sawResult ||= event.type === "result";
        lastWrite = Date.now();
      }
      if (events.length < PAGE || stopped()) return sawResult;
    }
  };

  while (!stopped()) {
    let resultSent = await sendStored();
    const job: Job | undefined = await getJob(db, jobId);
    if (!job || isFinished(job)) {
      // Rows committed between the read above and this state (the result among them) go out first.
      resultSent = (await sendStored()) || resultSent || (await resultSentBy(db, jobId, after));
      finishedSince ??= Date.now();
      if (resultSent || !job || Date.now() - finishedSince > resultGraceMs) {
        write(`event: end\ndata: ${JSON.stringify({ state: job?.state ?? "unknown" })}\n\n`);
        return;
      }
    }
    if (Date.now() - lastWrite > keepAliveMs) {
      write(": keep-alive\n\n");
      lastWrite = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
