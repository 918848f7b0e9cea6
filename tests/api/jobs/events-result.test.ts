/**
 * A job's result reaches every follower, on SQLite and PostgreSQL:
 * - the final state and the `result` event commit together: with the result
 *   insert refused, no job is ever finished without its result row (a worker
 *   killed right after finishing could otherwise leave one);
 * - a queued job cancelled at once gets its result row too;
 * - a stream that reads "no new rows", then sees the job finished, still sends
 *   the result that committed in between before `end` (made deterministic by
 *   finishing the job inside the stream's own state read);
 * - under concurrency (30 previews on an embedded worker, 30 streams), every
 *   stream ends with the result right before `end`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../../api/engine/types";
import { JobEventWriter } from "../../../api/jobs/events";
import { claimJob, finishJob } from "../../../api/jobs/queue";
import { addDigitalOceanCredential, digitalOceanInstance, registerUser, startTestApp, type TestApp, type TestUser, waitForJob } from "./support/app";
import { POSTGRES_URL, skipReasonWithoutPostgres } from "./support/db";
import { StandInEngine } from "./support/stand-in-engine";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

/**
 * Runs once, inside the first state read of the named job (`getJob`) after a
 * stream has read its stored rows (`readJobEvents` returned them), before
 * that read: the moment between "no new rows" and "the job is finished".
 */
const stateReadHook = vi.hoisted(() => ({
  jobId: undefined as string | undefined,
  rowsRead: false,
  run: undefined as (() => Promise<void>) | undefined,
}));
vi.mock("../../../api/jobs/events", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../api/jobs/events")>();
  return {
    ...real,
    readJobEvents: async (...args: Parameters<typeof real.readJobEvents>) => {
      const rows = await real.readJobEvents(...args);
      if (args[1] === stateReadHook.jobId && rows.length > 0) stateReadHook.rowsRead = true;
      return rows;
    },
  };
});
vi.mock("../../../api/jobs/queue", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../api/jobs/queue")>();
  return {
    ...real,
    getJob: async (...args: Parameters<typeof real.getJob>) => {
      if (stateReadHook.run && stateReadHook.rowsRead && args[1] === stateReadHook.jobId) {
        const run = stateReadHook.run;
        stateReadHook.run = undefined;
        await run();
      }
      return real.getJob(...args);
    },
  };
});

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

async function readStream(url: string, headers: Record<string, string>): Promise<SseEvent[]> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() && !block.startsWith(":") && !block.startsWith("retry:"))
    .map((block) => {
      const event: SseEvent = { event: "message", data: "" };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(": ");
        if (field === "id") event.id = rest.join(": ");
        else if (field === "event") event.event = rest.join(": ");
        else if (field === "data") event.data += rest.join(": ");
      }
      return event;
    });
}

/** The stream's shape every follower must get: numbered rows whose last is the result, then `end`. */
function expectResultThenEnd(events: SseEvent[], state: string): void {
  expect(events.at(-1)?.event).toBe("end");
  expect(events.at(-2)?.event).toBe("result");
  expect(JSON.parse(events.at(-2)!.data)).toMatchObject({ state });
  expect(JSON.parse(events.at(-1)!.data)).toEqual({ state });
}

const skipPostgres = skipReasonWithoutPostgres("the PostgreSQL run of the job result tests");

