/**
 * `npm run clawstack -- <command>`: the terminal side of the job queue.
 *
 *   follow <jobId>       follow a job's progress live (SSE), resuming after drops; exit 0 when it succeeded
 *   queue                operator view of the queue from the database: counts, running jobs and their leases
 *   prepare-plugins      install the cloud provider plugins into this worker's PULUMI_HOME ahead of any job
 *
 * `follow` reads the API from CLAWSTACK_API_URL (default http://127.0.0.1:8080)
 * and the access token or `clk_` API key from CLAWSTACK_TOKEN: never a flag, so
 * it stays out of shell history and `ps`. `queue` and `prepare-plugins` read the
 * same environment as the API and the workers.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { ConfigError } from "../../core/errors";
import { loadConfig, loadFollowerConfig } from "../config";
import { openDatabase } from "../db/connect";
import { AutomationEngine } from "../engine/automation";
import { offlinePlanner } from "../engine/plan";
import { queueOverview } from "../jobs/queue";
import { resolveStackLayout } from "../stacks/layout";
import { followJob } from "./follow";
import { registerZeroAccessCommands } from "./zero-access";

const program = new Command()
  .name("clawstack")
  .description("Follow provisioning jobs and look after the job queue")
  .showHelpAfterError();

program
  .command("follow")
  .description("follow a job's progress live; exits 0 when the job succeeded, 1 otherwise")
  .argument("<jobId>", "the job id (`job_...`), as returned by POST /v1/instances")
  .option("--after <id>", "start after this event id", "0")
  .action(async (jobId: string, options: { after: string }) => {
    const { apiUrl, token } = loadFollowerConfig(process.env);
    const after = Number(options.after);
    if (!Number.isInteger(after) || after < 0) throw new ConfigError("after", `\`--after\` must be an event id (0 or more); given \`${options.after}\``);
    const state = await followJob({
      apiUrl,
      token,
      jobId,
      after,
      write: (line) => process.stdout.write(`${line}\n`),
    });
    process.exitCode = state === "succeeded" ? 0 : 1;
  });

program
  .command("queue")
  .description("operator view: jobs by state and operation, running jobs with their lease, the oldest queued job")
  .action(async () => {
    const config = loadConfig(process.env);
    if (config.database.engine === "sqlite" && !existsSync(config.database.file)) {
      throw new ConfigError(
        "CLAWSTACK_DATA_DIR",
        `no database at \`${config.database.file}\`: run this with the API's environment (CLAWSTACK_DATA_DIR or DATABASE_URL)`,
      );
    }
    const handle = openDatabase(config.database, { poolSize: 1 });
    try {
      const { counts, running, oldestQueued: oldest } = await queueOverview(handle.db);
      process.stdout.write("state       operation  count\n");
      for (const row of counts) process.stdout.write(`${row.state.padEnd(11)} ${row.operation.padEnd(10)} ${Number(row.count)}\n`);
      const now = new Date().toISOString();
      for (const job of running) {
        const stale = job.lease_expires_at !== null && job.lease_expires_at < now ? " (lease expired: will be taken over)" : "";
        process.stdout.write(
          `running ${job.id} ${job.operation} ${job.stack_name} attempt ${job.attempt} on ${job.lease_owner ?? "?"} until ${job.lease_expires_at ?? "?"}${stale}\n`,
        );
      }
      if (oldest) process.stdout.write(`oldest queued: ${oldest.id}, waiting since ${oldest.created_at}\n`);
    } finally {
      await handle.close();
    }
  });

program
  .command("prepare-plugins")
  .description("install the aws, gcp and digitalocean provider plugins (the versions in node_modules) into this worker's PULUMI_HOME")
  .action(async () => {
    const config = loadConfig(process.env);
    const layout = resolveStackLayout({ dataDir: config.dataDir, workerName: hostname(), env: config.stackEnv });
    const engine = new AutomationEngine({ layout, planner: offlinePlanner });
    const capabilities = engine.capabilities();
    if (!capabilities.deploy) throw new ConfigError("PATH", capabilities.reason ?? "the `pulumi` CLI is not on PATH");
    const plugins = ["aws", "gcp", "digitalocean"].map((name) => {
      const manifest = JSON.parse(readFileSync(join(require.resolve(`@pulumi/${name}/package.json`)), "utf8")) as { version: string };
      return { name, version: `v${manifest.version}` };
    });
    await engine.preparePlugins(plugins);
    process.stdout.write(`installed ${plugins.map((plugin) => `${plugin.name} ${plugin.version}`).join(", ")} into ${layout.pulumiHome}\n`);
  });

// keys, support, clawchat-keys: zero access (docs/zero-access.md)
registerZeroAccessCommands(program, { env: process.env, write: (line) => process.stdout.write(`${line}\n`) });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
