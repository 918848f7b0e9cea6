/**
 * The job lifecycle over HTTP on SQLite and PostgreSQL with the stand-in
 * engine: create (idempotent, validated), follow the `up` to `ready`, preview,
 * refresh, destroy; bad input answers a clear 4xx naming the field and
 * writes nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../../api/engine/types";
import { StandInEngine } from "./support/stand-in-engine";
import {
  addDigitalOceanCredential,
  digitalOceanInstance,
  registerUser,
  startTestApp,
  type TestApp,
  type TestUser,
  waitForJob,
} from "./support/app";
import { POSTGRES_URL, skipReasonWithoutPostgres } from "./support/db";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

const databases = [
  { name: "sqlite" as const, skip: undefined },
  { name: "postgres" as const, skip: skipReasonWithoutPostgres("the PostgreSQL job lifecycle") },
];

for (const database of databases) {
  describe.skipIf(database.skip !== undefined)(`job lifecycle on ${database.name}`, () => {
    let harness: TestApp;
    let user: TestUser;
    let engine: StandInEngine;
    let doToken: string;

    beforeAll(async () => {
      engine = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), echoEnv: true });
      engineRef.current = engine;
      harness = await startTestApp({ database: database.name, env: { CLAWSTACK_EMBEDDED_WORKER: "on" } });
      user = await registerUser(harness.app);
      doToken = (await addDigitalOceanCredential(harness.app, user)).token;
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("provisions, previews, refreshes and destroys an instance", async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance() });
      expect(created.statusCode).toBe(201);
      const { instance, job } = created.json() as { instance: { id: string; stackName: string; status: string }; job: { id: string; operation: string } };
      expect(job.operation).toBe("up");
      expect(instance.stackName).toMatch(/^u-[0-9a-f]{12}-i-[0-9a-f]{32}$/);

      const up = await waitForJob(app, user, job.id);
      expect(up.state).toBe("succeeded");
      const ready = (await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: user.auth })).json() as {
        status: string;
        outputs: Record<string, unknown>;
        lastJob: { id: string };
      };
      expect(ready.status).toBe("ready");
      expect(ready.outputs).toMatchObject({ stack: instance.stackName, cloud: "digitalocean" });
      expect(ready.lastJob.id).toBe(job.id);

      // The credential reached the engine only as workspace environment for the job.
      const upCall = engine.calls.find((call) => call.operation === "up" && call.stackName === instance.stackName);
      expect(upCall?.envVars).toEqual({ DIGITALOCEAN_TOKEN: doToken });
      expect(process.env.DIGITALOCEAN_TOKEN).toBeUndefined();

      // The stand-in printed the token; the stored events carry `[secret]` instead.
      const rows = await app.db.selectFrom("job_events").select(["data"]).where("job_id", "=", job.id).execute();
      const stored = rows.map((row) => row.data).join("\n");
      expect(stored).toContain("DIGITALOCEAN_TOKEN=[secret]");
      expect(stored).not.toContain(doToken);

      const preview = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/preview?wait=20`, headers: user.auth });
      expect(preview.statusCode).toBe(200);
      const previewJob = (preview.json() as { job: { state: string; result: { plan: { resources: unknown[] }; mandatoryViolations: number } } }).job;
      expect(previewJob.state).toBe("succeeded");
      expect(previewJob.result.plan.resources.length).toBeGreaterThan(0);
      expect(engine.calls.find((call) => call.operation === "preview")?.envVars).toEqual({});

      const refresh = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/refresh`, headers: user.auth });
      expect(refresh.statusCode).toBe(202);
      expect((await waitForJob(app, user, (refresh.json() as { job: { id: string } }).job.id)).state).toBe("succeeded");

      const destroy = await app.inject({ method: "DELETE", url: `/v1/instances/${instance.id}`, headers: user.auth });
      expect(destroy.statusCode).toBe(202);
      expect((await waitForJob(app, user, (destroy.json() as { job: { id: string } }).job.id)).state).toBe("succeeded");
      const gone = (await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: user.auth })).json() as { status: string };
      expect(gone.status).toBe("destroyed");
      expect(engine.readState(instance.stackName)).toBeUndefined();

      const again = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/refresh`, headers: user.auth });
      expect(again.statusCode).toBe(409);
    });

    it("creates once per idempotency key and refuses the key with another body", async () => {
      const { app } = harness;
      const headers = { ...user.auth, "idempotency-key": `create-${Math.random()}` };
      const body = digitalOceanInstance({ name: "idem" });
      const responses = await Promise.all(
        [1, 2, 3].map(() => app.inject({ method: "POST", url: "/v1/instances", headers, payload: body })),
      );
      const ids = new Set(responses.map((response) => (response.json() as { instance: { id: string } }).instance.id));
      expect(ids.size).toBe(1);
      expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 200, 201]);
      const [id] = [...ids];
      const jobs = await app.db.selectFrom("jobs").select("id").where("instance_id", "=", id!).execute();
      expect(jobs).toHaveLength(1);

      const other = await app.inject({ method: "POST", url: "/v1/instances", headers, payload: digitalOceanInstance({ name: "other" }) });
      expect(other.statusCode).toBe(409);
      expect(other.json()).toMatchObject({ field: "headers.idempotency-key" });
      await waitForJob(app, user, jobs[0]!.id);
    });

    it("refuses bad input with the field named and records nothing", async () => {
      const { app } = harness;
      const before = await app.db.selectFrom("instances").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [digitalOceanInstance({ cloud: "azure" }), "body.cloud", /`cloud` must be one of digitalocean, aws, gcp/],
        [digitalOceanInstance({ size: "huge" }), "body.size", /`size` must be one of small, medium, large/],
        [digitalOceanInstance({ region: "mars-1" }), "body.region", /`region`/],
        [digitalOceanInstance({ options: { versions: { openclaw: "1.2.3", node: "22.11.0" } } }), "body.options.gatewayCidrs", /gatewayCidrs/],
        [digitalOceanInstance({ options: { gatewayCidrs: ["10.0.0.1/8"], versions: { openclaw: "1.2.3", node: "22.11.0" } } }), "body.options.gatewayCidrs[0]", /host bits/],
        [digitalOceanInstance({ cloud: "aws", region: "us-east-1" }), "body.cloud", /no aws credential/],
        [digitalOceanInstance({ credentialId: "cred_nopeAAAAAAAAAAAAAAAAAA" }), "body.credentialId", /no credential `cred_nopeAAAAAAAAAAAAAAAAAA`/],
        [
          digitalOceanInstance({ options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" }, gatewayToken: "s3cr3t-".repeat(6) } }),
          "body.options.gatewayToken",
          /not accepted by the API/,
        ],
      ];
      for (const [payload, field, message] of cases) {
        const response = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload });
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        const body = response.json() as { field: string; message: string };
        expect(response.body).not.toContain("s3cr3t-");
        expect(body.field).toBe(field);
        expect(body.message).toMatch(message);
      }
      const after = await app.db.selectFrom("instances").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
    });

    it("answers 409 for a second operation on a busy stack and queues it only once", async () => {
      const { app } = harness;
      const slow = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), stepMs: 100, steps: 5 });
      const saved = engine.up.bind(engine);
      engine.up = (spec) => slow.up(spec);
      try {
        const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "busy" }) });
        const { instance, job } = created.json() as { instance: { id: string; stackName: string }; job: { id: string } };
        const attempts = await Promise.all(
          ["refresh", "refresh", "destroy", "refresh", "destroy"].map((operation) =>
            app.inject({
              method: operation === "destroy" ? "DELETE" : "POST",
              url: operation === "destroy" ? `/v1/instances/${instance.id}` : `/v1/instances/${instance.id}/refresh`,
              headers: user.auth,
            }),
          ),
        );
        expect(attempts.map((response) => response.statusCode)).toEqual([409, 409, 409, 409, 409]);
        expect((attempts[0]!.json() as { message: string }).message).toMatch(/already has a (queued|running) `up` job/);
        const active = await app.db.selectFrom("jobs").select("id").where("stack_name", "=", instance.stackName).execute();
        expect(active).toHaveLength(1);
        expect((await waitForJob(app, user, job.id)).state).toBe("succeeded");
      } finally {
        engine.up = saved;
      }
    });

    it("runs `up` again after a failed one", async () => {
      const { app } = harness;
      engine.failures.push({ operation: "up", code: "failed" });
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "again" }) });
      const { instance, job } = created.json() as { instance: { id: string }; job: { id: string } };
      const failed = await waitForJob(app, user, job.id);
      expect(failed.state).toBe("failed");
      expect(failed.error).toMatchObject({ code: "failed", message: "injected failed failure of up" });
      expect(((await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: user.auth })).json() as { status: string }).status).toBe("failed");
      const retry = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/up`, headers: user.auth });
      expect(retry.statusCode).toBe(202);
      expect((await waitForJob(app, user, (retry.json() as { job: { id: string } }).job.id)).state).toBe("succeeded");
      expect(((await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: user.auth })).json() as { status: string }).status).toBe("ready");
    });

    it("hides other users' instances and jobs", async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "mine" }) });
      const { instance, job } = created.json() as { instance: { id: string }; job: { id: string } };
      const stranger = await registerUser(app);
      expect((await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: stranger.auth })).statusCode).toBe(404);
      expect((await app.inject({ method: "GET", url: `/v1/jobs/${job.id}`, headers: stranger.auth })).statusCode).toBe(404);
      expect((await app.inject({ method: "DELETE", url: `/v1/instances/${instance.id}`, headers: stranger.auth })).statusCode).toBe(404);
      const list = (await app.inject({ method: "GET", url: "/v1/instances", headers: stranger.auth })).json() as { instances: unknown[] };
      expect(list.instances).toEqual([]);
      await waitForJob(app, user, job.id);
    });
  });
}

if (!POSTGRES_URL) console.warn("[skip] TEST_DATABASE_URL unset: only the SQLite lifecycle ran");
