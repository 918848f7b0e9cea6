/**
 * Power jobs (issue 14 item 6) through the real queue and worker on SQLite,
 * the cloud played by a DigitalOcean API stand-in on loopback: stop and start
 * run on the stack's lock, move the instance through stopping → stopped →
 * starting → ready, keep its outputs (address, state disk), report health as
 * `stopped` rather than `down`, and a refused action leaves the instance as it
 * was. No Pulumi CLI is needed (the stand-in engine cannot deploy).
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Job } from "../../../api/db/schema";
import type { CredentialProvider } from "../../../api/jobs/credentials";
import { readJobEvents } from "../../../api/jobs/events";
import { enqueueOperation } from "../../../api/jobs/instances";
import { getInstance } from "../../../api/jobs/instances-repo";
import { getJob } from "../../../api/jobs/queue";
import type { QueueSettings, WorkerSettings } from "../../../api/jobs/settings";
import { JobWorker } from "../../../api/jobs/worker";
import { healthView } from "../../../api/health/view";
import { createSqliteDatabase, insertInstance, insertUser, type TestDatabase } from "./support/db";
import { StandInEngine } from "./support/stand-in-engine";

const QUEUE: QueueSettings = { memoryMb: { up: 600, refresh: 400, destroy: 400, preview: 150 }, maxAttempts: 3, retryBaseMs: 40, retryMaxMs: 200 };
const WORKER: WorkerSettings = { memoryBudgetMb: 2000, slots: 50, previewSlots: 50, leaseMs: 2000, heartbeatMs: 200, pollMs: 10 };
const TOKEN = `dop_v1_${"cd".repeat(32)}`;

const credentials: CredentialProvider = {
  async choose() {
    return "cred_test";
  },
  async forJob() {
    return { env: { DIGITALOCEAN_TOKEN: TOKEN }, secrets: [TOKEN] };
  },
};

/** A droplet behind DigitalOcean's droplet and action endpoints. */
function digitalOceanStandIn(tags: string[]) {
  const state = { status: "active", actions: [] as string[] };
  const pending = new Map<number, string>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { id: "unauthorized", message: "Unable to authenticate you" });
      if (req.method === "GET" && req.url === "/v2/droplets/4242") return send(200, { droplet: { id: 4242, status: state.status, tags } });
      if (req.method === "POST" && req.url === "/v2/droplets/4242/actions") {
        const { type } = JSON.parse(body) as { type: string };
        state.actions.push(type);
        pending.set(pending.size + 1, type);
        state.status = "new";
        return send(201, { action: { id: pending.size, status: "in-progress", type } });
      }
      const id = Number(/^\/v2\/actions\/(\d+)$/.exec(req.url ?? "")?.[1]);
      const type = pending.get(id);
      if (req.method === "GET" && type) {
        state.status = type === "shutdown" ? "off" : "active";
        return send(200, { action: { id, status: "completed" } });
      }
      return send(404, { id: "not_found", message: "not found" });
    });
  });
  return { state, server };
}

describe("power jobs: stop, start, reboot through the queue", () => {
  let database: TestDatabase;
  let userId: string;
  let stand: ReturnType<typeof digitalOceanStandIn> | undefined;
  const workers: JobWorker[] = [];

  beforeEach(async () => {
    database = await createSqliteDatabase();
    userId = await insertUser(database.handle);
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop({ abort: true });
    if (stand) await new Promise((done) => stand?.server.close(done));
    stand = undefined;
    await database.dispose();
  });

  async function setUp(tags: string[]) {
    stand = digitalOceanStandIn(tags);
    await new Promise<void>((done) => stand?.server.listen(0, "127.0.0.1", done));
    const baseUrl = `http://127.0.0.1:${(stand.server.address() as AddressInfo).port}`;
    const worker = new JobWorker({
      db: database.handle.db,
      dialect: "sqlite",
      engine: new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) }),
      layout: { stacksDir: mkdtempSync(join(tmpdir(), "stacks-")), secretEnv: {} },
      credentials,
      worker: WORKER,
      queue: QUEUE,
      power: { endpoints: { digitalocean: baseUrl }, pollMs: 5, waitMs: 5_000 },
    });
    workers.push(worker);
    worker.start();
    const instance = await insertInstance(database.handle.db, { userId, status: "ready" });
    const outputs = { instanceId: "4242", publicIpv4: "203.0.113.10", stateDiskId: "vol-1" };
    await database.handle.db.updateTable("instances").set({ outputs: JSON.stringify(outputs) }).where("id", "=", instance.id).execute();
    return { instanceId: instance.id, outputs, state: stand.state };
  }

  async function run(instanceId: string, operation: "stop" | "start" | "reboot"): Promise<Job> {
    const instance = (await getInstance(database.handle.db, instanceId))!;
    const job = await enqueueOperation(database.handle.db, QUEUE, instance, operation);
    expect(job.memory_mb).toBe(64);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const current = (await getJob(database.handle.db, job.id))!;
      if (current.state === "succeeded" || current.state === "failed") return current;
      if (Date.now() > deadline) throw new Error(`job ${job.id} did not finish: ${current.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("stops and starts the droplet, keeps the outputs, and health says stopped while it is", async () => {
    const { instanceId, outputs, state } = await setUp(["ManagedBy:claw-cloud"]);
    const stopped = await run(instanceId, "stop");
    expect(stopped.state).toBe("succeeded");
    let instance = (await getInstance(database.handle.db, instanceId))!;
    expect(instance.status).toBe("stopped");
    expect(JSON.parse(instance.outputs ?? "{}")).toEqual(outputs);
    expect(healthView(instance).status).toBe("stopped");
    const events = await readJobEvents(database.handle.db, stopped.id, 0);
    expect(JSON.stringify(events)).toContain("stop: done after");
    expect(JSON.stringify(events)).not.toContain(TOKEN);

    expect((await run(instanceId, "start")).state).toBe("succeeded");
    instance = (await getInstance(database.handle.db, instanceId))!;
    expect(instance.status).toBe("ready");
    expect(healthView(instance).status).not.toBe("stopped");
    expect((await run(instanceId, "reboot")).state).toBe("succeeded");
    expect(state.actions).toEqual(["shutdown", "power_on", "reboot"]);
  });

  it("a refused action fails the job with its reason and leaves the instance as it was", async () => {
    const { instanceId, state } = await setUp(["someone-else"]);
    const job = await run(instanceId, "stop");
    expect(job.state).toBe("failed");
    expect(job.error_code).toBe("power_not_managed");
    expect(job.error).toMatch(/does not carry the tag ManagedBy:claw-cloud/);
    expect((await getInstance(database.handle.db, instanceId))!.status).toBe("ready");
    expect(state.actions).toEqual([]);
  });
});
