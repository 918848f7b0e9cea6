/**
 * One run per interval across every worker: a worker claims the interval's slot by inserting its row in
 * `scheduler_runs` (task, slot) and runs only when the insert wins; the others see a unique violation and
 * skip. Old rows of the task go after `keepMs`. A run that throws gives its slot back, so another worker
 * (or the next tick) runs it; a finished one is stamped. Used by the snapshot sweep and the gateway health check.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import { isUniqueViolation } from "./queue";

export interface SlotTask {
  db: Kysely<Database>;
  task: string;
  intervalMs: number;
  /** How long finished rows of this task are kept. */
  keepMs: number;
}

/** Runs `run` if this worker wins the slot of `now`; undefined when another worker has it. */
export async function runInSlot<T>({ db, task, intervalMs, keepMs }: SlotTask, now: Date, holder: string, run: () => Promise<T>): Promise<T | undefined> {
  if (intervalMs <= 0) throw new Error("runSlot needs a positive interval");
  const slot = String(Math.floor(now.getTime() / intervalMs));
  try {
    await db.insertInto("scheduler_runs").values({ task, slot, holder, started_at: now.toISOString(), finished_at: null }).execute();
  } catch (error) {
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
  await db
    .deleteFrom("scheduler_runs")
    .where("task", "=", task)
    .where("started_at", "<", new Date(now.getTime() - keepMs).toISOString())
    .execute();
  let result: T;
  try {
    result = await run();
  } catch (error) {
    await db.deleteFrom("scheduler_runs").where("task", "=", task).where("slot", "=", slot).where("holder", "=", holder).execute();
    throw error;
  }
  await db.updateTable("scheduler_runs").set({ finished_at: new Date().toISOString() }).where("task", "=", task).where("slot", "=", slot).execute();
  return result;
}
