/**
 * `npm run bench -- clawchat`: the encrypted ClawChat channel on loopback next
 * to a plain UDP echo measured in the same run, with the same payloads and the
 * same process layout: each server runs in its own Node process
 * (`bench/clawchat-server.ts`), and so does each client of steps 1-3
 * (`bench/clawchat-client.ts`); the clients of step 4 run in this one.
 *
 *   1. sequential round trips for a few seconds: round trips/s and MB/s of payload (one way);
 *   2. 32 messages in flight: the same figures under load;
 *   3. open loop at 1,000 messages/s: p50 / p99 / max latency;
 *   4. whole messages: a 256 KiB chat message echoed back, its parts sent paced and in one burst, with the
 *      kernel's receive drops of both sockets (/proc/net/udp); a 1 MiB file transfer in MB/s;
 *   5. the cipher's floor: CPU µs to seal and open one 1,000-byte packet (four per round trip).
 *
 * Targets (issues 6 and 18): ClawChat ≥ 60 % of the plain echo sequentially and ≥ 50 % with 32 in flight;
 * p99 < 5 ms at 1,000 msg/s; 256 KiB back whole in < 1 s with zero kernel drops; files ≥ 10 MB/s.
 * The per-address packet limit is raised for the benchmark because every packet comes from 127.0.0.1.
 *
 * What runs is what ships: the server process and the ClawChat client are bundled first with the
 * esbuild options of `clawchat/dist/clawchat.js` (`clawchat/bundle-options.json`) and run on plain
 * `node`, as on a host; the plain echo server runs from the same bundle. Steps 1-3 and 5 run in two
 * child processes per channel (`bench/clawchat-server.ts`, `bench/clawchat-client.ts`), both channels
 * alike, on the Node the hosts run (`HOST_NODE_VERSION`, from the boot cache; else this process's Node,
 * with a note); step 4 runs its clients in this process. Every line says which Node ran what.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { build } from "esbuild";
import type { ClawChatClient as ClientClass } from "../clawchat/src/client";
import { issueSecurityFile, writeSecretFile } from "../clawchat/src/security-dir";
import { clawchatAddonDefine } from "../cloud-init/bundle";
import { BOOTSTRAP_KEY_FILE, generateBootstrapKey } from "../clawchat/src/security-file";
import type { AeadBackendInfo } from "../clawchat/src/aead";
import { OPEN_LOOP_RATE, PAYLOAD_BYTES, WINDOW, type CipherCost, type ClientReport } from "./clawchat-client";

/** The channel the targets apply to: ClawChat as it ships (the bundle's AES-GCM addon when it loads). */
const SHIPPED = "ClawChat (AES-256-GCM)";

const DURATION_MS = Number(process.env.CLAWCHAT_BENCH_MS ?? 3_000);

/** The Node the hosts run (`BOOT_VERSIONS.node` in boot/run.ts), as the boot test caches it; `CLAWCHAT_BENCH_NODE` names another binary. */
const HOST_NODE_VERSION = "24.22.3";
const HOST_NODE = process.env.CLAWCHAT_BENCH_NODE ?? join(__dirname, "..", ".cache", "boot", "host-node", HOST_NODE_VERSION, "bin", "node");

/** The Node binary both sides of both channels run on, and what to print about it. */
function benchNode(): { path: string; note: string } {
  if (existsSync(HOST_NODE)) return { path: HOST_NODE, note: `host Node (${HOST_NODE_VERSION})` };
  return { path: process.execPath, note: `this process's Node (${process.version}): ${HOST_NODE} is absent (the boot test caches it)` };
}

interface Bundles {
  dir: string;
  /** `bench/clawchat-server.ts`, bundled. */
  server: string;
  /** `bench/clawchat-client.ts`, bundled. */
  clientRunner: string;
  /** The ClawChat client library, bundled (CommonJS, loaded with `require`). */
  client: typeof ClientClass;
  /** The Node the child processes run. */
  node: string;
}

/** Bundles the bench server and the client library with the shipped bundle's esbuild options. */
async function bundle(): Promise<Bundles> {
  const dir = await fs.mkdtemp(join(tmpdir(), "clawchat-bench-bundle-"));
  const options = JSON.parse(readFileSync(join(__dirname, "..", "clawchat", "bundle-options.json"), "utf8")) as Record<string, unknown>;
  // The bundles carry the AES-GCM addon as the shipped one does (`npm run clawchat:build` compiled it).
  const shared = { ...options, define: clawchatAddonDefine(), banner: undefined, logLevel: "warning" as const };
  const server = join(dir, "server.js");
  const client = join(dir, "client.js");
  const clientRunner = join(dir, "client-runner.js");
  await build({ ...shared, entryPoints: [join(__dirname, "clawchat-server.ts")], outfile: server });
  await build({ ...shared, entryPoints: [join(__dirname, "clawchat-client.ts")], outfile: clientRunner });
  await build({ ...shared, entryPoints: [join(__dirname, "..", "clawchat", "src", "client.ts")], outfile: client });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS bundle built just above
  return { dir, server, clientRunner, client: (require(client) as { ClawChatClient: typeof ClientClass }).ClawChatClient, node: benchNode().path };
}

