/**
 * The state disk's snapshots (issue 16): `GET /v1/instances/:id/snapshots` and
 * `POST /v1/instances/:id/snapshots/refresh` through the real app, queue and
 * worker (SQLite; PostgreSQL too with TEST_DATABASE_URL), each cloud played by
 * a stand-in of its API on loopback. The refresh enqueues a read-only
 * `snapshots` job (audited, not the instance's last job, the one already
 * queued answered again); the worker lists the disk with the job's
 * credentials and stores the list on the job; the GET serves the newest
 * successful list with `listedAt` beside the newest job's state. A failed
 * listing keeps the last list and says why; an instance without a
 * `stateDiskId` output or someone else's instance is refused; no credential
 * reaches the database or the logs.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cloud } from "../../api/db/schema";
import type { CredentialProvider } from "../../api/jobs/credentials";
import { getInstance } from "../../api/jobs/instances-repo";
import type { QueueSettings, WorkerSettings } from "../../api/jobs/settings";
import { JobWorker } from "../../api/jobs/worker";
import { insertInstance } from "./jobs/support/db";
import { StandInEngine } from "./jobs/support/stand-in-engine";
import { auditEntries, bearer, engines, json, remember, scanForSecrets, signUp, startApi, type TestApi } from "./support";

const QUEUE: QueueSettings = { memoryMb: { up: 600, refresh: 400, destroy: 400, preview: 150 }, maxAttempts: 3, retryBaseMs: 40, retryMaxMs: 200 };
const WORKER: WorkerSettings = { memoryBudgetMb: 2000, slots: 50, previewSlots: 50, leaseMs: 2000, heartbeatMs: 200, pollMs: 10 };
const DO_TOKEN = `dop_v1_${"5a".repeat(32)}`;
const AWS_SECRET = `${"S".repeat(20)}${"k".repeat(20)}`;
const VOLUME = "506f78a4-e098-11e5-ad9f-000f53306ae1";
const EBS = "vol-0123456789abcdef0";
const GCP_DISK = "projects/claw-project-1/zones/europe-west1-b/disks/claw-state";

const credentials: CredentialProvider = {
  async choose() {
    return "cred_test";
  },
  async forJob({ cloud }): Promise<{ env: Record<string, string>; secrets: string[] }> {
    if (cloud === "digitalocean") return { env: { DIGITALOCEAN_TOKEN: DO_TOKEN }, secrets: [DO_TOKEN] };
    if (cloud === "aws") return { env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLEEXAMPLE12", AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_SESSION_TOKEN: "t".repeat(40) }, secrets: [AWS_SECRET] };
    return { env: { GOOGLE_CREDENTIALS: JSON.stringify({ type: "external_account" }) }, secrets: [] };
  },
};

/** One stand-in playing the three APIs' listing calls (DigitalOcean under /v2, EC2 at POST /, Compute under /projects). */
function clouds() {
  const state = {
    doSnapshots: [
      { id: "do-1", name: "clawstack-state-claw-state-20261101t0400z", created_at: "2026-11-01T04:00:05Z", min_disk_size: 20, tags: ["ManagedBy:claw-cloud", "clawstack-snapshot:state"] },
      { id: "do-2", name: "before-upgrade", created_at: "2026-11-02T09:30:00Z", min_disk_size: 20, tags: [] },
    ],
    doRefuse: false,
    calls: 0,
  };
  const send = (status: number, value: unknown, type = "application/json") => ({ status, type, body: typeof value === "string" ? value : JSON.stringify(value) });
  const digitalOcean = (req: IncomingMessage) => {
    if (req.headers.authorization !== `Bearer ${DO_TOKEN}`) return send(401, { id: "unauthorized", message: "Unable to authenticate you" });
    if (state.doRefuse) return send(403, { id: "forbidden", message: "You are not authorized to perform this operation" });
    if (req.method === "GET" && req.url?.startsWith(`/v2/volumes/${VOLUME}/snapshots?`)) return send(200, { snapshots: state.doSnapshots });
    return send(404, { id: "not_found", message: "not found" });
  };
  const ec2 = (body: string) => {
    const form = new URLSearchParams(body);
    if (form.get("Action") !== "DescribeSnapshots" || form.get("Filter.1.Value.1") !== EBS) return send(400, "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>x</Message></Error></Errors></Response>", "text/xml");
    const item = (id: string, start: string, tags: string) =>
      `<item><snapshotId>${id}</snapshotId><volumeId>${EBS}</volumeId><status>completed</status><startTime>${start}</startTime><volumeSize>20</volumeSize><tagSet>${tags}</tagSet></item>`;
    return send(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><snapshotSet>${item("snap-0aaaaaaaaaaaaaaa1", "2026-11-01T04:01:00.000Z", "<item><key>aws:dlm:lifecycle-policy-id</key><value>policy-1</value></item>")}${item("snap-0aaaaaaaaaaaaaaa2", "2026-11-02T04:01:00.000Z", "")}</snapshotSet></DescribeSnapshotsResponse>`,
      "text/xml",
    );
  };
  const compute = (req: IncomingMessage) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/projects/claw-project-1/global/snapshots") return send(404, {});
    const source = `https://www.googleapis.com/compute/v1/${GCP_DISK}`;
    if (url.searchParams.get("filter") !== `sourceDisk = "${source}"`) return send(200, {});
    return send(200, { items: [{ name: "claw-state-auto-1", sourceDisk: source, creationTimestamp: "2026-11-03T04:00:00.000-00:00", diskSizeGb: "20", status: "READY", autoCreated: true }] });
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      state.calls += 1;
      const answer = req.url?.startsWith("/v2/") ? digitalOcean(req) : req.url?.startsWith("/projects/") ? compute(req) : ec2(body);
      res.writeHead(answer.status, { "content-type": answer.type });
      res.end(answer.body);
    });
  });
  return { state, server };
}

