/**
 * `npm start`: the API on the embedded defaults (SQLite under ./data/,
 * migrated on first start, a generated master key file with mode 600), or
 * whatever the environment configures (docs/api.md). Prints the first-admin
 * bootstrap step while no admin exists. SIGTERM/SIGINT: drain for
 * `CLAWSTACK_SHUTDOWN_DRAIN_MS` (still serving, `/readyz` 503), then stop
 * accepting, finish in-flight requests (idle keep-alive connections are closed, event
 * streams end with a retry hint), close the database and Redis, exit 0.
 * SIGHUP: re-read the key sources now (docs/rotation.md). As a worker of
 * `api/supervisor.ts` it stops accepting at SIGTERM, before the drain.
 */
import cluster from "node:cluster";
import { ConfigError } from "../core/errors";
import { buildApp } from "./app";
import { countAdmins } from "./auth/users-repo";
import { loadConfig } from "./config";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await buildApp(config);

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    // First drain (still serving; /readyz answers 503 so the load balancer moves away), then close.
    app.readiness.draining = true;
    // Under `npm run start:supervised` the primary holds the listening socket: stop taking connections at
    // once (the primary hands new ones to the new worker), then finish what this worker has.
    if (cluster.isWorker) app.server.close();
    app.log.info({ signal, drainMs: config.shutdownDrainMs }, "shutting down: draining, then finishing in-flight requests");
    const force = setTimeout(() => {
      app.log.error("shutdown took longer than 25 s after draining; exiting");
      process.exit(1);
    }, config.shutdownDrainMs + 25_000);
    force.unref();
    new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs)).then(() => app.close()).then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGHUP", () => {
    app.log.info("SIGHUP: reloading the key sources");
    void app.keys.reloadNow();
  });

  await app.listen({ host: config.host, port: config.port });
  if ((await countAdmins(app.db)) === 0) {
    // No secret is printed: the operator (who can reach the database) promotes a registered account.
    process.stdout.write(
      [
        "",
        "No admin account yet. Create the first one in this server's environment (it reads the password from stdin):",
        "  npx tsx api/auth/admin-cli.ts create-admin you@example.com",
        config.registration === "invite"
          ? "Then invite other people (POST /v1/admin/invites); CLAWSTACK_REGISTRATION=open lets anyone sign up."
          : "Registration is open (CLAWSTACK_REGISTRATION=open): anyone who reaches this API can sign up.",
        "",
      ].join("\n"),
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`configuration error: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`the API failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
