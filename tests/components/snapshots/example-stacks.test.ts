import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { synthStack } from "../../../program/synth";
import { readStackConfig, STACKS_DIR } from "../../../program/stack-config";
import { coverageFor } from "./coverage";

/**
 * Every host example stack in stacks/ synthesizes with a snapshot schedule
 * covering its state disk (issue 5, done-when). The list is read from the
 * directory, so a host example added later is checked without editing this file.
 */
const hostStacks = readdirSync(STACKS_DIR)
  .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
  .filter((stack): stack is string => stack !== undefined)
  .filter((stack) => (readStackConfig(stack).kind ?? "host") === "host")
  .sort();

describe("host example stacks keep snapshots of their state disk", () => {
  if (hostStacks.length === 0) {
    const reason = "no host example stack in stacks/ yet (the host area adds do-example, aws-example, gcp-example)";
    console.warn(`[skip] ${reason}`);
    it.skip(reason, () => undefined);
    return;
  }

  it.each(hostStacks)("%s", async (stack) => {
    const config = readStackConfig(stack);
    const result = await synthStack(stack);
    const coverage = coverageFor(String(config.cloud), result);
    const snapshots = (config.snapshots ?? {}) as { enabled?: boolean; retain?: number; frequency?: string };
    // An example stack shows the safe default: snapshots on.
    expect(snapshots.enabled ?? true).toBe(true);
    const retain = snapshots.retain ?? 7;
    expect(coverage.retain).toBe(config.cloud === "gcp" && snapshots.frequency === "weekly" ? retain * 7 : retain);
    expect(String(result.outputs.snapshots)).toMatch(/^(daily|weekly)/);
  });
});
