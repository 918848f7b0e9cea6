/**
 * `npm run preflight -- --stack <name> [--stacks-dir <dir>] [--json]`: the stack's
 * offline plan checked against the clouds' own API constraints. Prints each
 * finding (resource, field, value, rule, source) and what the plan assumes of
 * the account (default networks). Exits 1 on findings, 2 on bad usage or a bad
 * config, 0 when the plan passes.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../../core/errors.js";
import { synthStack } from "../synth.js";
import { formatFinding, preflight } from "./check.js";

const USAGE = "usage: npm run preflight -- --stack <name> [--stacks-dir <dir>] [--json]";

async function main(): Promise<number> {
  let values: { stack?: string | undefined; json?: boolean | undefined; "stacks-dir"?: string | undefined };
  try {
    ({ values } = parseArgs({ options: { stack: { type: "string" }, json: { type: "boolean" }, "stacks-dir": { type: "string" } }, strict: true }));
  } catch (error) {
    console.error(`preflight: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.stack) {
    console.error(`preflight: \`--stack\` is required (for example --stack aws-example)\n${USAGE}`);
    return 2;
  }
  try {
    const report = preflight(await synthStack(values.stack, values["stacks-dir"]));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      for (const note of report.notes) console.log(`note: ${note}`);
      for (const finding of report.findings) console.log(`finding: ${formatFinding(finding)}`);
      console.log(`preflight ${values.stack}: ${report.findings.length} finding(s), ${report.checked} values checked against the clouds' API constraints`);
    }
    return report.findings.length === 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`preflight: config error in \`${error.key}\`: ${error.message}`);
      return 2;
    }
    console.error(`preflight: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

main().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
