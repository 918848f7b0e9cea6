/**
 * The job queue inside the API: decorates `app.jobs` (settings, engine,
 * credential provider, the embedded worker if any) for the instance and job
 * routes. On SQLite (the embedded default) the one worker runs here, started
 * when the app is ready and stopped (after a grace period) when it closes; on
 * PostgreSQL workers run on their own (`npm run worker`) unless
 * `CLAWSTACK_EMBEDDED_WORKER=on`. Its settings are `app.config.jobs` (api/config.ts).
 */
import fp from "fastify-plugin";
import { createEngine } from "../engine/factory";
import type { Engine } from "../engine/types";
import { loadProxyDevice } from "../proxy/device-identity";
import { proxyPairingProbe } from "../proxy/pairing-probe";
import { registrationPreparer } from "../registration/prepare";
import { resolveStackLayout } from "../stacks/layout";
import type { CredentialProvider } from "./credentials";
import type { JobsSettings } from "./settings";
import { GatewayHealthChecker } from "../health/gateway-health";
import { CloudFirewallSweep } from "../support/cloud-firewall";
import { SnapshotScheduler } from "./snapshot-scheduler";
import { VaultCredentialProvider } from "./vault-credentials";
import { JobWorker } from "./worker";

export interface JobsRuntime {
  settings: JobsSettings;
  engine: Engine;
  credentials: CredentialProvider;
  /** The worker running in this process, if any. */
  worker: JobWorker | undefined;
  /** Tells the local worker there is work now (no-op without one). */
  wake(): void;
}

declare module "fastify" {
  interface FastifyInstance {
    jobs: JobsRuntime;
  }
}

/** How long a closing API lets its embedded worker's jobs run before aborting them (lease takeover resumes them). */
const CLOSE_GRACE_MS = 15_000;

export const jobsPlugin = fp(
  async (app) => {
    const settings = app.config.jobs;
    const layout = resolveStackLayout({ dataDir: app.config.dataDir, env: app.config.stackEnv });
    const engine = createEngine(layout);
    const credentials = new VaultCredentialProvider(app.db, app.vault);
    const embedded = settings.embeddedWorker === "on" || (settings.embeddedWorker === "auto" && app.dbEngine === "sqlite");
    const worker = embedded
      ? new JobWorker({
          db: app.db,
          dialect: app.dbEngine,
          engine,
          layout,
          credentials,
          worker: settings.worker,
          queue: settings.queue,
          prepareConfig: registrationPreparer(app.db, settings.publicUrl, loadProxyDevice({ dataDir: app.config.dataDir, keyFile: app.config.proxy.deviceKeyFile }).public()),
          logger: app.log,
        })
      : undefined;
    const snapshots = worker
      ? new SnapshotScheduler({ db: app.db, credentials, intervalMs: settings.snapshotIntervalMs, logger: app.log })
      : undefined;
    const onUp = proxyPairingProbe(app.db, app.vault.wrapper, loadProxyDevice({ dataDir: app.config.dataDir, keyFile: app.config.proxy.deviceKeyFile }));
    const supportFirewall = worker
      ? new CloudFirewallSweep({ db: app.db, intervalMs: settings.supportFirewallIntervalMs, logger: app.log, wake: () => worker.wake() })
      : undefined;
    const health = worker ? new GatewayHealthChecker({ db: app.db, intervalMs: app.config.proxy.healthIntervalMs, logger: app.log, onUp }) : undefined;
    app.decorate("jobs", { settings, engine, credentials, worker, wake: () => worker?.wake() } satisfies JobsRuntime);
    if (!engine.capabilities().deploy) {
      app.log.warn({ reason: engine.capabilities().reason }, "up, refresh and destroy jobs will fail at once; previews work");
    }
    app.addHook("onReady", async () => {
      worker?.start();
      snapshots?.start();
      supportFirewall?.start();
      health?.start();
    });
    app.addHook("onClose", async () => {
      await snapshots?.stop();
      await supportFirewall?.stop();
      await health?.stop();
      await worker?.stop({ graceMs: CLOSE_GRACE_MS });
    });
  },
  { name: "clawstack-jobs", dependencies: ["clawstack-db", "clawstack-vault"] },
);