const OUTPUTS: Record<Cloud, Record<string, unknown>> = {
  digitalocean: { instanceId: "4242", stateDiskId: VOLUME, snapshots: "daily at 04:00 UTC, keep 7" },
  aws: { instanceId: "i-0123456789abcdef0", stateDiskId: EBS, snapshots: "daily at 04:00 UTC, keep 7" },
  gcp: { instanceId: "1234", stateDiskId: GCP_DISK, snapshots: "weekly on SUN at 03:00 UTC, keep 4" },
};
const SCHEDULE = { enabled: true, frequency: "daily", hourUtc: 4, retain: 7 };

describe.each(engines("the snapshot routes"))("the state disk's snapshots on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let stand: ReturnType<typeof clouds>;
  let base: string;
  const workers: JobWorker[] = [];

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    remember(api, DO_TOKEN, AWS_SECRET);
    stand = clouds();
    await new Promise<void>((done) => stand.server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(stand.server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop({ abort: true });
  });
  afterAll(async () => {
    if (skip) return;
    await new Promise((done) => stand.server.close(done));
    await api.close();
  });

  function startWorker(): JobWorker {
    const worker = new JobWorker({
      db: api.app.db,
      dialect: engine,
      engine: new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) }),
      layout: { stacksDir: mkdtempSync(join(tmpdir(), "stacks-")), secretEnv: {} },
      credentials,
      worker: WORKER,
      queue: QUEUE,
      power: { endpoints: { digitalocean: base, ec2: base, compute: base } },
    });
    workers.push(worker);
    worker.start();
    return worker;
  }

  async function deployed(userId: string, cloud: Cloud, outputs: Record<string, unknown> | null = OUTPUTS[cloud]) {
    const { id } = await insertInstance(api.app.db, { userId, cloud, status: "ready", credentialId: null });
    await api.app.db
      .updateTable("instances")
      .set({ config: JSON.stringify({ cloud, name: "claw", snapshots: SCHEDULE }), outputs: outputs === null ? null : JSON.stringify(outputs), last_job_id: null })
      .where("id", "=", id)
      .execute();
    return id;
  }

  const read = async (token: string, id: string) => {
    const answer = await api.inject({ method: "GET", url: `/v1/instances/${id}/snapshots`, headers: bearer(token) });
    expect(answer.statusCode, answer.body).toBe(200);
    return json(answer) as {
      schedule: unknown;
      scheduleSummary: string | null;
      takenBy: string;
      stateDiskId: string | null;
      listedAt: string | null;
      snapshots: { id: string; createdAt: string; source: string; sizeGiB?: number; status?: string }[];
      total: number;
      listing: { id: string; state: string; operation: string; error: { code: string; message: string } | null } | null;
    };
  };

  async function listed(token: string, id: string, jobId: string) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answer = await read(token, id);
      if (answer.listing?.id === jobId && ["succeeded", "failed"].includes(answer.listing.state)) return answer;
      if (Date.now() > deadline) throw new Error(`the listing ${jobId} did not end: ${JSON.stringify(answer.listing)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const refresh = (token: string, id: string) => api.inject({ method: "POST", url: `/v1/instances/${id}/snapshots/refresh`, headers: bearer(token) });

  it.skipIf(skip)("DigitalOcean: the schedule at once, the listing after a refresh (newest first, by source), audited, never the last job; nothing secret stored or logged", async () => {
    const alice = await signUp(api, "alice");
    const id = await deployed(alice.userId, "digitalocean");
    const before = await read(alice.accessToken, id);
    expect(before).toEqual({
      schedule: SCHEDULE,
      scheduleSummary: "daily at 04:00 UTC, keep 7",
      takenBy: expect.stringMatching(/ClawStack's snapshot sweep/),
      stateDiskId: VOLUME,
      listedAt: null,
      snapshots: [],
      total: 0,
      listing: null,
    });

    const first = await refresh(alice.accessToken, id);
    expect(first.statusCode, first.body).toBe(202);
    const job = (json(first).job as { id: string; operation: string; state: string });
    expect(job).toMatchObject({ operation: "snapshots", state: "queued" });
    // Asked again while queued: the same listing, not a second one.
    const again = await refresh(alice.accessToken, id);
    expect(again.statusCode).toBe(202);
    expect((json(again).job as { id: string }).id).toBe(job.id);

    const started = Date.now();
    startWorker();
    const after = await listed(alice.accessToken, id, job.id);
    expect(after.listing?.state, JSON.stringify(after.listing)).toBe("succeeded");
    expect(Date.parse(after.listedAt ?? "")).toBeGreaterThanOrEqual(started - 1000);
    expect(after.total).toBe(2);
    expect(after.snapshots).toEqual([
      { id: "do-2", name: "before-upgrade", createdAt: "2026-11-02T09:30:00.000Z", sizeGiB: 20, source: "manual" },
      { id: "do-1", name: "clawstack-state-claw-state-20261101t0400z", createdAt: "2026-11-01T04:00:05.000Z", sizeGiB: 20, source: "schedule" },
    ]);

    const instance = await getInstance(api.app.db, id);
    expect(instance).toMatchObject({ status: "ready", last_job_id: null });
    const audit = await auditEntries(api);
    expect(audit.filter((entry) => entry.action === "instance.snapshots.refresh" && entry.target === id)).toHaveLength(2);
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("AWS and GCP: listed through EC2 and Compute with the job's credentials", async () => {
    const bob = await signUp(api, "bob");
    startWorker();
    const aws = await deployed(bob.userId, "aws");
    const awsJob = json(await refresh(bob.accessToken, aws)).job as { id: string };
    const awsList = await listed(bob.accessToken, aws, awsJob.id);
    expect(awsList.listing?.state, JSON.stringify(awsList.listing)).toBe("succeeded");
    expect(awsList.takenBy).toMatch(/Data Lifecycle Manager/);
    expect(awsList.snapshots.map((snapshot) => [snapshot.id, snapshot.source, snapshot.status])).toEqual([
      ["snap-0aaaaaaaaaaaaaaa2", "manual", "completed"],
      ["snap-0aaaaaaaaaaaaaaa1", "schedule", "completed"],
    ]);

    const gcp = await deployed(bob.userId, "gcp");
    const gcpJob = json(await refresh(bob.accessToken, gcp)).job as { id: string };
    const gcpList = await listed(bob.accessToken, gcp, gcpJob.id);
    expect(gcpList.listing?.state, JSON.stringify(gcpList.listing)).toBe("succeeded");
    expect(gcpList.scheduleSummary).toBe("weekly on SUN at 03:00 UTC, keep 4");
    expect(gcpList.snapshots).toEqual([{ id: "claw-state-auto-1", createdAt: "2026-11-03T04:00:00.000Z", sizeGiB: 20, status: "ready", source: "schedule" }]);
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("a failed listing keeps the last list, says why, and leaves the instance as it was", async () => {
    const carol = await signUp(api, "carol");
    startWorker();
    const id = await deployed(carol.userId, "digitalocean");
    const good = json(await refresh(carol.accessToken, id)).job as { id: string };
    const first = await listed(carol.accessToken, id, good.id);
    expect(first.total).toBe(2);

    stand.state.doRefuse = true;
    try {
      const bad = json(await refresh(carol.accessToken, id)).job as { id: string };
      const after = await listed(carol.accessToken, id, bad.id);
      expect(after.listing?.state).toBe("failed");
      expect(after.listing?.error?.code).toBe("snapshots_cloud_error");
      expect(after.listing?.error?.message).toMatch(/HTTP 403 \(the token lacks the `block_storage_snapshot:read` scope\)/);
      expect(after.listedAt).toBe(first.listedAt);
      expect(after.snapshots).toEqual(first.snapshots);
    } finally {
      stand.state.doRefuse = false;
    }
    expect(await getInstance(api.app.db, id)).toMatchObject({ status: "ready" });
  });

  it.skipIf(skip)("refuses an instance without a `stateDiskId` output, a destroyed one, and a busy stack, naming why, without calling the cloud", async () => {
    const dave = await signUp(api, "dave");
    const calls = stand.state.calls;
    const fresh = await deployed(dave.userId, "aws", { instanceId: "i-0123456789abcdef0" });
    const early = await refresh(dave.accessToken, fresh);
    expect(early.statusCode).toBe(409);
    expect(json(early).message).toMatch(/no `stateDiskId` output \(its state disk\) yet: run `up`/);
    expect((await read(dave.accessToken, fresh)).stateDiskId).toBeNull();

    const gone = await deployed(dave.userId, "gcp");
    await api.app.db.updateTable("instances").set({ status: "destroyed" }).where("id", "=", gone).execute();
    expect((await refresh(dave.accessToken, gone)).statusCode).toBe(409);

    const busy = await deployed(dave.userId, "digitalocean");
    const up = await api.inject({ method: "POST", url: `/v1/instances/${busy}/up`, headers: bearer(dave.accessToken) });
    expect(up.statusCode).toBe(202);
    const refused = await refresh(dave.accessToken, busy);
    expect(refused.statusCode).toBe(409);
    expect(json(refused).message).toMatch(/already has a queued `up` job/);
    expect(stand.state.calls).toBe(calls);
  });

  it.skipIf(skip)("someone else's instance is a 404 on both routes", async () => {
    const erin = await signUp(api, "erin");
    const frank = await signUp(api, "frank");
    const id = await deployed(erin.userId, "digitalocean");
    expect((await api.inject({ method: "GET", url: `/v1/instances/${id}/snapshots`, headers: bearer(frank.accessToken) })).statusCode).toBe(404);
    expect((await refresh(frank.accessToken, id)).statusCode).toBe(404);
    const jobs = await api.app.db.selectFrom("jobs").select("id").where("instance_id", "=", id).execute();
    expect(jobs).toEqual([]);
  });
});
