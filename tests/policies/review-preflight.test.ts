import { describe, expect, it } from "vitest";
import { main } from "../../policies/review-cli";
import { reviewStack } from "../../policies/lib/stack-review";

/** The policy review of a stack also runs the preflight against the clouds' API constraints (program/preflight). */
describe("policy:review runs the preflight on the stack's plan", () => {
  it("reviewStack carries the preflight of the same plan: checked values, no finding, the default-network note", async () => {
    const report = await reviewStack("gcp-example");
    expect(report.preflight.checked).toBeGreaterThan(15);
    expect(report.preflight.findings).toEqual([]);
    expect(report.preflight.notes).toEqual([expect.stringMatching(/`default` network/)]);
  });

  it("prints the preflight after the pack's report", async () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(" "));
    try {
      await main(["--stack", "do-example"]);
    } finally {
      console.log = log;
    }
    const text = lines.join("\n");
    expect(text).toMatch(/preflight note: openclaw-do: no `vpcUuid` given/);
    expect(text).toMatch(/preflight: 0 finding\(s\) against the clouds' API constraints \(\d+ values checked\)/);
  });
});
