/**
 * `npm run bench -- api`: the provisioning API's figures, each next to a
 * baseline measured in the same run.
 *
 * 1. Latency and throughput with the server in a process of its own
 *    (bench/api-server.ts; SQLite, logging at `info` to a discarding stream)
 *    and autocannon here, at 50 and 200 connections: an authenticated read
 *    (`GET /v1/me`: JWT verification, a user lookup, the response schema) and
 *    an authenticated write (`POST /v1/credentials`: a vault seal, the row and
 *    its audit entry in one transaction), each next to the bare `/healthz` of the same server
 *    (same hooks: security headers, CORS, rate limit, request ids), measured
 *    in the same run. p50, p99 and p99.9 of each.
 *    Targets: the read ≥ 40 % of the bare route's requests per second, read
 *    p99 < 20 ms at 50 connections.
 * 2. Vault decrypts per second with the per-user key cached (unwrap the data
 *    key, open the content, parse it), against one bare AES-256-GCM open of
 *    the same content. Issue target: ≥ 20,000/s.
 * 3. Resident memory while 8 logins run at once with the production argon2id
 *    settings (19 MiB, t=2, 2 hashes at a time), against one login alone.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { buildBenchApp } from "./api-server";
import { findUserKeySalt } from "../api/vault/credentials-repo";
import { open, seal } from "../api/vault/envelope";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p99_9: number; average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}) => Promise<AutocannonResult>;
// autocannon ships no types; this is the part of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon") as Autocannon;

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_API_SECONDS ?? 8);

/** Starts bench/api-server.ts in its own process; resolves with what it prints once it listens. */
async function startServerProcess(): Promise<{ url: string; accessToken: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "api-server.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const end = buffered.indexOf("\n");
      if (end >= 0) resolve(buffered.slice(0, end));
    });
    child.once("exit", (code) => reject(new Error(`bench/api-server.ts exited ${code} before listening`)));
  });
  const { url, accessToken } = JSON.parse(line) as { url: string; accessToken: string };
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { url, accessToken, stop };
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`.padStart(9);

/** Part 1: the server in its own process, the load generator here. */
async function benchLatency(): Promise<void> {
  const server = await startServerProcess();
  try {
    const auth = { authorization: `Bearer ${server.accessToken}` };
    const routes = [
      { label: "bare GET /healthz", url: `${server.url}/healthz` },
      { label: "read GET /v1/me", url: `${server.url}/v1/me`, headers: auth },
      {
        label: "write POST /v1/credentials",
        url: `${server.url}/v1/credentials`,
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ kind: "digitalocean", name: "bench", token: `dop_v1_${"cd".repeat(32)}` }),
      },
    ];
    await autocannon({ url: routes[0]!.url, connections: CONNECTIONS, duration: 2 });
    await autocannon({ url: routes[1]!.url, connections: CONNECTIONS, duration: 2, headers: auth });
    console.log(`HTTP, server in its own process (SQLite, logging on), autocannon in this one, ${DURATION_S} s per line;`);
    console.log(`  ${cpus().length} CPUs shared by both, load average ${loadavg()[0]!.toFixed(1)} at the start:`);
    const results = new Map<string, AutocannonResult>();
    for (const connections of [CONNECTIONS, 200]) {
      for (const route of routes) {
        const result = await autocannon({ connections, duration: DURATION_S, ...route });
        results.set(`${route.label}@${connections}`, result);
        const { latency } = result;
        console.log(
          `  ${String(connections).padStart(3)} conn  ${route.label.padEnd(27)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${ms(latency.p50)}  p99 ${ms(latency.p99)}  p99.9 ${ms(latency.p99_9)}  non-2xx ${result.non2xx}  errors ${result.errors}`,
        );
      }
    }
    for (const connections of [CONNECTIONS, 200]) {
      const bare = results.get(`bare GET /healthz@${connections}`)!;
      const read = results.get(`read GET /v1/me@${connections}`)!;
      const write = results.get(`write POST /v1/credentials@${connections}`)!;
      console.log(
        `  ${connections} connections: read/bare ${((read.requests.average / bare.requests.average) * 100).toFixed(1)} % (target >= 40 %), ` +
          `write/bare ${((write.requests.average / bare.requests.average) * 100).toFixed(1)} %; read p99 ${read.latency.p99} ms vs bare ${bare.latency.p99} ms` +
          (connections === CONNECTIONS ? " (target < 20 ms)" : ""),
      );
    }
  } finally {
    await server.stop();
  }
}

export default async function benchApi(): Promise<void> {
  await benchLatency();
  const { app, config, dataDir } = await buildBenchApp();
  try {
    const account = { email: "bench@example.com", password: "bench-password-0123456789" };
    await app.inject({ method: "POST", url: "/v1/auth/register", payload: account });
    const login = (await app.inject({ method: "POST", url: "/v1/auth/login", payload: account })).json() as { accessToken: string };
    const userId = ((await app.inject({ method: "GET", url: "/v1/me", headers: { authorization: `Bearer ${login.accessToken}` } })).json() as { id: string }).id;

    // 2. Vault decrypts with the key cached.
    const token = `dop_v1_${"ab".repeat(32)}`;
    const created = await app.inject({
      method: "POST",
      url: "/v1/credentials",
      headers: { authorization: `Bearer ${login.accessToken}` },
      payload: { kind: "digitalocean", name: "bench", token },
    });
    const credentialId = (created.json() as { id: string }).id;
    const row = await app.db.selectFrom("credentials").selectAll().where("id", "=", credentialId).executeTakeFirstOrThrow();
    const salt = (await findUserKeySalt(app.db, userId))!;
    const iterations = 50_000;
    await app.vault.open(row, salt); // warms the per-user key cache
    let started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) await app.vault.open(row, salt);
    const vaultPerSecond = iterations / (Number(process.hrtime.bigint() - started) / 1e9);

    const key = Buffer.alloc(32, 7);
    const context = { userId, credentialId, kind: "digitalocean" };
    const sealed = seal(Buffer.from(JSON.stringify({ kind: "digitalocean", token })), key, context);
    started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) open(sealed, key, context);
    const barePerSecond = iterations / (Number(process.hrtime.bigint() - started) / 1e9);
    console.log("Vault (per-user key cached):");
    console.log(`  vault.open (unwrap + decrypt + parse) ${vaultPerSecond.toFixed(0).padStart(8)} /s (target >= 20,000/s)`);
    console.log(`  bare AES-256-GCM open of the content   ${barePerSecond.toFixed(0).padStart(8)} /s; ratio ${((vaultPerSecond / barePerSecond) * 100).toFixed(1)} %`);

    // 3. Memory under 8 concurrent logins (production argon2id settings of this config).
    const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
    const peakDuring = async (task: () => Promise<unknown>) => {
      global.gc?.();
      const before = rssMiB();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 2);
      const t0 = Date.now();
      await task();
      clearInterval(sampler);
      return { before, peak: Math.max(peak, rssMiB()), ms: Date.now() - t0 };
    };
    const oneLogin = () => app.inject({ method: "POST", url: "/v1/auth/login", payload: account });
    const single = await peakDuring(oneLogin);
    const eight = await peakDuring(() => Promise.all(Array.from({ length: 8 }, oneLogin)));
    const hashing = config.passwordHashing;
    console.log(`Memory, argon2id m=${hashing.memoryKiB} KiB t=${hashing.timeCost}, at most ${hashing.concurrency} hashes at once:`);
    console.log(`  1 login:              RSS ${single.before.toFixed(0)} -> peak ${single.peak.toFixed(0)} MiB (+${(single.peak - single.before).toFixed(0)}), ${single.ms} ms`);
    console.log(`  8 concurrent logins:  RSS ${eight.before.toFixed(0)} -> peak ${eight.peak.toFixed(0)} MiB (+${(eight.peak - eight.before).toFixed(0)}), ${eight.ms} ms`);
    console.log(`  bound by the semaphore: ${hashing.concurrency} x ${(hashing.memoryKiB / 1024).toFixed(0)} MiB = ${((hashing.concurrency * hashing.memoryKiB) / 1024).toFixed(0)} MiB of hash memory at most`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
