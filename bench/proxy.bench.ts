/**
 * `npm run bench -- proxy`: the chat proxy against the real OpenClaw gateway
 * (a local host: api/demo/local-host.ts), in one run:
 *
 * 1. Round trips per second and p50/p99 of one gateway RPC (`health`), one in
 *    flight, through the proxy (API in a process of its own: bench/proxy-server.ts)
 *    against the same client talking to the gateway directly (same TLS front,
 *    same pinning), in alternating blocks. Issue goals: ≥ 70 % of direct
 *    throughput, ≤ 2 ms added p99 on loopback.
 * 2. Memory per idle proxied connection: the API processes' RSS (after a GC)
 *    before and after `CLAWSTACK_BENCH_IDLE_CONNECTIONS` (default 10,000, the
 *    issue's figure) handshaken, idle connections. Goal: < 64 KiB each. Each one
 *    holds one descriptor in this process (the client), two in an API process,
 *    two in a TLS front and one in the gateway. The bench raises its open-file
 *    limit with `prlimit` when it may (root with CAP_SYS_RESOURCE; children
 *    inherit it); otherwise it spreads the connections over as many API
 *    processes (each with its own front process: bench/proxy-front.ts) as the
 *    limit needs, as a scaled-out Claw Cloud would, and says so.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { type LocalHost, localHostUnavailableReason, makeCertificate, startLocalHost } from "../api/demo/local-host";

/** A whole number from the environment, or the default; anything else stops the run naming the variable. */
function countSetting(name: string, fallback: number, max: number): number {
  const given = process.env[name];
  if (given === undefined || given === "") return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`\`${name}\` must be a whole number from 1 to ${max}; got ${JSON.stringify(given)}`);
  return value;
}

const ROUND_TRIPS = countSetting("CLAWSTACK_BENCH_ROUND_TRIPS", 600, 1_000_000);
const IDLE_WANTED = countSetting("CLAWSTACK_BENCH_IDLE_CONNECTIONS", 10_000, 100_000);
/** Descriptors a process keeps besides its idle connections' (the gateway's own, the runtime's, the log). */
const FD_HEADROOM = 2_000;

/** This process's soft open-file limit (/proc/self/limits). */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((entry) => entry.startsWith("Max open files"));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(soft);
}

/**
 * How many idle connections this run opens and over how many API processes: an API process and a front hold
 * two descriptors per connection, this process and the gateway one. Raises the limit as root when it may (the
 * children inherit it); else as many API processes as the limit needs, and never more connections than one
 * process may hold descriptors for.
 */
function idlePlan(): { count: number; shards: number; note: string } {
  const single = IDLE_WANTED * 2 + FD_HEADROOM;
  if (openFileLimit() < single && process.getuid?.() === 0) {
    spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${single}:${single}`], { stdio: "ignore" });
  }
  const limit = openFileLimit();
  const budget = Math.max(100, limit - FD_HEADROOM);
  const count = Math.min(IDLE_WANTED, budget);
  const shards = Math.ceil((count * 2) / budget);
  const capped = count < IDLE_WANTED ? `; ${IDLE_WANTED} asked, the open-file limit ${limit} fits ${count}` : "";
  const spread = shards > 1 ? ` across ${shards} API processes (the open-file limit ${limit} holds ${Math.floor(budget / 2)} proxied connections per process; \`ulimit -n ${single}\` for one)` : "";
  return { count, shards, note: `${spread}${capped}` };
}
const METHOD = "health";

interface Client {
  socket: WebSocket;
  call(method: string): Promise<void>;
}

/** Opens `url`, completes the handshake (with `token` for the direct path, without for the proxy) and returns an RPC caller. */
function openClient(url: string, token: string | undefined, pinned: boolean): Promise<Client> {
  const socket = new WebSocket(url, pinned ? { rejectUnauthorized: false } : {});
  const pending = new Map<string, () => void>();
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; ok?: boolean; event?: string; error?: unknown };
      if (frame.event === "connect.challenge") {
        socket.send(JSON.stringify({
          type: "req", id: "connect", method: "connect",
          params: { minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "bench", platform: "linux", mode: "cli" }, role: "operator", scopes: ["operator.read", "operator.write"], caps: [], ...(token ? { auth: { token } } : {}) },
        }));
      } else if (frame.type === "res" && frame.id === "connect") {
        if (!frame.ok) return reject(new Error(`connect refused: ${JSON.stringify(frame.error)}`));
        resolve({
          socket,
          call: (method) =>
            new Promise<void>((done, fail) => {
              const id = randomUUID();
              pending.set(id, done);
              socket.send(JSON.stringify({ type: "req", id, method, params: {} }), (error) => error && fail(error));
            }),
        });
      } else if (frame.type === "res" && frame.id !== undefined) {
        pending.get(frame.id)?.();
        pending.delete(frame.id);
      }
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function roundTrips(client: Client, count: number, into: number[]): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const at = performance.now();
    await client.call(METHOD);
    into.push(performance.now() - at);
  }
  return performance.now() - started;
}

