/**
 * Runs an example program under `examples/` through ClawStack's offline synth
 * (Pulumi mocks, no CLI, no network) and prints its plan as JSON. The example
 * loads the components the way any other program does: `clawstack/components`,
 * resolved through its own node_modules to the package's built `dist/`.
 * Usage: node --import tsx tests/package/synth-example.ts <example dir>
 */
import { join, resolve } from "node:path";
import { synthProgram } from "../../program/synth";
import { planJson } from "../../program/synth-types";

async function main(): Promise<void> {
  const dir = resolve(process.argv[2] ?? "");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the example program's path is known only at run time
  const program = require(join(dir, "index.ts")) as () => Promise<Record<string, unknown>>;
  const result = await synthProgram("example", program, { label: `the program in ${dir}` });
  process.stdout.write(`${JSON.stringify({ ...planJson(result), modules: { components: require.resolve("clawstack/components", { paths: [dir] }) } })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
