/**
 * `npm run policy:review`: the pack's rules without the Pulumi engine.
 *
 *   --stack <name> [--json]           synthesize stacks/Pulumi.<name>.yaml under mocks and review it
 *   --all-stacks                      review every stack in stacks/ (what CI runs)
 *                                     (stack reviews also run the preflight against the clouds'
 *                                     API constraints, program/preflight; a finding fails them)
 *   --resources <file> [--config <Pulumi.<stack>.yaml>] [--json]
 *                                     review a plan: the synth JSON or `pulumi preview --json` output
 *   --stack <name> --pack-config      print the `--policy-pack-config` file for `pulumi preview --policy-pack policies`
 *
 * Exit status: 0 no mandatory violation, 1 at least one, 2 unusable input
 * (bad usage, unreadable or malformed file, unknown stack, bad stack config,
 * an exemption naming an unknown rule).
 */
import { parseArgs } from "node:util";
import { policyIds } from "./policies";
import { ReviewInputError, reviewResources, ruleConfigFromStackConfig, type ReviewReport, type Violation } from "./review";
import { readReviewFile, readStackConfigFile } from "./lib/plan-input";

const USAGE = `usage:
  npm run policy:review -- --stack <name> [--json]
  npm run policy:review -- --all-stacks
  npm run policy:review -- --resources <file> [--config <Pulumi.<stack>.yaml>] [--json]
  npm run policy:review -- --stack <name> --pack-config`;

/** The `--json` document: exactly these fields (the fix is human output only). */
export function jsonReport(report: ReviewReport): unknown {
  return {
    violations: report.violations.map(({ policy, severity, enforcementLevel, resourceType, resourceName, message }) => ({
      policy,
      severity,
      enforcementLevel,
      resourceType,
      resourceName,
      message,
    })),
    summary: report.summary,
  };
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s+/g, " ");
}

/** A Markdown table (readable in a terminal and in CI logs), then the summary line. */
export function humanReport(report: ReviewReport, label: string): string {
  const { mandatory, advisory, resources } = report.summary;
  const lines: string[] = [];
  if (report.violations.length > 0) {
    const header = ["policy", "severity", "enforcement", "resource", "message", "fix"];
    lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => " --- ").join("|")}|`);
    const ordered = [...report.violations].sort(
      (a: Violation, b: Violation) =>
        Number(b.enforcementLevel === "mandatory") - Number(a.enforcementLevel === "mandatory") || a.policy.localeCompare(b.policy),
    );
    for (const v of ordered) {
      const row = [v.policy, v.severity, v.enforcementLevel, `${v.resourceName} (${v.resourceType})`, v.message, v.fix];
      lines.push(`| ${row.map(cell).join(" | ")} |`);
    }
  }
  lines.push(`${label}: ${resources} resources reviewed, ${mandatory} mandatory and ${advisory} advisory violations`);
  return lines.join("\n");
}

/** Runs the CLI on `argv` (without `node script`) and returns its exit status. */
/** The preflight of a reviewed stack (program/preflight) as printed lines: notes, findings, a summary. */
async function preflightLines(report: import("../program/preflight/check").PreflightReport): Promise<string> {
  const { formatFinding } = await import("../program/preflight/check.js");
  return [
    ...report.notes.map((note) => `preflight note: ${note}`),
    ...report.findings.map((finding) => `preflight finding: ${formatFinding(finding)}`),
    `preflight: ${report.findings.length} finding(s) against the clouds' API constraints (${report.checked} values checked)`,
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let values: {
    stack?: string | undefined;
    resources?: string | undefined;
    config?: string | undefined;
    json?: boolean | undefined;
    "all-stacks"?: boolean | undefined;
    "pack-config"?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        resources: { type: "string" },
        config: { type: "string" },
        json: { type: "boolean" },
        "all-stacks": { type: "boolean" },
        "pack-config": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`policy:review: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const modes = [values.stack !== undefined, values.resources !== undefined, values["all-stacks"] === true].filter(Boolean).length;
  if (modes !== 1) {
    console.error(`policy:review: give exactly one of \`--stack\`, \`--resources\`, \`--all-stacks\`\n${USAGE}`);
    return 2;
  }
  if (values.config !== undefined && values.resources === undefined) {
    console.error(`policy:review: \`--config\` goes with \`--resources\` (a stack's own config is read with \`--stack\`)\n${USAGE}`);
    return 2;
  }
  if (values["pack-config"] && values.stack === undefined) {
    console.error(`policy:review: \`--pack-config\` needs \`--stack <name>\`\n${USAGE}`);
    return 2;
  }
  if (values.json && values["all-stacks"]) {
    console.error(`policy:review: \`--json\` reviews one input; use \`--stack <name> --json\` per stack\n${USAGE}`);
    return 2;
  }

  try {
    // Loaded only for stack reviews: it pulls in the Pulumi runtime and every component.
    const stacks = async () => import("./lib/stack-review.js");
    if (values["pack-config"] && values.stack !== undefined) {
      const { stackConfig } = await stacks();
      const ruleConfig = ruleConfigFromStackConfig(stackConfig(values.stack));
      const packConfig = Object.fromEntries(policyIds().map((id) => [id, ruleConfig]));
      process.stdout.write(`${JSON.stringify(packConfig, null, 2)}\n`);
      return 0;
    }
    if (values["all-stacks"]) {
      const { reviewStack, stackNames } = await stacks();
      const names = stackNames();
      if (names.length === 0) throw new ReviewInputError("no stacks to review: stacks/ holds no Pulumi.<name>.yaml");
      let failed = false;
      for (const name of names) {
        const report = await reviewStack(name);
        console.log(`${humanReport(report, `stack ${name}`)}`);
        console.log(`${await preflightLines(report.preflight)}\n`);
        if (report.summary.mandatory > 0 || report.preflight.findings.length > 0) failed = true;
      }
      return failed ? 1 : 0;
    }
    let report: ReviewReport;
    let label: string;
    let preflightFindings = 0;
    let queuedPreflight: string | undefined;
    if (values.stack !== undefined) {
      const reviewed = await (await stacks()).reviewStack(values.stack);
      report = reviewed;
      label = `stack ${values.stack}`;
      preflightFindings = reviewed.preflight.findings.length;
      // The --json document stays the pack's; the preflight goes to stderr there.
      const lines = await preflightLines(reviewed.preflight);
      if (values.json) console.error(lines);
      else queuedPreflight = lines;
    } else {
      const path = values.resources as string;
      const input = readReviewFile(path);
      const config = values.config !== undefined ? readStackConfigFile(values.config) : input.config;
      const options: Parameters<typeof reviewResources>[1] = { config };
      if (input.stack !== undefined) options.stack = input.stack;
      report = await reviewResources(input.resources, options);
      label = `${path} (${input.format === "preview" ? "pulumi preview --json" : "synth JSON"})`;
    }
    if (values.json) process.stdout.write(`${JSON.stringify(jsonReport(report), null, 2)}\n`);
    else console.log(humanReport(report, label));
    if (queuedPreflight !== undefined) console.log(queuedPreflight);
    return report.summary.mandatory > 0 || preflightFindings > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof ReviewInputError) {
      console.error(`policy:review: ${error.message}`);
      return 2;
    }
    console.error(`policy:review: the review could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(2);
    },
  );
}
