/**
 * `npm run bench -- jobs`: the job queue's cost, each figure next to a
 * baseline measured in the same run.
 *
 *   1. baseline: one offline synth + policy review in a loop (what every preview costs);
 *   2. 1,000 queued preview jobs (BENCH_JOBS) drained by one worker on SQLite with the real
 *      offline engine: jobs/s and peak RSS, and the ratio to the synth loop's rate;
 *   3. claim latency on PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL): 1 worker, then
 *      4 workers (own pools) claiming and finishing no-op jobs: p50/p95/p99 of `claimJob`.
 *      Skipped with a printed reason when no database URL is given.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client } from "pg";
import { openDatabase, type DatabaseHandle } from "../api/db/connect";
import { migrateToLatest } from "../api/db/migrate";
import { AutomationEngine } from "../api/engine/automation";
import { offlinePlanner } from "../api/engine/plan";
import { selectJobStack } from "../api/engine/host-config";
import type { CredentialProvider } from "../api/jobs/credentials";
import { claimJob, enqueueJob, finishJob } from "../api/jobs/queue";
import { DEFAULT_MEMORY_MB } from "../api/jobs/settings";
import { JobWorker } from "../api/jobs/worker";
import { resolveStackLayout } from "../api/stacks/layout";
import { newInstanceId, stackNameFor } from "../api/stacks/naming";

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const BASELINE_SYNTHS = Number(process.env.BENCH_SYNTHS ?? 40);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 800);

const CONFIG = { cloud: "digitalocean", region: "nyc3", gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } };

const noCredentials: CredentialProvider = {
  async choose() {
    return "none";
  },
  async forJob() {
    return { env: {}, secrets: [] };
  },
};

function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function seedInstance(handle: DatabaseHandle): Promise<{ userId: string; instanceId: string; stackName: string }> {
  const at = new Date().toISOString();
  const userId = `usr_${randomBytes(6).toString("hex")}`;
  await handle.db.insertInto("users").values({ id: userId, email: `${userId}@bench.test`, password_hash: "x", role: "user", plan_id: "free", created_at: at, updated_at: at }).execute();
  const instanceId = newInstanceId();
  const stackName = stackNameFor(userId, instanceId);
  await handle.db
    .insertInto("instances")
    .values({
      id: instanceId, user_id: userId, cloud: "digitalocean", region: "nyc3", size: "small", credential_id: null,
      config: JSON.stringify(CONFIG), stack_name: stackName, status: "ready", outputs: null, last_job_id: null,
      idempotency_key: null, request_hash: null, gateway_token_ref: null, tls_fingerprint: null, registered_at: null,
      created_at: at, updated_at: at,
    })
    .execute();
  return { userId, instanceId, stackName };
}

async function synthBaseline(): Promise<number> {
  await offlinePlanner({ stackName: "bench-warmup", stack: selectJobStack("host", CONFIG), config: CONFIG });
  const sampler = rssSampler();
  const started = performance.now();
  for (let index = 0; index < BASELINE_SYNTHS; index += 1) {
    await offlinePlanner({ stackName: "bench-synth", stack: selectJobStack("host", CONFIG), config: CONFIG });
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = sampler.stop();
  const rate = BASELINE_SYNTHS / seconds;
  console.log(`baseline  synth + review in a loop: ${BASELINE_SYNTHS} in ${seconds.toFixed(1)} s = ${rate.toFixed(2)}/s, peak RSS ${mb(peak)}`);
  return rate;
}

async function drainPreviews(baselineRate: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-jobs-"));
  const handle = openDatabase({ engine: "sqlite", file: join(dir, "bench.sqlite") });
  try {
    await migrateToLatest(handle.db);
    const { userId, instanceId, stackName } = await seedInstance(handle);
    for (let index = 0; index < JOBS; index += 1) {
      await enqueueJob(handle.db, { instanceId, userId, stackName, operation: "preview", memoryMb: DEFAULT_MEMORY_MB.preview, maxAttempts: 1 });
    }
    const layout = resolveStackLayout({ dataDir: dir, workerName: "bench", env: { PULUMI_BACKEND_URL: `file://${join(dir, "state")}` } });
    const engine = new AutomationEngine({ layout, planner: offlinePlanner, cliPath: null });
    const worker = new JobWorker({
      db: handle.db,
      dialect: "sqlite",
      engine,
      layout,
      credentials: noCredentials,
      worker: { memoryBudgetMb: 2048, slots: 16, previewSlots: 1, leaseMs: 60_000, heartbeatMs: 20_000, pollMs: 5 },
      queue: { memoryMb: DEFAULT_MEMORY_MB, maxAttempts: 1, retryBaseMs: 1000, retryMaxMs: 1000 },
    });
    const sampler = rssSampler();
    const started = performance.now();
    worker.start();
    for (;;) {
      const open = await handle.db.selectFrom("jobs").select("id").where("state", "in", ["queued", "running"]).limit(1).execute();
      if (open.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    const peak = sampler.stop();
    const failed = await handle.db.selectFrom("jobs").select("id").where("state", "!=", "succeeded").execute();
    const rate = JOBS / seconds;
    console.log(
      `queue     ${JOBS} preview jobs drained (1 worker, SQLite, one preview at a time: synths are serialized per process): ` +
        `${seconds.toFixed(1)} s = ${rate.toFixed(2)} jobs/s, peak RSS ${mb(peak)}, ${failed.length} not succeeded, ` +
        `peak committed ${worker.peakCommittedMemoryMb} MB`,
    );
    console.log(`ratio     queue / synth loop: ${(rate / baselineRate).toFixed(2)} (1.00 = the queue adds nothing; synths are serialized per process)`);
  } finally {
    await handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function claimLatency(url: string): Promise<void> {
  const name = `jobs_bench_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const target = new URL(url);
  target.pathname = `/${name}`;
  const setup = openDatabase({ engine: "postgres", url: target.href }, { poolSize: 4 });
  try {
    await migrateToLatest(setup.db);
    const { userId, instanceId, stackName } = await seedInstance(setup);
    for (const workers of [1, 4]) {
      for (let index = 0; index < CLAIMS; index += 1) {
        await enqueueJob(setup.db, { instanceId, userId, stackName, operation: "preview", memoryMb: 150, maxAttempts: 1 });
      }
      const handles = Array.from({ length: workers }, () => openDatabase({ engine: "postgres", url: target.href }, { poolSize: 2 }));
      const latencies: number[] = [];
      const claimedIds = new Set<string>();
      let duplicates = 0;
      const started = performance.now();
      await Promise.all(
        handles.map(async (handle, index) => {
          for (;;) {
            const before = performance.now();
            const job = await claimJob(handle.db, "postgres", { workerId: `bench-${index}`, freeMemoryMb: undefined, leaseMs: 60_000 });
            latencies.push(performance.now() - before);
            if (!job) return;
            if (claimedIds.has(job.id)) duplicates += 1;
            claimedIds.add(job.id);
            await finishJob(handle.db, job, `bench-${index}`, { state: "succeeded" });
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      for (const handle of handles) await handle.close();
      latencies.sort((a, b) => a - b);
      console.log(
        `claim     PostgreSQL, ${workers} worker${workers > 1 ? "s" : " "}: ${claimedIds.size} jobs in ${seconds.toFixed(2)} s = ${(claimedIds.size / seconds).toFixed(0)} claims+finishes/s; ` +
          `claim p50 ${percentile(latencies, 50).toFixed(2)} ms, p95 ${percentile(latencies, 95).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms; ` +
          `${duplicates} claimed twice`,
      );
    }
  } finally {
    await setup.close();
    const cleanup = new Client({ connectionString: url });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  }
}

export default async function bench(): Promise<void> {
  const baseline = await synthBaseline();
  await drainPreviews(baseline);
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!url) {
    console.log("[skip] claim latency on PostgreSQL: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a postgres:// URL allowed to CREATE DATABASE");
    return;
  }
  await claimLatency(url);
}
