/**
 * The worker against the queue on SQLite, engine = stand-in: retries with
 * backoff for retryable failures only, admission by memory budget, takeover
 * of an expired lease (stale lock cancelled), cancel, and no-CLI behaviour.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CredentialProvider } from "../../../api/jobs/credentials";
import { cancelJob, claimJob, enqueueJob, getJob, retryDelayMs } from "../../../api/jobs/queue";
import type { QueueSettings, WorkerSettings } from "../../../api/jobs/settings";
import type { Job } from "../../../api/db/schema";
import { JobWorker } from "../../../api/jobs/worker";
import { createPostgresDatabase, createSqliteDatabase, insertInstance, insertUser, skipReasonWithoutPostgres, type TestDatabase } from "./support/db";
import { StandInEngine } from "./support/stand-in-engine";

const QUEUE: QueueSettings = { memoryMb: { up: 600, refresh: 400, destroy: 400, preview: 150 }, maxAttempts: 3, retryBaseMs: 40, retryMaxMs: 200 };
const WORKER: WorkerSettings = { memoryBudgetMb: 2000, slots: 50, previewSlots: 50, leaseMs: 600, heartbeatMs: 200, pollMs: 10 };

const credentials: CredentialProvider = {
  async choose() {
    return "cred_test";
  },
  async forJob() {
    return { env: { DIGITALOCEAN_TOKEN: "dop_v1_" + "ab".repeat(32) }, secrets: ["dop_v1_" + "ab".repeat(32)] };
  },
};

describe("job worker on SQLite", () => {
  let database: TestDatabase;
  let userId: string;
  let engine: StandInEngine;
  let stacksDir: string;
  const workers: JobWorker[] = [];

  beforeEach(async () => {
    database = await createSqliteDatabase();
    userId = await insertUser(database.handle);
    stacksDir = mkdtempSync(join(tmpdir(), "stacks-"));
    engine = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop({ abort: true });
    await database.dispose();
  });

  function startWorker(overrides: Partial<WorkerSettings> = {}, workerEngine = engine): JobWorker {
    const worker = new JobWorker({
      db: database.handle.db,
      dialect: "sqlite",
      engine: workerEngine,
      layout: { stacksDir, secretEnv: {} },
      credentials,
      worker: { ...WORKER, ...overrides },
      queue: QUEUE,
    });
    workers.push(worker);
    worker.start();
    return worker;
  }

  async function newInstance(): Promise<{ id: string; stackName: string }> {
    return insertInstance(database.handle.db, { userId, status: "pending" });
  }


  async function enqueue(operation: Job["operation"], memoryMb?: number) {
    const instance = await newInstance();
    const job = await enqueueJob(database.handle.db, {
      instanceId: instance.id, userId, stackName: instance.stackName, operation,
      memoryMb: memoryMb ?? QUEUE.memoryMb[operation as keyof typeof QUEUE.memoryMb], maxAttempts: QUEUE.maxAttempts,
    });
    return { instance, job };
  }

  async function settled(jobId: string, timeoutMs = 10_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await getJob(database.handle.db, jobId))!;
      if (["succeeded", "failed", "cancelled"].includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job still ${job.state}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function eventTexts(jobId: string): Promise<string[]> {
    const rows = await database.handle.db.selectFrom("job_events").select("data").where("job_id", "=", jobId).orderBy("seq").execute();
    return rows.map((row) => row.data);
  }

  it("retries a transient failure with backoff, then succeeds", async () => {
    engine.failures.push({ operation: "up", code: "transient" }, { operation: "up", code: "transient" });
    const { job } = await enqueue("up");
    startWorker();
    const done = await settled(job.id);
    expect(done.state).toBe("succeeded");
    expect(Number(done.attempt)).toBe(3);
    const texts = (await eventTexts(job.id)).join("\n");
    expect(texts.match(/retryable failure \(transient\); retrying in/g)).toHaveLength(2);
  });

  it("does not retry a permanent failure, and gives up after max attempts of transient ones", async () => {
    engine.failures.push({ operation: "up", code: "failed" });
    const permanent = await enqueue("up");
    startWorker();
    const failed = await settled(permanent.job.id);
    expect(failed.state).toBe("failed");
    expect(Number(failed.attempt)).toBe(1);
    expect(failed.error_code).toBe("failed");
    const instance = await database.handle.db.selectFrom("instances").select("status").where("id", "=", permanent.instance.id).executeTakeFirstOrThrow();
    expect(instance.status).toBe("failed");

    engine.failures.push(...[1, 2, 3].map(() => ({ operation: "refresh", code: "transient" as const })));
    const flaky = await enqueue("refresh");
    const exhausted = await settled(flaky.job.id);
    expect(exhausted.state).toBe("failed");
    expect(Number(exhausted.attempt)).toBe(3);
    expect(exhausted.error_code).toBe("transient");
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelayMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(retryDelayMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it("admits jobs by memory budget, not by count", async () => {
    const slow = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 4, stepMs: 50 });
    const jobs = [];
    for (let index = 0; index < 6; index += 1) jobs.push((await enqueue("up", 600)).job);
    const worker = startWorker({ memoryBudgetMb: 1300 }, slow);
    for (const job of jobs) expect((await settled(job.id)).state).toBe("succeeded");
    // 1300 MB fits two 600 MB jobs at once, never three.
    expect(worker.peakCommittedMemoryMb).toBe(1200);

    // A job larger than the whole budget still runs, alone, on an idle worker.
    const big = await enqueue("up", 5000);
    expect((await settled(big.job.id)).state).toBe("succeeded");
  });

  it("claims only what it starts now: one preview at a time, and never more jobs than its slots", async () => {
    const slow = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 3, stepMs: 30 });
    /** Drains `jobs` and returns the most jobs ever held (running, leased) at once. */
    const peakHeld = async (jobs: Job[]) => {
      let peak = 0;
      let done = false;
      const sampling = (async () => {
        while (!done) {
          const held = await database.handle.db.selectFrom("jobs").select("id").where("state", "=", "running").execute();
          peak = Math.max(peak, held.length);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      for (const job of jobs) expect((await settled(job.id)).state).toBe("succeeded");
      done = true;
      await sampling;
      return peak;
    };

    // Eight previews fit the memory budget 13 times over; the worker holds one, the rest stay claimable by others.
    const previews = [];
    for (let index = 0; index < 8; index += 1) previews.push((await enqueue("preview")).job);
    const previewWorker = startWorker({ memoryBudgetMb: 2000, slots: 50, previewSlots: 1 }, slow);
    expect(await peakHeld(previews)).toBe(1);
    await previewWorker.stop();

    // Five `up`s fit the memory budget; two slots hold two.
    const ups = [];
    for (let index = 0; index < 5; index += 1) ups.push((await enqueue("up")).job);
    startWorker({ memoryBudgetMb: 100_000, slots: 2, previewSlots: 1 }, slow);
    expect(await peakHeld(ups)).toBe(2);
  });

  it("takes over a job whose worker stopped heartbeating and cancels its stale lock", async () => {
    const { instance, job } = await enqueue("up");
    // A worker claims it and "dies": it holds the stack lock and never heartbeats again.
    const claimed = await claimJob(database.handle.db, "sqlite", { workerId: "dead-worker", freeMemoryMb: 10_000, leaseMs: 100 });
    expect(claimed?.id).toBe(job.id);
    await engine.up({ stackName: instance.stackName, workDir: stacksDir, kind: "host", config: {}, envVars: {} }).catch(() => undefined);
    engine.writeState(instance.stackName, { outputs: {}, ups: 0 });
    // Leave the lock behind as a crashed update would.
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join((engine as unknown as { options: { stateDir: string } }).options.stateDir, `${instance.stackName}.lock`), "dead");
    expect(engine.isLocked(instance.stackName)).toBe(true);

    startWorker();
    const done = await settled(job.id);
    expect(done.state).toBe("succeeded");
    expect(Number(done.attempt)).toBe(2);
    expect(engine.isLocked(instance.stackName)).toBe(false);
    expect((await eventTexts(job.id)).join("\n")).toContain("taken over from a worker whose lease expired");
  });

  it("a worker that lost its lease writes no final state", async () => {
    const { job } = await enqueue("up");
    const slow = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 10, stepMs: 40 });
    startWorker({}, slow);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Another worker steals the job (as if the lease had expired).
    const leaseUntil = new Date(Date.now() + 60_000).toISOString();
    await database.handle.db.updateTable("jobs").set({ lease_owner: "thief", lease_expires_at: leaseUntil }).where("id", "=", job.id).execute();
    await new Promise((resolve) => setTimeout(resolve, 700));
    const current = (await getJob(database.handle.db, job.id))!;
    expect(current.state).toBe("running");
    expect(current.lease_owner).toBe("thief");
    expect(current.finished_at).toBeNull();
    expect((await eventTexts(job.id)).join("\n")).not.toContain('"state":"succeeded"');
  });

  it("cancels a queued job at once and a running job through its worker", async () => {
    const queued = await enqueue("up");
    expect(await cancelJob(database.handle.db, queued.job.id)).toBe("cancelled");
    expect((await getJob(database.handle.db, queued.job.id))!.state).toBe("cancelled");
    const pending = await database.handle.db.selectFrom("instances").select("status").where("id", "=", queued.instance.id).executeTakeFirstOrThrow();
    expect(pending.status).toBe("failed");

    const slow = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 50, stepMs: 20 });
    const running = await enqueue("up");
    startWorker({}, slow);
    for (;;) {
      if ((await getJob(database.handle.db, running.job.id))!.state === "running") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await cancelJob(database.handle.db, running.job.id)).toBe("requested");
    const done = await settled(running.job.id);
    expect(done.state).toBe("cancelled");
    expect(await cancelJob(database.handle.db, running.job.id)).toBe("finished");
  });

  it("without a Pulumi CLI, up/refresh/destroy fail at once saying what to install; preview works", async () => {
    const noCli = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), deploy: false });
    const up = await enqueue("up");
    const preview = await enqueue("preview");
    startWorker({}, noCli);
    const failed = await settled(up.job.id);
    expect(failed.state).toBe("failed");
    expect(failed.error_code).toBe("tool_missing");
    expect(failed.error).toMatch(/`up` cannot run on this worker: .*install/);
    expect(Number(failed.attempt)).toBe(1);
    expect(noCli.calls.filter((call) => call.operation === "up")).toHaveLength(0);
    expect((await settled(preview.job.id)).state).toBe("succeeded");
  });
});

