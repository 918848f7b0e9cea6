/**
 * Worker processes on PostgreSQL: two of them draining one queue never run a
 * job twice, and a worker killed with SIGKILL in the middle of an `up` has
 * its job taken over by another (stale stack lock cancelled first), with
 * every progress row kept once and nothing duplicated.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StandInEngine } from "./support/stand-in-engine";
import { addDigitalOceanCredential, digitalOceanInstance, registerUser, startTestApp, type TestApp, type TestUser } from "./support/app";
import { skipReasonWithoutPostgres } from "./support/db";
import { spawnWorker, type WorkerProcess } from "./support/processes";

const skip = skipReasonWithoutPostgres("the multi-process worker tests");

describe.skipIf(skip !== undefined)("worker processes on PostgreSQL", () => {
  let harness: TestApp;
  let user: TestUser;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // No worker in the API process: only the spawned ones claim.
    harness = await startTestApp({ database: "postgres", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    user = await registerUser(harness.app);
    await addDigitalOceanCredential(harness.app, user);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill("SIGTERM");
        await worker.exited;
      }
    }
  });
  afterAll(async () => {
    await harness?.close();
  });

  async function createInstances(count: number, prefix: string): Promise<{ id: string; stackName: string }[]> {
    const instances: { id: string; stackName: string }[] = [];
    for (let index = 0; index < count; index += 1) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/v1/instances",
        headers: user.auth,
        payload: digitalOceanInstance({ name: `${prefix}${index}` }),
      });
      expect(response.statusCode).toBe(201);
      instances.push((response.json() as { instance: { id: string; stackName: string } }).instance);
    }
    return instances;
  }

  async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("two worker processes never claim the same job", async () => {
    const { app } = harness;
    const stateDir = mkdtempSync(join(tmpdir(), "stand-in-"));
    const journal = join(stateDir, "journal.jsonl");
    // Both workers are up and polling before the first job is queued, so the test
    // measures two claimers racing rather than how fast each process boots.
    const env = { ...harness.workerEnv, STANDIN_STATE_DIR: stateDir, STANDIN_JOURNAL: journal, STANDIN_STEP_MS: "40", STANDIN_STEPS: "2" };
    workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
    const instances = await createInstances(16, "pair");
    for (const instance of instances.slice(0, 8)) {
      const preview = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/preview`, headers: user.auth });
      expect(preview.statusCode).toBe(202);
    }
    const ids = instances.map((instance) => instance.id);

    await waitUntil(
      async () => {
        const open = await app.db.selectFrom("jobs").select("id").where("instance_id", "in", ids).where("state", "in", ["queued", "running"]).execute();
        return open.length === 0;
      },
      45_000,
      "the queue to drain",
    );
    const jobs = await app.db.selectFrom("jobs").selectAll().where("instance_id", "in", ids).execute();
    expect(jobs).toHaveLength(24);
    expect(jobs.every((job) => job.state === "succeeded")).toBe(true);
    expect(jobs.every((job) => Number(job.attempt) === 1)).toBe(true);

    const lines = readFileSync(journal, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { operation: string; stackName: string; pid: number });
    expect(lines).toHaveLength(24);
    const ups = lines.filter((line) => line.operation === "up").map((line) => line.stackName);
    expect(new Set(ups).size).toBe(16);
    expect(ups).toHaveLength(16);
    expect(lines.filter((line) => line.operation === "preview")).toHaveLength(8);
    // Both processes took part.
    expect(new Set(lines.map((line) => line.pid)).size).toBe(2);
  });

  it("recovers a job whose worker was killed with SIGKILL mid-up, without lost or duplicated rows", async () => {
    const { app } = harness;
    const stateDir = mkdtempSync(join(tmpdir(), "stand-in-"));
    const journal = join(stateDir, "journal.jsonl");
    const env = {
      ...harness.workerEnv,
      CLAWSTACK_JOB_LEASE_MS: "1500",
      STANDIN_STATE_DIR: stateDir,
      STANDIN_JOURNAL: journal,
      STANDIN_STEP_MS: "150",
      STANDIN_STEPS: "12",
    };
    const doomed = await spawnWorker(env);
    workers.push(doomed);
    const [instance] = await createInstances(1, "crash");
    const job = await app.db.selectFrom("jobs").selectAll().where("instance_id", "=", instance!.id).executeTakeFirstOrThrow();

    // Let it get well into the update: several progress rows written, the stack lock held.
    const engineView = new StandInEngine({ stateDir });
    await waitUntil(
      async () => {
        const rows = await app.db.selectFrom("job_events").select("seq").where("job_id", "=", job.id).execute();
        return rows.length >= 6;
      },
      20_000,
      "progress rows of the doomed worker",
    );
    expect(engineView.isLocked(instance!.stackName)).toBe(true);
    doomed.child.kill("SIGKILL");
    expect(await doomed.exited).toBe("SIGKILL");
    const beforeTakeover = await app.db.selectFrom("job_events").selectAll().where("job_id", "=", job.id).orderBy("seq").execute();

    const rescuer = await spawnWorker(env);
    workers.push(rescuer);
    await waitUntil(
      async () => {
        const current = await app.db.selectFrom("jobs").select("state").where("id", "=", job.id).executeTakeFirstOrThrow();
        return current.state !== "queued" && current.state !== "running";
      },
      30_000,
      "the job to finish on the second worker",
    );

    const finished = await app.db.selectFrom("jobs").selectAll().where("id", "=", job.id).executeTakeFirstOrThrow();
    expect(finished.state).toBe("succeeded");
    expect(Number(finished.attempt)).toBe(2);
    expect(await app.db.selectFrom("jobs").select("id").where("instance_id", "=", instance!.id).execute()).toHaveLength(1);
    expect(await app.db.selectFrom("instances").select("id").where("id", "=", instance!.id).execute()).toHaveLength(1);
    const ready = await app.db.selectFrom("instances").select(["status"]).where("id", "=", instance!.id).executeTakeFirstOrThrow();
    expect(ready.status).toBe("ready");

    // Every row written before the kill is still there, unchanged, and the sequence has no gap or repeat.
    const events = await app.db.selectFrom("job_events").selectAll().where("job_id", "=", job.id).orderBy("seq").execute();
    expect(events.map((event) => Number(event.seq))).toEqual(events.map((_, index) => index + 1));
    expect(events.slice(0, beforeTakeover.length)).toEqual(beforeTakeover);
    expect(events.some((event) => event.data.includes("taken over from a worker whose lease expired"))).toBe(true);
    expect(events.at(-1)?.type).toBe("result");

    // The stale lock was cancelled and the update ran exactly once to completion.
    expect(engineView.isLocked(instance!.stackName)).toBe(false);
    expect(engineView.readState(instance!.stackName)?.ups).toBe(1);
    const pids = readFileSync(journal, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { pid: number }).pid);
    expect(pids).toEqual([doomed.pid, rescuer.pid]);
    expect(existsSync(journal)).toBe(true);
  });
});
