/**
 * A worker process for the multi-process tests: `npm run worker`'s
 * `runWorker` with the stand-in engine (state, locks and journal in shared
 * files), configured by the environment the test passes. Prints `ready` once
 * it claims.
 */
import { runWorker } from "../../../../api/worker";
import { StandInEngine } from "./stand-in-engine";

async function main(): Promise<void> {
  const env = process.env;
  const engine = new StandInEngine({
    stateDir: env.STANDIN_STATE_DIR ?? "/tmp/stand-in",
    steps: Number(env.STANDIN_STEPS ?? 3),
    stepMs: Number(env.STANDIN_STEP_MS ?? 5),
    ...(env.STANDIN_JOURNAL ? { journal: env.STANDIN_JOURNAL } : {}),
  });
  const running = await runWorker({ engine });
  process.stdout.write(`ready ${running.worker.workerId}\n`);
  process.on("SIGTERM", () => {
    running.stop(5_000).then(() => process.exit(0), () => process.exit(1));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`worker process failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