let bundles: Bundles;

/** Starts the bundled `bench/clawchat-server.ts` in a child process and returns it with the UDP port it listens on. */
async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; port: number; aead?: AeadBackendInfo }> {
  const child = spawn(bundles.node, [bundles.server, ...args], { stdio: ["ignore", "pipe", "inherit"], env });
  const started = await new Promise<{ port: number; aead?: AeadBackendInfo }>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n")[0] as string;
      if (out.includes("\n")) resolve(JSON.parse(line) as { port: number; aead?: AeadBackendInfo });
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, ...started };
}

async function stopServerProcess(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}

/** Runs `bench/clawchat-client.ts` with `args` on the bench Node and returns the JSON line it prints. */
async function runClient<T>(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const child = spawn(bundles.node, [bundles.clientRunner, ...args], { stdio: ["ignore", "pipe", "inherit"], env });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`bench client exited with ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1) as string) as T;
}

/** A fresh security directory and its file's content (decrypted). */
async function securityDir(): Promise<{ root: string; dir: string; content: unknown }> {
  const root = await fs.mkdtemp(join(tmpdir(), "clawchat-bench-"));
  const dir = join(root, "security");
  await fs.mkdir(dir, { mode: 0o700 });
  const bootstrapKey = generateBootstrapKey();
  await writeSecretFile(dir, BOOTSTRAP_KEY_FILE, `${bootstrapKey.toString("base64")}\n`);
  const { content } = await issueSecurityFile(dir, bootstrapKey, { serverIp: "127.0.0.1", port: 1, name: "bench", iterations: 100_000, nowMs: Date.now() });
  return { root, dir, content };
}

async function measurePlainEcho(): Promise<ClientReport> {
  const server = await startServerProcess(["echo"]);
  try {
    return await runClient<ClientReport>(["echo", String(server.port), String(server.child.pid)]);
  } finally {
    await stopServerProcess(server.child);
  }
}

/** ClawChat on the backend `CLAWCHAT_AEAD` picks (`auto`: the bundle's addon when it loads), both sides alike. */
async function measureClawChat(aeadChoice: "auto" | "node"): Promise<ClientReport> {
  const { root, dir, content } = await securityDir();
  const contentFile = join(root, "content.json");
  await fs.writeFile(contentFile, JSON.stringify(content), { mode: 0o600 });
  const env = { ...process.env, CLAWCHAT_AEAD: aeadChoice };
  const server = await startServerProcess(["clawchat", dir], env);
  try {
    const report = await runClient<ClientReport>(["clawchat", contentFile, String(server.port), String(server.child.pid)], env);
    if (report.aead?.name !== server.aead?.name) throw new Error(`the bench client sealed with ${report.aead?.name} and the server with ${server.aead?.name}`);
    return report;
  } finally {
    await stopServerProcess(server.child);
    await fs.rm(root, { recursive: true, force: true });
  }
}

const f = (value: number, digits = 0): string => value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The kernel's receive-drop counter of the UDP sockets bound to `ports` (Linux /proc/net/udp, last column). */
function kernelDrops(ports: number[]): number | undefined {
  try {
    let drops = 0;
    for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const port = parseInt((fields[1] ?? "").split(":")[1] ?? "", 16);
      if (ports.includes(port)) drops += Number(fields.at(-1));
    }
    return drops;
  } catch {
    return undefined;
  }
}

/** 256 KiB echoed, paced and as one burst; a 1 MiB file. Each on a fresh client, timed five times. */
async function wholeMessages(): Promise<void> {
  const { root, dir, content: unchecked } = await securityDir();
  const content = unchecked as Parameters<typeof bundles.client.connect>[0];
  const server = await startServerProcess(["clawchat", dir]);
  const message = "y".repeat(256 * 1024);
  for (const [label, paceParts] of [["paced (32 parts per turn)", 32], ["one burst", Infinity]] as const) {
    const client = await bundles.client.connect(content, { server: { host: "127.0.0.1", port: server.port }, transfer: { paceParts } });
    const ports = [client.dataPort, client.localPort];
    const dropsBefore = kernelDrops(ports);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const answer = await client.chat(message);
      if (answer.length !== message.length) throw new Error("256 KiB answer incomplete");
      times.push(performance.now() - started);
    }
    const dropsAfter = kernelDrops(ports);
    const drops = dropsBefore === undefined || dropsAfter === undefined ? "n/a" : String(dropsAfter - dropsBefore);
    console.log(`256 KiB chat round trip, ${label.padEnd(26)} ${times.map((t) => f(t, 1)).join(" / ")} ms (max ${f(Math.max(...times), 1)} ms; target < 1,000) | kernel drops ${drops} (target 0)`);
    await client.close();
  }
  const client = await bundles.client.connect(content, { server: { host: "127.0.0.1", port: server.port } });
  const file = Buffer.alloc(1024 * 1024, 7);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const result = await client.sendFile("bench.bin", file);
    if (result.status !== 0) throw new Error(`file refused: ${result.reason}`);
    rates.push(file.length / ((performance.now() - started) / 1000) / 1e6);
  }
  console.log(`1 MiB file transfer: ${rates.map((r) => f(r, 1)).join(" / ")} MB/s (target ≥ 10)`);
  await client.close();
  await stopServerProcess(server.child);
  await fs.rm(root, { recursive: true, force: true });
}

export default async function bench(): Promise<void> {
  // The load average matters: on a shared machine the encrypted path (more CPU per packet) suffers first.
  console.log(`payload ${PAYLOAD_BYTES} bytes, ${DURATION_MS} ms per measurement, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const node = benchNode();
  console.log(`servers and clients of steps 1-3 and 5: ${node.note}; this process and the step-4 clients: Node ${process.version}`);
  bundles = await bundle();
  const results: Record<string, ClientReport> = {};
  const channels = [
    ["plain UDP echo", measurePlainEcho],
    [SHIPPED, () => measureClawChat("auto")],
    // The in-run baseline for the addon: the same bundles with CLAWCHAT_AEAD=node (a context per packet).
    ["ClawChat, node:crypto", () => measureClawChat("node")],
  ] as const;
  for (const [name, measure] of channels) {
    const report = await measure();
    const { sequential, windowed, latency, node: ranOn } = report;
    results[name] = report;
    if (report.aead) console.log(`${name}: AES-256-GCM backend ${report.aead.name} (${report.aead.detail}), client and server`);
    console.log(
      `${name.padEnd(24)} sequential ${f(sequential.perSecond).padStart(7)} rt/s ${f(sequential.mbPerSecond, 2).padStart(6)} MB/s | ` +
        `${WINDOW} in flight ${f(windowed.perSecond).padStart(7)} rt/s ${f(windowed.mbPerSecond, 2).padStart(6)} MB/s | ` +
        `${OPEN_LOOP_RATE}/s: p50 ${f(latency.p50, 3)} ms p99 ${f(latency.p99, 3)} ms max ${f(latency.max, 3)} ms | ` +
        `CPU ${cpu(sequential)} sequential, ${cpu(windowed)} with ${WINDOW} in flight, per round trip (client + server; both on Node ${ranOn})`,
    );
  }
  await wholeMessages();
  const crypto = await runClient<CipherCost & { node: string }>(["cipher"]);
  await fs.rm(bundles.dir, { recursive: true, force: true });
  const plain = results["plain UDP echo"];
  const claw = results[SHIPPED];
  const viaNode = results["ClawChat, node:crypto"];
  if (!plain || !claw || !viaNode) return;
  const ratios = (of: ClientReport): string =>
    `sequential ${f((of.sequential.perSecond / plain.sequential.perSecond) * 100, 1)} %, ${WINDOW} in flight ${f((of.windowed.perSecond / plain.windowed.perSecond) * 100, 1)} %`;
  console.log(`ratio ClawChat / plain echo: ${ratios(claw)} (targets ≥ 60 % and ≥ 50 %; backend ${claw.aead?.name ?? "n/a"})`);
  console.log(`ratio ClawChat with node:crypto / plain echo: ${ratios(viaNode)} (the same run, for comparison)`);
  console.log(`ClawChat p99 at ${OPEN_LOOP_RATE} msg/s: ${f(claw.latency.p99, 3)} ms (target < 5 ms; plain echo ${f(plain.latency.p99, 3)} ms)`);
  const floor = 2 * (crypto.seal + crypto.open);
  const nodeFloor = 2 * (crypto.nodeCrypto.seal + crypto.nodeCrypto.open);
  console.log(
    `AES-256-GCM per ${PAYLOAD_BYTES}-byte packet on Node ${crypto.node}: ${crypto.backend.name} seal ${f(crypto.seal, 2)} µs, open ${f(crypto.open, 2)} µs ` +
      `(${f(floor, 1)} µs per round trip, two of each); node:crypto, a context per packet: seal ${f(crypto.nodeCrypto.seal, 2)} µs, open ${f(crypto.nodeCrypto.open, 2)} µs ` +
      `(${f(nodeFloor, 1)} µs per round trip); against the plain echo's ${cpu(plain.sequential)} and ClawChat's ${cpu(claw.sequential)} CPU per sequential round trip`,
  );
}

function cpu(measured: { cpuMicrosPerRoundTrip?: number }): string {
  return measured.cpuMicrosPerRoundTrip === undefined ? "n/a" : `${f(measured.cpuMicrosPerRoundTrip)} µs`;
}
