/**
 * `npm run worker`: a job worker on its own, for the scale-out layout (any
 * number of them, on any machines, sharing one PostgreSQL database and one
 * state backend). It claims jobs with `FOR UPDATE SKIP LOCKED`, admits them by
 * its memory budget, heartbeats their leases and takes over jobs whose worker
 * died. SIGTERM/SIGINT: stop claiming, let running jobs finish for up to 20 s,
 * then abort them (their leases expire and another worker resumes them).
 * SIGHUP: re-read the key sources now (they are also re-read every
 * `CLAWSTACK_KEY_RELOAD_MS`; see api/vault/key-heartbeat.ts).
 *
 * Reads the API's environment (DATABASE_URL, CLAWSTACK_DATA_DIR, the master
 * keys to decrypt credentials) plus the job settings in docs/jobs.md.
 */
import { hostname } from "node:os";
import { ConfigError } from "../core/errors";
import { PasswordHasher } from "./auth/password";
import { loadConfig } from "./config";
import { openDatabase } from "./db/connect";
import { migrateToLatest } from "./db/migrate";
import { createEngine } from "./engine/factory";
import type { Engine } from "./engine/types";
import { GatewayHealthChecker } from "./health/gateway-health";
import { createLogger } from "./http/logging";
import { SnapshotScheduler } from "./jobs/snapshot-scheduler";
import { CloudFirewallSweep } from "./support/cloud-firewall";
import { VaultCredentialProvider } from "./jobs/vault-credentials";
import { JobWorker } from "./jobs/worker";
import { loadProxyDevice } from "./proxy/device-identity";
import { proxyPairingProbe } from "./proxy/pairing-probe";
import { registrationPreparer } from "./registration/prepare";
import { resolveStackLayout } from "./stacks/layout";
import { KeyHeartbeat } from "./vault/key-heartbeat";
import { ReloadingKeyWrapper } from "./vault/reloading-key-wrapper";
import { Vault } from "./vault/vault";

export interface RunningWorker {
  worker: JobWorker;
  /** The key heartbeat: `keys.reloadNow()` re-reads the key sources (SIGHUP). */
  keys: KeyHeartbeat;
  /** Stops claiming, waits up to `graceMs` for running jobs, closes the database. */
  stop(graceMs?: number): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 20_000;

/** Starts a worker from the environment; `engine` replaces the Pulumi engine (tests use the stand-in). */
export async function runWorker(options: { env?: NodeJS.ProcessEnv; engine?: Engine } = {}): Promise<RunningWorker> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  if (config.database.engine !== "postgres") {
    throw new ConfigError(
      "DATABASE_URL",
      "`DATABASE_URL`: a separate worker needs PostgreSQL (postgres://...); on SQLite the API process runs the one worker itself (`npm start`)",
    );
  }
  const settings = config.jobs;
  const logger = createLogger(config);
  const handle = openDatabase(config.database, {
    poolSize: 5,
    onIdleError: (error) => logger.warn({ err: { message: error.message } }, "database dropped an idle connection; the pool reconnects"),
  });
  try {
    await migrateToLatest(handle.db);
  } catch (error) {
    await handle.close();
    throw error;
  }
  const wrapper = new ReloadingKeyWrapper(config);
  const keys = new KeyHeartbeat({ db: handle.db, kind: "worker", wrapper, reloadMs: config.keyReloadMs, logger });
  try {
    await keys.start();
  } catch (error) {
    await handle.close();
    throw error;
  }
  const vault = new Vault(handle.db, wrapper, new PasswordHasher(config.passwordHashing));
  const layout = resolveStackLayout({ dataDir: config.dataDir, workerName: `${hostname()}-${process.pid}`, env: config.stackEnv });
  const engine = options.engine ?? createEngine(layout);
  const capabilities = engine.capabilities();
  if (!capabilities.deploy) logger.warn({ reason: capabilities.reason }, "up, refresh and destroy jobs will fail at once; previews work");
  const credentials = new VaultCredentialProvider(handle.db, vault);
  const worker = new JobWorker({
    db: handle.db,
    dialect: "postgres",
    engine,
    layout,
    credentials,
    worker: settings.worker,
    queue: settings.queue,
    prepareConfig: registrationPreparer(handle.db, settings.publicUrl, loadProxyDevice({ dataDir: config.dataDir, keyFile: config.proxy.deviceKeyFile }).public()),
    logger,
  });
  worker.start();
  const snapshots = new SnapshotScheduler({ db: handle.db, credentials, intervalMs: settings.snapshotIntervalMs, logger });
  snapshots.start();
  const supportFirewall = new CloudFirewallSweep({ db: handle.db, intervalMs: settings.supportFirewallIntervalMs, logger, wake: () => worker.wake() });
  supportFirewall.start();
  const onUp = proxyPairingProbe(handle.db, wrapper, loadProxyDevice({ dataDir: config.dataDir, keyFile: config.proxy.deviceKeyFile }));
  const health = new GatewayHealthChecker({ db: handle.db, intervalMs: config.proxy.healthIntervalMs, logger, onUp });
  health.start();
  logger.info(
    { workerId: worker.workerId, memoryBudgetMb: settings.worker.memoryBudgetMb, leaseMs: settings.worker.leaseMs, engine: engine.name },
    "worker started",
  );
  return {
    worker,
    keys,
    async stop(graceMs = SHUTDOWN_GRACE_MS) {
      await snapshots.stop();
      await supportFirewall.stop();
      await health.stop();
      await worker.stop({ graceMs });
      await keys.stop();
      await handle.close();
      logger.info({ workerId: worker.workerId }, "worker stopped");
    },
  };
}

async function main(): Promise<void> {
  const running = await runWorker();
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`worker shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGHUP", () => void running.keys.reloadNow());
}

if (require.main === module) {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`the worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