describe.each([
  { dialect: "sqlite" as const, skip: undefined as string | undefined },
  { dialect: "postgres" as const, skip: skipReasonWithoutPostgres("the PostgreSQL run of the crash-takeover cost test") },
])("a crashed worker's takeover on $dialect", ({ dialect, skip }) => {
  it.skipIf(skip !== undefined)("costs one lease for the one preview it was running, not one per job it had claimed", async () => {
    const database = dialect === "sqlite" ? await createSqliteDatabase() : await createPostgresDatabase(6);
    const started: JobWorker[] = [];
    try {
      const db = database.handle.db;
      const userId = await insertUser(database.handle);
      const instance = await insertInstance(db, { userId, status: "ready" });
      const jobs: Job[] = [];
      for (let index = 0; index < 6; index += 1) {
        jobs.push(await enqueueJob(db, { instanceId: instance.id, userId, stackName: instance.stackName, operation: "preview", memoryMb: QUEUE.memoryMb.preview, maxAttempts: 3 }));
      }
      const engine = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 4, stepMs: 40 });
      const worker = (workerId: string) => {
        const created = new JobWorker({
          db, dialect, engine, workerId, credentials, queue: QUEUE,
          layout: { stacksDir: mkdtempSync(join(tmpdir(), "stacks-")), secretEnv: {} },
          // Memory for all six at once: only the preview slot keeps the worker from claiming them all.
          worker: { ...WORKER, memoryBudgetMb: 2000, slots: 50, previewSlots: 1 },
        });
        started.push(created);
        created.start();
        return created;
      };
      const doomed = worker("doomed");
      const deadline = Date.now() + 5_000;
      while ((await db.selectFrom("jobs").select("id").where("lease_owner", "=", "doomed").execute()).length === 0) {
        if (Date.now() > deadline) throw new Error("the first worker claimed nothing");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // It dies mid-run: no final state, no heartbeat; whatever it holds waits for its lease to expire.
      await doomed.stop({ abort: true });
      const held = await db.selectFrom("jobs").select("id").where("lease_owner", "=", "doomed").where("state", "=", "running").execute();
      expect(held.length).toBe(1);
      worker("survivor");
      const finished = async () => (await db.selectFrom("jobs").select(["state", "attempt"]).execute()).filter((job) => job.state === "succeeded");
      while ((await finished()).length < jobs.length) {
        if (Date.now() > deadline + 10_000) throw new Error("the survivor did not finish every job");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const takenOver = (await finished()).filter((job) => Number(job.attempt) > 1);
      expect(takenOver.length).toBe(1);
    } finally {
      for (const running of started) await running.stop({ abort: true });
      await database.dispose();
    }
  });
});
