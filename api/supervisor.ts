/**
 * `npm run start:supervised`: the embedded server with restarts that refuse
 * no connection (issue 20 item 5). Node's `cluster` primary holds the
 * listening socket for the whole life of the service; the API runs in one
 * worker process (`api/server.ts`, unchanged). Connections that arrive while a
 * worker is being replaced wait in the primary's accept queue instead of
 * being refused.
 *
 *   SIGUSR2   rolling restart: start a new worker; once it listens (migrated,
 *             keys loaded, routes ready), SIGTERM the old one, which drains
 *             (`CLAWSTACK_SHUTDOWN_DRAIN_MS`), finishes in-flight requests
 *             and exits 0. Restarts are serialized; one arriving meanwhile
 *             runs after the current one.
 *   SIGHUP    passed to the worker: re-read the key sources (docs/rotation.md)
 *   SIGTERM / SIGINT
 *             passed to the worker (its graceful shutdown), then exit with
 *             the worker's status.
 *
 * A worker that exits on its own is started again after a short backoff
 * (growing to 30 s while it keeps failing within a minute of its start).
 * Under systemd: `ExecReload=/bin/kill -USR2 $MAINPID` (docs/rotation.md).
 */
import cluster, { type Worker } from "node:cluster";
import { resolve } from "node:path";

const SERVER = resolve(__dirname, "server.ts");
const MAX_BACKOFF_MS = 30_000;

function log(message: string): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: `supervisor: ${message}` })}\n`);
}

if (!cluster.isPrimary) {
  throw new Error("api/supervisor.ts is the cluster primary; workers run api/server.ts");
}

// Round-robin: the primary accepts and hands each connection to a listening worker, so a
// connection never meets a closed socket while workers come and go.
cluster.schedulingPolicy = cluster.SCHED_RR;
cluster.setupPrimary({ exec: SERVER, execArgv: process.execArgv });

let current: Worker | undefined;
let stopping = false;
let restarting: Promise<void> = Promise.resolve();
let backoffMs = 500;
const retiring = new Set<Worker>();

function startWorker(): Promise<Worker> {
  const worker = cluster.fork();
  const startedAt = Date.now();
  worker.once("exit", (code, signal) => {
    if (retiring.delete(worker)) {
      log(`worker ${worker.process.pid} retired (exit ${code ?? signal})`);
      return;
    }
    if (stopping) {
      log(`worker ${worker.process.pid} stopped (exit ${code ?? signal})`);
      process.exit(code ?? 1);
    }
    if (worker !== current) return;
    // Crashed or exited by itself: start another after a backoff.
    backoffMs = Date.now() - startedAt < 60_000 ? Math.min(backoffMs * 2, MAX_BACKOFF_MS) : 500;
    log(`worker ${worker.process.pid} exited unexpectedly (exit ${code ?? signal}); starting another in ${backoffMs} ms`);
    current = undefined;
    setTimeout(() => {
      if (!stopping) void startWorker().then((fresh) => (current = fresh), () => undefined);
    }, backoffMs).unref();
  });
  return new Promise((done, fail) => {
    const onListening = () => {
      worker.off("exit", onEarlyExit);
      done(worker);
    };
    const onEarlyExit = (code: number | null) => {
      worker.off("listening", onListening);
      fail(new Error(`the new worker exited with ${code} before it listened`));
    };
    worker.once("listening", onListening);
    worker.once("exit", onEarlyExit);
  });
}

/** Starts a new worker and retires the old one once the new one listens. */
function rollingRestart(): Promise<void> {
  restarting = restarting.then(async () => {
    if (stopping) return;
    const old = current;
    log(`rolling restart: starting a new worker${old ? ` to replace ${old.process.pid}` : ""}`);
    let fresh: Worker;
    try {
      fresh = await startWorker();
    } catch (error) {
      // The old worker keeps serving: a broken deploy does not take the API down.
      log(`rolling restart failed, the old worker keeps serving: ${(error as Error).message}`);
      return;
    }
    current = fresh;
    if (old) {
      retiring.add(old);
      old.process.kill("SIGTERM");
    }
    log(`rolling restart: worker ${fresh.process.pid} serving`);
  });
  return restarting;
}

function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping the worker`);
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  if (workers.length === 0) process.exit(0);
  for (const worker of workers) worker.process.kill("SIGTERM");
}

process.on("SIGUSR2", () => void rollingRestart());
process.on("SIGHUP", () => current?.process.kill("SIGHUP"));
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

startWorker().then(
  (worker) => {
    current = worker;
    log(`worker ${worker.process.pid} serving; SIGUSR2 restarts it without refusing a connection`);
  },
  (error: unknown) => {
    log(`the API did not start: ${(error as Error).message}`);
    process.exit(1);
  },
);