describe.each([
  { database: "sqlite" as const, skip: false },
  { database: "postgres" as const, skip: skipPostgres !== undefined || !POSTGRES_URL },
])("job results on $database", ({ database, skip }) => {
  describe.skipIf(skip)("with no worker", () => {
    let harness: TestApp;
    let user: TestUser;
    let base: string;

    beforeAll(async () => {
      engineRef.current = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) });
      harness = await startTestApp({ database, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
      base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
      user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("sends the result that committed between the stream's last read and its finished-state read, then ends", async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "race" }) });
      const { job } = created.json() as { job: { id: string; eventsUrl: string } };
      const claimed = await claimJob(app.db, database, { workerId: "test-worker", freeMemoryMb: undefined, leaseMs: 60_000 });
      expect(claimed?.id).toBe(job.id);
      const writer = await JobEventWriter.open(app.db, job.id, (value) => value);
      void writer.append({ type: "state", state: "running", attempt: 1 });
      void writer.append({ type: "log", line: "working" });
      await writer.flush();

      // The job finishes (final state and result in one transaction) right after the stream read "nothing new".
      stateReadHook.jobId = job.id;
      stateReadHook.rowsRead = false;
      stateReadHook.run = async () => {
        expect(await finishJob(app.db, { id: job.id, instance_id: claimed!.instance_id }, "test-worker", { state: "failed", error: { code: "failed", message: "boom" } })).toBe(true);
      };
      const events = await readStream(`${base}${job.eventsUrl}`, user.auth);
      expect(stateReadHook.run).toBeUndefined();
      expect(events.filter((event) => event.id !== undefined).map((event) => event.event)).toEqual(["state", "log", "result"]);
      expectResultThenEnd(events, "failed");
      expect(JSON.parse(events.at(-2)!.data)).toMatchObject({ error: "boom", errorCode: "failed" });

      // A follower resuming after the result gets `end` at once.
      const resumed = await readStream(`${base}${job.eventsUrl}`, { ...user.auth, "last-event-id": "3" });
      expect(resumed.map((event) => event.event)).toEqual(["end"]);
    });

    it("gives a queued job cancelled at once its result row, in the cancel's transaction", async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "cancel" }) });
      const { job } = created.json() as { job: { id: string; eventsUrl: string } };
      const cancelled = await app.inject({ method: "POST", url: `/v1/jobs/${job.id}/cancel`, headers: user.auth });
      expect(cancelled.statusCode).toBe(200);
      const started = Date.now();
      const events = await readStream(`${base}${job.eventsUrl}`, user.auth);
      expectResultThenEnd(events, "cancelled");
      // No grace wait: the result was there with the final state.
      expect(Date.now() - started).toBeLessThan(1_500);
    });
  });

  describe.skipIf(skip)("with an embedded worker", () => {
    let harness: TestApp;
    let user: TestUser;
    let base: string;

    beforeAll(async () => {
      engineRef.current = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 3, stepMs: 5 });
      harness = await startTestApp({ database, env: { CLAWSTACK_EMBEDDED_WORKER: "on", CLAWSTACK_JOB_LEASE_MS: "1500" } });
      base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
      user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("never leaves a job finished without its result row: when the result cannot be written, the final state is not either", async () => {
      const { app } = harness;
      if (database === "sqlite") {
        await sql.raw("CREATE TRIGGER result_refused BEFORE INSERT ON job_events WHEN NEW.type = 'result' BEGIN SELECT RAISE(ABORT, 'result refused'); END").execute(app.db);
      } else {
        await sql.raw("CREATE OR REPLACE FUNCTION result_refused() RETURNS trigger AS $$ BEGIN IF NEW.type = 'result' THEN RAISE EXCEPTION 'result refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql").execute(app.db);
        await sql.raw("CREATE TRIGGER result_refused BEFORE INSERT ON job_events FOR EACH ROW EXECUTE FUNCTION result_refused()").execute(app.db);
      }
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "atomic" }) });
      const { job } = created.json() as { job: { id: string } };
      const finishedWithoutResult = async () => {
        const row = await app.db.selectFrom("jobs").select("state").where("id", "=", job.id).executeTakeFirstOrThrow();
        const result = await app.db.selectFrom("job_events").select("seq").where("job_id", "=", job.id).where("type", "=", "result").executeTakeFirst();
        return { state: row.state, orphan: ["succeeded", "failed", "cancelled"].includes(row.state) && result === undefined };
      };
      try {
        // The engine has run (its events are stored) and the worker tried to finish at least once.
        const deadline = Date.now() + 5_000;
        while (Date.now() < deadline) {
          const progress = await app.db.selectFrom("job_events").select("seq").where("job_id", "=", job.id).where("type", "=", "progress").execute();
          if (progress.length >= 3) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        const during = await finishedWithoutResult();
        expect(during.orphan, `state ${during.state} without a result row`).toBe(false);
        expect(during.state).toBe("running");
      } finally {
        await sql.raw(`DROP TRIGGER result_refused${database === "postgres" ? " ON job_events" : ""}`).execute(app.db);
      }
      // Its lease runs out and the job runs again, this time to a recorded end.
      const done = await waitForJob(app, user, job.id, 20_000);
      expect(done.state).toBe("succeeded");
      expect((await finishedWithoutResult()).orphan).toBe(false);
    });

    it("ends every one of 30 concurrent streams with the result right before `end`", async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "many" }) });
      const { instance } = created.json() as { instance: { id: string } };
      await waitForJob(app, user, (created.json() as { job: { id: string } }).job.id);
      const jobs: { id: string; eventsUrl: string }[] = [];
      for (let index = 0; index < 30; index += 1) {
        const preview = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/preview`, headers: user.auth });
        expect(preview.statusCode).toBe(202);
        jobs.push((preview.json() as { job: { id: string; eventsUrl: string } }).job);
      }
      const streams = await Promise.all(jobs.map((job) => readStream(`${base}${job.eventsUrl}`, user.auth)));
      for (const events of streams) expectResultThenEnd(events, "succeeded");
    });
  });
});
