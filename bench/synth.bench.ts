/**
 * `npm run bench -- synth`: the offline synth of each example stack, cold
 * (a fresh `npm run synth -- --stack <name> --json` process, start to JSON on
 * stdout) and warm (re-evaluating the program in a process that has already
 * synthesized once), next to the baseline measured in the same run: a fresh
 * process that merely imports `@pulumi/pulumi` and the three cloud SDKs.
 * Targets (issue 2): warm <= 100 ms; cold <= 1.5 x the bare import.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { synthStack } from "../program/synth.js";

const ROOT = resolve(__dirname, "..");
const TSX = join(ROOT, "node_modules/tsx/dist/cli.mjs");
const STACKS = ["do-example", "aws-example", "gcp-example"];
const COLD_RUNS = 5;
const WARM_RUNS = 10;
const BARE_IMPORT = 'require("@pulumi/pulumi"); require("@pulumi/digitalocean"); require("@pulumi/aws"); require("@pulumi/gcp");';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Wall time of a fresh process, start to exit, checked to have succeeded. */
function timeProcess(args: string[], check?: (stdout: string) => void): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  check?.(result.stdout);
  return elapsed;
}

function ms(value: number): string {
  return `${value.toFixed(0).padStart(6)} ms`;
}

export default async function bench(): Promise<void> {
  const synthArgs = (stack: string) => [TSX, join(ROOT, "program/synth-cli.ts"), "--stack", stack, "--json"];
  const checkPlan = (stack: string) => (stdout: string) => {
    const plan = JSON.parse(stdout) as { resources: unknown[] };
    if (plan.resources.length === 0) throw new Error(`${stack}: empty plan`);
  };
  // One untimed run of each fills tsx's transform cache, as on any machine after the first command.
  timeProcess(synthArgs("do-example"));
  timeProcess(["-e", BARE_IMPORT]);

  // Rounds interleave the baseline and the stacks, so load from other processes
  // during the run weighs on both sides of each ratio alike.
  const bareNode: number[] = [];
  const bareTsx: number[] = [];
  const cold = new Map<string, number[]>(STACKS.map((stack) => [stack, []]));
  for (let round = 0; round < COLD_RUNS; round++) {
    bareNode.push(timeProcess(["-e", BARE_IMPORT]));
    bareTsx.push(timeProcess([TSX, "-e", BARE_IMPORT]));
    for (const stack of STACKS) cold.get(stack)!.push(timeProcess(synthArgs(stack), checkPlan(stack)));
  }
  const bareNodeMedian = median(bareNode);
  const bareTsxMedian = median(bareTsx);
  console.log(`baseline: bare import of @pulumi/pulumi + digitalocean + aws + gcp, fresh process (median of ${COLD_RUNS}, interleaved with the cold synths)`);
  console.log(`  node            ${ms(bareNodeMedian)}`);
  console.log(`  through tsx     ${ms(bareTsxMedian)}   (the loader npm run synth uses)`);

  console.log(`\nstack          cold (median of ${COLD_RUNS})   cold / bare (tsx)   cold / bare (node)   warm (median of ${WARM_RUNS})`);
  for (const stack of STACKS) {
    const coldMedian = median(cold.get(stack)!);
    await synthStack(stack); // the first in-process evaluation loads modules; warm means every one after it
    const warm: number[] = [];
    for (let run = 0; run < WARM_RUNS; run++) {
      const started = performance.now();
      await synthStack(stack);
      warm.push(performance.now() - started);
    }
    const warmMedian = median(warm);
    console.log(
      `${stack.padEnd(14)} ${ms(coldMedian)}               ${(coldMedian / bareTsxMedian).toFixed(2).padStart(5)} x             ${(coldMedian / bareNodeMedian).toFixed(2).padStart(5)} x            ${ms(warmMedian)}${warmMedian <= 100 ? "" : "  (over the 100 ms target)"}`,
    );
  }
  console.log("\ntargets: warm <= 100 ms; cold <= 1.5 x the bare import");
}
