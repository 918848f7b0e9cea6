/**
 * `npm run synth -- --stack <name> [--json] [--stacks-dir <dir>]`: the real
 * program under Pulumi mocks, no CLI and no credentials. Prints what the stack
 * would register (secrets as "[secret]"); `--json` prints exactly
 * `{stack, resources: [{type, name, parent, inputs}], outputs}`. The text output
 * ends with each instance's user-data size (`user data: N of LIMIT bytes`) and
 * the preflight against the clouds' API constraints (program/preflight). Exits
 * 2 on bad usage, a bad stack name or a bad config (naming the key), 1 on
 * preflight findings or anything else.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../core/errors.js";
import { synthStack } from "./synth.js";
import { planJson, type SynthResult } from "./synth-types.js";
import { formatUserDataUsage, userDataUsage } from "./user-data-usage.js";
import { formatFinding, preflight } from "./preflight/check.js";

function printPlan(result: SynthResult): void {
  console.log(`stack ${result.stack}: ${result.resources.length} resources`);
  const depth = new Map<string, number>();
  for (const resource of result.resources) {
    const level = (depth.get(resource.parent) ?? 0) + 1;
    depth.set(resource.urn, level);
    const indent = "  ".repeat(level);
    console.log(`${indent}+ ${resource.type}  ${resource.name}`);
    for (const [key, value] of Object.entries(resource.inputs)) {
      if (key.startsWith("__")) continue;
      const text = JSON.stringify(value);
      console.log(`${indent}    ${key}: ${text.length > 160 ? `${text.slice(0, 157)}...` : text}`);
    }
  }
  console.log("outputs:");
  for (const [key, value] of Object.entries(result.outputs)) console.log(`  ${key}: ${JSON.stringify(value)}`);
  for (const usage of userDataUsage(result)) console.log(formatUserDataUsage(usage));
}

/** Preflight (program/preflight): what the plan assumes, and what the clouds' APIs would refuse. Text mode only. */
function printPreflight(result: SynthResult): number {
  const report = preflight(result);
  for (const note of report.notes) console.log(`note: ${note}`);
  for (const finding of report.findings) console.log(`preflight finding: ${formatFinding(finding)}`);
  console.log(`preflight: ${report.findings.length} finding(s) (${report.checked} values checked against the clouds' API constraints)`);
  return report.findings.length;
}

async function main(): Promise<number> {
  let values: { stack?: string | undefined; json?: boolean | undefined; help?: boolean | undefined; "stacks-dir"?: string | undefined };
  try {
    ({ values } = parseArgs({
      options: { stack: { type: "string" }, json: { type: "boolean" }, "stacks-dir": { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`synth: ${(error as Error).message}\nusage: npm run synth -- --stack <name> [--json] [--stacks-dir <dir>]`);
    return 2;
  }
  if (values.help) {
    console.log("usage: npm run synth -- --stack <name> [--json] [--stacks-dir <dir>]\n  <name>: a stack with stacks/Pulumi.<name>.yaml, e.g. do-example, aws-example, gcp-example\n  --stacks-dir <dir>: read Pulumi.<name>.yaml from <dir> instead of stacks/");
    return 0;
  }
  if (!values.stack) {
    console.error("synth: `--stack` is required (for example --stack do-example)\nusage: npm run synth -- --stack <name> [--json] [--stacks-dir <dir>]");
    return 2;
  }
  try {
    const result = await synthStack(values.stack, values["stacks-dir"]);
    // The --json document's shape is fixed (planJson); the user-data sizes and preflight print in text mode only.
    if (values.json) {
      process.stdout.write(`${JSON.stringify(planJson(result), null, 2)}\n`);
      return 0;
    }
    printPlan(result);
    return printPreflight(result) === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`synth: config error in \`${error.key}\`: ${error.message}`);
      return 2;
    }
    console.error(`synth: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// Exit only once stdout is flushed: a pipe takes a large plan in several
// writes, and process.exit would cut it short.
main().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
