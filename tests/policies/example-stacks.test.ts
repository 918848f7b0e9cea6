/**
 * Every example stack in stacks/ (the directory is listed, so a new stack is
 * covered without touching this file) is reviewed with zero mandatory
 * violations, both straight from the synth and from the synth JSON as
 * `npm run synth -- --json` prints it (no URNs), which must agree.
 */
import { describe, expect, it } from "vitest";
import { reviewResources } from "../../policies/review";
import { parseReviewDocument } from "../../policies/lib/plan-input";
import { stackConfig, stackNames, synthForReview } from "../../policies/lib/stack-review";
import { synthConfig } from "../../program/synth";

const STACKS = stackNames();

describe("example stacks", () => {
  it("exist", () => {
    expect(STACKS.length).toBeGreaterThan(0);
  });

  it.each(STACKS)("%s has no mandatory violation (synth and synth JSON agree)", async (name) => {
    const { resources, config } = await synthForReview(name);
    const direct = await reviewResources(resources, { stack: name, config });
    const mandatory = direct.violations.filter((v) => v.enforcementLevel === "mandatory");
    expect(mandatory, mandatory.map((v) => `${v.policy} on ${v.resourceName}: ${v.message}`).join("\n")).toEqual([]);
    expect(direct.summary.resources).toBeGreaterThan(0);
    for (const advisory of direct.violations) console.warn(`[advisory] ${name}: ${advisory.policy} on ${advisory.resourceName}: ${advisory.message}`);

    // The synth CLI's JSON: {type, name, parent, inputs}, no URNs.
    const printed = JSON.stringify({ stack: name, resources: resources.map(({ type, name: resourceName, parent, inputs }) => ({ type, name: resourceName, parent, inputs })), outputs: {} });
    const input = parseReviewDocument(printed, `${name}.json`);
    const fromFile = await reviewResources(input.resources, { stack: name, config });
    const key = (v: { policy: string; resourceName: string; message: string }) => `${v.policy} ${v.resourceName} ${v.message}`;
    expect(fromFile.violations.map(key).sort()).toEqual(direct.violations.map(key).sort());
  });

  it("every stack kind runs a stack that declares exemptions (`pulumi up` sees the pack's key too)", async () => {
    const oneStackPerKind = new Map(STACKS.map((name) => [String(stackConfig(name).kind ?? "host"), name]));
    for (const name of oneStackPerKind.values()) {
      const exemptions = [{ policy: "stack-ownership-tags", resource: "x", reason: "Kept as an example of the mechanism.", expires: "2999-01-01" }];
      const result = await synthConfig(name, { ...stackConfig(name), policyExemptions: exemptions });
      expect(result.resources.length, name).toBeGreaterThan(0);
    }
  });

  it.each(STACKS.filter((name) => String(stackConfig(name).kind ?? "host") === "host"))(
    "%s with snapshots: {enabled: false} has no mandatory violation, and the opt-out is reported on its state disk",
    async (name) => {
      const config: Record<string, unknown> = { ...stackConfig(name), snapshots: { enabled: false } };
      delete config.policyExemptions; // the pack's key, not the program's
      const { resources } = await synthConfig(name, config);
      const report = await reviewResources(resources, { stack: name, config });
      expect(report.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
      const optOuts = report.violations.filter((v) => v.policy === "stack-snapshots-opted-out");
      expect(optOuts.map((v) => v.enforcementLevel)).toEqual(["advisory"]);
      expect(optOuts[0]!.message).toContain("explicit opt-out");
    },
  );

  it("the review really reads the synthesized resources: breaking one is caught", async (context) => {
    if (!STACKS.includes("do-example")) context.skip();
    const { resources, config } = await synthForReview("do-example");
    const firewall = resources.find((r) => r.type === "digitalocean:index/firewall:Firewall");
    expect(firewall, "do-example registers a Cloud Firewall").toBeDefined();
    firewall!.inputs.inboundRules = [...((firewall!.inputs.inboundRules as unknown[]) ?? []), { protocol: "tcp", portRange: "22", sourceAddresses: ["0.0.0.0/0"] }];
    const report = await reviewResources(resources, { stack: "do-example", config });
    expect(report.violations.map((v) => v.policy)).toContain("digitalocean-firewall-no-world-admin-ports");
  });
});