function startServer(host: Pick<LocalHost, "gatewayUrl" | "gatewayToken" | "tlsCertSha256">): Promise<{ child: ChildProcess; apiUrl: string; accessToken: string; instanceId: string; mem(): Promise<{ rss: number; heapUsed: number; external: number; open: number }> }> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(__dirname, "proxy-server.ts")], {
    env: { ...process.env, BENCH_GATEWAY_URL: host.gatewayUrl, BENCH_GATEWAY_TOKEN: host.gatewayToken, BENCH_GATEWAY_SHA256: host.tlsCertSha256, CLAWSTACK_PROXY_MAX_PER_USER: "100000", CLAWSTACK_PROXY_MAX_CONNECTIONS: "100000" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  let exited: Error | undefined;
  child.once("exit", (code) => {
    exited = new Error(`the bench API process exited (${code})`);
    for (const waiter of waiting.splice(0)) waiter("");
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (exited) return reject(exited);
      waiting.push((line) => (exited && line === "" ? reject(exited) : resolve(line)));
    });
  return next().then((line) => {
    const ready = JSON.parse(line) as { apiUrl: string; accessToken: string; instanceId: string };
    return {
      child,
      ...ready,
      mem: async () => {
        child.stdin!.write("mem\n");
        return JSON.parse(await next()) as { rss: number; heapUsed: number; external: number; open: number };
      },
    };
  });
}

type Server = Awaited<ReturnType<typeof startServer>>;

/** A TLS front of its own before the gateway (bench/proxy-front.ts), answering on the port it prints. */
function startFront(gatewayPort: number, keyPath: string, certPath: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "proxy-front.ts")], {
    env: { ...process.env, BENCH_FRONT_GATEWAY_PORT: String(gatewayPort), BENCH_FRONT_KEY_PATH: keyPath, BENCH_FRONT_CERT_PATH: certPath },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`a bench TLS front exited (${code})`)));
    createInterface({ input: child.stdout! }).once("line", (line) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function ticketUrlFor(server: Server): () => Promise<string> {
  return async () => {
    const response = await fetch(`${server.apiUrl}/v1/instances/${server.instanceId}/gateway/tickets`, { method: "POST", headers: { authorization: `Bearer ${server.accessToken}` } });
    if (response.status !== 201) throw new Error(`ticket: ${response.status}`);
    return ((await response.json()) as { url: string }).url.replace(/^ws:\/\/[^/]+/, server.apiUrl.replace(/^http/, "ws"));
  };
}

export default async function bench(): Promise<void> {
  const unavailable = localHostUnavailableReason();
  if (unavailable) {
    console.log(`skipped: ${unavailable}`);
    return;
  }
  const { count: IDLE, shards: SHARDS, note: idleNote } = idlePlan();
  const dir = mkdtempSync(join(tmpdir(), "clawstack-bench-host-"));
  const host = await startLocalHost({ dir });
  const server = await startServer(host);
  const ticketUrl = ticketUrlFor(server);
  const children: ChildProcess[] = [server.child];
  try {
    console.log(`load average ${loadavg().map((n) => n.toFixed(1)).join(" ")}; ${ROUND_TRIPS} round trips of \`${METHOD}\` per path, one in flight`);
    const direct = await openClient(host.gatewayUrl.replace(/^https/, "wss"), host.gatewayToken, true);
    const proxied = await openClient(await ticketUrl(), undefined, false);
    // Warm-up, then alternating blocks so that drift in the machine's load hits both paths alike.
    await roundTrips(direct, 50, []);
    await roundTrips(proxied, 50, []);
    const samples = { direct: [] as number[], proxied: [] as number[] };
    const time = { direct: 0, proxied: 0 };
    const block = Math.max(1, Math.floor(ROUND_TRIPS / 6));
    for (let done = 0; done < ROUND_TRIPS; done += block) {
      time.direct += await roundTrips(direct, block, samples.direct);
      time.proxied += await roundTrips(proxied, block, samples.proxied);
    }
    const figures = (name: "direct" | "proxied") => {
      const sorted = [...samples[name]].sort((a, b) => a - b);
      return { rps: (samples[name].length / time[name]) * 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    };
    const d = figures("direct");
    const p = figures("proxied");
    console.log(`direct    ${d.rps.toFixed(0)} round trips/s  p50 ${d.p50.toFixed(2)} ms  p99 ${d.p99.toFixed(2)} ms`);
    console.log(`proxied   ${p.rps.toFixed(0)} round trips/s  p50 ${p.p50.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms`);
    console.log(`ratio     ${((p.rps / d.rps) * 100).toFixed(1)} % of direct throughput (goal ≥ 70 %); added p99 ${(p.p99 - d.p99).toFixed(2)} ms (goal ≤ 2 ms)`);
    direct.socket.close();
    proxied.socket.close();

    // The idle stage: API processes of their own, each before a TLS front of its own (same gateway).
    await stopChild(server.child);
    const certificate = makeCertificate(dir);
    const keyPath = join(dir, "front.key");
    const certPath = join(dir, "front.pem");
    writeFileSync(keyPath, certificate.key, { mode: 0o600 });
    writeFileSync(certPath, certificate.cert);
    const shards: Server[] = [];
    for (let i = 0; i < SHARDS; i++) {
      const front = await startFront(host.gatewayPort, keyPath, certPath);
      children.push(front.child);
      const shard = await startServer({ gatewayUrl: `https://127.0.0.1:${front.port}`, gatewayToken: host.gatewayToken, tlsCertSha256: certificate.sha256 });
      children.push(shard.child);
      shards.push(shard);
    }
    const tickets = shards.map(ticketUrlFor);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await Promise.all(shards.map((shard) => shard.mem()));
    const idle: Client[] = [];
    const started = performance.now();
    for (let i = 0; i < IDLE; i += 25) {
      const batch = await Promise.all(Array.from({ length: Math.min(25, IDLE - i) }, async (_, j) => openClient(await tickets[(i + j) % SHARDS]!(), undefined, false)));
      idle.push(...batch);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await Promise.all(shards.map((shard) => shard.mem()));
    const sum = (list: { rss: number; heapUsed: number; external: number; open: number }[], key: "rss" | "heapUsed" | "external" | "open") => list.reduce((total, entry) => total + entry[key], 0);
    const perConnection = (sum(after, "rss") - sum(before, "rss")) / IDLE / 1024;
    const kib = (key: "heapUsed" | "external") => ((sum(after, key) - sum(before, key)) / IDLE / 1024).toFixed(1);
    const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
    console.log(
      `idle      ${sum(after, "open")} proxied connections open${idleNote} (${((performance.now() - started) / 1000).toFixed(1)} s to open); API RSS ${mib(sum(before, "rss"))} → ${mib(sum(after, "rss"))} MiB: ${perConnection.toFixed(1)} KiB per idle connection (goal < 64 KiB; both sockets, the TLS session to the gateway and the bridge), of which JS heap ${kib("heapUsed")} KiB and external ${kib("external")} KiB (the rest: native, mostly OpenSSL and the sockets)`,
    );
    if (SHARDS > 1) {
      const each = shards.map((_, i) => `${after[i]!.open}: ${((after[i]!.rss - before[i]!.rss) / Math.max(1, after[i]!.open) / 1024).toFixed(1)} KiB`);
      console.log(`          per API process (connections: KiB each): ${each.join(", ")}`);
    }
    for (const client of idle) client.socket.terminate();
  } finally {
    await Promise.all(children.map(stopChild));
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
