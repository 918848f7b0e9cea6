/**
 * `npm run bench -- api`: the provisioning API's figures, each next to a
 * baseline measured in the same run.
 *
 * 1. An authenticated read route (`GET /v1/me`: JWT verification, a user
 *    lookup in SQLite, the response schema) against the bare `/healthz` of the
 *    same server (same hooks: security headers, CORS, rate limit, logging at
 *    `info` to a discarding stream), 50 connections each, with autocannon.
 *    Issue target: ≥ 40 % of the bare route's requests per second, p99 < 20 ms.
 * 2. Vault decrypts per second with the per-user key cached (unwrap the data
 *    key, open the content, parse it), against one bare AES-256-GCM open of
 *    the same content. Issue target: ≥ 20,000/s.
 * 3. Resident memory while 8 logins run at once with the production argon2id
 *    settings (19 MiB, t=2, 2 hashes at a time), against one login alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildApp } from "../api/app";
import { loadConfig } from "../api/config";
import { findUserKeySalt } from "../api/vault/credentials-repo";
import { open, seal } from "../api/vault/envelope";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<AutocannonResult>;
// autocannon ships no types; this is the part of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon") as Autocannon;

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_API_SECONDS ?? 8);

export default async function benchApi(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "clawstack-bench-api-"));
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const config = loadConfig({
    CLAWSTACK_DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "info",
    CLAWSTACK_RATE_LIMIT: "100000000",
    CLAWSTACK_LOGIN_RATE_LIMIT: "100000000",
    // The benchmark registers many accounts: sign-ups are opened explicitly (the default is invite-only).
    CLAWSTACK_REGISTRATION: "open",
  });
  const app = await buildApp(config, { logStream: discard });
  try {
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    const base = `http://127.0.0.1:${address.port}`;

    const account = { email: "bench@example.com", password: "bench-password-0123456789" };
    await app.inject({ method: "POST", url: "/v1/auth/register", payload: account });
    const login = (await app.inject({ method: "POST", url: "/v1/auth/login", payload: account })).json() as { accessToken: string };
    const userId = ((await app.inject({ method: "GET", url: "/v1/me", headers: { authorization: `Bearer ${login.accessToken}` } })).json() as { id: string }).id;

    // 1. Authenticated read vs bare route.
    await autocannon({ url: `${base}/healthz`, connections: CONNECTIONS, duration: 2 });
    const bare = await autocannon({ url: `${base}/healthz`, connections: CONNECTIONS, duration: DURATION_S });
    const authed = await autocannon({
      url: `${base}/v1/me`,
      connections: CONNECTIONS,
      duration: DURATION_S,
      headers: { authorization: `Bearer ${login.accessToken}` },
    });
    const ratio = authed.requests.average / bare.requests.average;
    console.log(`HTTP, ${CONNECTIONS} connections, ${DURATION_S} s each (SQLite, logging on; autocannon in the same process;`);
    console.log(`  ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} when measured):`);
    console.log(`  bare GET /healthz        ${bare.requests.average.toFixed(0).padStart(7)} req/s   p50 ${bare.latency.p50} ms   p99 ${bare.latency.p99} ms   non-2xx ${bare.non2xx}`);
    console.log(`  authenticated GET /v1/me ${authed.requests.average.toFixed(0).padStart(7)} req/s   p50 ${authed.latency.p50} ms   p99 ${authed.latency.p99} ms   non-2xx ${authed.non2xx}`);
    console.log(`  ratio authenticated/bare: ${(ratio * 100).toFixed(1)} % (target >= 40 %); p99 ${authed.latency.p99} ms (target < 20 ms)`);

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
