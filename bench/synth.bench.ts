/**
 * `npm run bench -- synth`: the offline synth of each example stack, cold
 * (a fresh `npm run synth -- --stack <name> --json` process, start to JSON on
 * stdout) and warm (re-evaluating the program in a process that has already
 * synthesized once), next to the baseline measured in the same run: a fresh
 * process that merely imports `@pulumi/pulumi` and that stack's one cloud SDK
 * (a synth loads no other: tests/program/synth-loads.test.ts), through the
 * same loader (tsx) and through plain node.
 * Targets: warm <= 100 ms; cold <= 1.2 x the bare import of its own SDK.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { synthStack } from "../program/synth";

const ROOT = resolve(__dirname, "..");
const TSX = join(ROOT, "node_modules/tsx/dist/cli.mjs");
const STACKS = ["do-example", "aws-example", "gcp-example"];
const COLD_RUNS = 5;
const WARM_RUNS = 10;
const CLOUD_SDK: Record<string, string> = { "do-example": "@pulumi/digitalocean", "aws-example": "@pulumi/aws", "gcp-example": "@pulumi/gcp" };
const bareImport = (stack: string): string => `require("@pulumi/pulumi"); require(${JSON.stringify(CLOUD_SDK[stack])});`;

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
  for (const stack of STACKS) timeProcess(synthArgs(stack));

  // Rounds interleave the baselines and the stacks, so load from other processes
  // during the run weighs on both sides of each ratio alike.
  const bareNode = new Map<string, number[]>(STACKS.map((stack) => [stack, []]));
  const bareTsx = new Map<string, number[]>(STACKS.map((stack) => [stack, []]));
  const cold = new Map<string, number[]>(STACKS.map((stack) => [stack, []]));
  for (let round = 0; round < COLD_RUNS; round++) {
    for (const stack of STACKS) {
      bareNode.get(stack)!.push(timeProcess(["-e", bareImport(stack)]));
      bareTsx.get(stack)!.push(timeProcess([TSX, "-e", bareImport(stack)]));
      cold.get(stack)!.push(timeProcess(synthArgs(stack), checkPlan(stack)));
    }
  }
  console.log(`baseline per stack: a fresh process importing @pulumi/pulumi and that stack's cloud SDK (median of ${COLD_RUNS}, interleaved with the cold synths)`);
  console.log(`\nstack          SDK                    bare (node)  bare (tsx)   cold synth   cold / bare (tsx)   cold / bare (node)   warm (median of ${WARM_RUNS})`);
  for (const stack of STACKS) {
    const coldMedian = median(cold.get(stack)!);
    const bareNodeMedian = median(bareNode.get(stack)!);
    const bareTsxMedian = median(bareTsx.get(stack)!);
    await synthStack(stack); // the first in-process evaluation loads modules; warm means every one after it
    const warm: number[] = [];
    for (let run = 0; run < WARM_RUNS; run++) {
      const started = performance.now();
      await synthStack(stack);
      warm.push(performance.now() - started);
    }
    const warmMedian = median(warm);
    console.log(
      `${stack.padEnd(14)} ${CLOUD_SDK[stack]!.padEnd(22)} ${ms(bareNodeMedian)}   ${ms(bareTsxMedian)}   ${ms(coldMedian)}   ${(coldMedian / bareTsxMedian).toFixed(2).padStart(5)} x             ${(coldMedian / bareNodeMedian).toFixed(2).padStart(5)} x            ${ms(warmMedian)}${warmMedian <= 100 ? "" : "  (over the 100 ms target)"}`,
    );
  }
  console.log("\ntargets: warm <= 100 ms; cold <= 1.2 x the bare import of the stack's own SDK (through the same loader; plain node shown for what tsx costs)");
}
