/**
 * Each rule file documents itself twice: a JSDoc block right above
 * `export default` (first paragraph = what the rule requires, `@severity`,
 * `@enforcement`, `@unknown`) and the metadata it registers. They must agree.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { policies } from "../../policies/policies";

const RULES = join(__dirname, "..", "..", "policies", "rules");

interface RuleDoc {
  summary: string;
  tags: Record<string, string>;
}

/** The JSDoc block directly above `export default`, or undefined when there is none. */
function ruleDoc(source: string): RuleDoc | undefined {
  const match = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export default\b/.exec(source);
  if (!match) return undefined;
  const lines = match[1]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  const tags: Record<string, string> = {};
  const summary: string[] = [];
  let inSummary = true;
  for (const line of lines) {
    const tag = /^@(\w+)\s+(.*)$/.exec(line.trim());
    if (tag) {
      tags[tag[1]!] = tag[2]!.trim();
      inSummary = false;
    } else if (line.trim() === "") {
      if (summary.length > 0) inSummary = false;
    } else if (inSummary) {
      summary.push(line.trim());
    }
  }
  return { summary: summary.join(" "), tags };
}

describe("rule documentation matches registered metadata", () => {
  it.each(policies.map((policy) => [policy.name, policy] as const))("%s", (_id, policy) => {
    const doc = ruleDoc(readFileSync(join(RULES, policy.source), "utf8"));
    expect(doc, `${policy.source} needs a JSDoc block right above \`export default\``).toBeDefined();
    expect(doc!.summary).toBe(policy.description);
    expect(doc!.tags).toEqual({ severity: policy.severity, enforcement: policy.enforcementLevel, unknown: policy.unknownValues });
    expect(policy.why.length, "`why` says what risk the rule closes").toBeGreaterThan(30);
    expect(policy.remediationSteps.length, "`fix` says how to fix a violation").toBeGreaterThan(15);
  });

  it("the comparison catches a drifted severity", () => {
    const drifted = `/**\n * Droplets have backups on, unless the stack opts out of snapshots explicitly.\n *\n * @severity low\n * @enforcement mandatory\n * @unknown violation\n */\nexport default x;`;
    const backups = policies.find((policy) => policy.name === "digitalocean-droplet-backups")!;
    expect(ruleDoc(drifted)!.summary).toBe(backups.description);
    expect(ruleDoc(drifted)!.tags.severity).not.toBe(backups.severity);
  });
});
