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

/**
 * The timer every worker keeps for a slotted task: every `intervalMs` (0 or less: never) it runs `tick` unless the
 * previous tick is still running; `report` hears each result and each crash. `stop` waits for a running tick.
 */
export class SlotTimer<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<T>,
    private readonly report: { done(result: T): void; crashed(error: unknown): void },
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    const tick = () => {
      this.running ??= this.tick()
        .then((result) => this.report.done(result))
        .catch((error: unknown) => this.report.crashed(error))
        .finally(() => {
          this.running = undefined;
        });
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
