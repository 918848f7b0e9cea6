/** docs/policies.md is generated from the rules' metadata and must be current. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCS_PATH, renderPolicyDocs } from "../../policies/docs";
import { policies } from "../../policies/policies";

describe("docs/policies.md", () => {
  const committed = readFileSync(DOCS_PATH, "utf8");

  it("is what `npm run policy:docs` generates from the rules (run it and commit when this fails)", () => {
    expect(committed === renderPolicyDocs(), "docs/policies.md is stale: run `npm run policy:docs`").toBe(true);
  });

  it("lists every rule with its severity, enforcement, what, why and fix", () => {
    for (const rule of policies) {
      const start = committed.indexOf(`### \`${rule.name}\``);
      expect(start, `${rule.name} has a section`).toBeGreaterThan(-1);
      const next = committed.indexOf("\n### ", start + 1);
      const section = committed.slice(start, next === -1 ? undefined : next);
      expect(section).toContain(`| ${rule.severity} | ${rule.enforcementLevel} |`);
      expect(section).toContain(`**What:** ${rule.description}`);
      expect(section).toContain(`**Why:** ${rule.why}`);
      expect(section).toContain(`**Fix:** ${rule.remediationSteps}`);
    }
  });

  it("explains running the review in CI and under `pulumi preview --policy-pack`, and exemptions", () => {
    expect(committed).toContain("npm run policy:review -- --all-stacks");
    expect(committed).toContain("pulumi preview --stack <stack> --policy-pack policies --policy-pack-config");
    expect(committed).toContain("clawstack:policyExemptions");
  });
});
