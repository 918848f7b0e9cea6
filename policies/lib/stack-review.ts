/**
 * Reviewing a stack of this project without the engine: read
 * `stacks/Pulumi.<name>.yaml`, run the stack's real program under Pulumi mocks
 * (the offline synth) and review everything it registered with the stack's own
 * policy config. Not part of the pack's import graph (it runs the program).
 */
import { readdirSync } from "node:fs";
import { ConfigError } from "../../core/errors";
import { STACKS_DIR, readStackConfig } from "../../program/stack-config";
import type { PreflightReport } from "../../program/preflight/check";
import { ReviewInputError, reviewResources, ruleConfigFromStackConfig, type ReviewReport, type ReviewResource } from "../review";

/** The stack config key that holds policy exemptions (prefix stripped). */
export const EXEMPTIONS_KEY = "policyExemptions";

/** Names of the stacks with a `Pulumi.<name>.yaml` in `dir` (the example stacks by default), sorted. */
export function stackNames(dir: string = STACKS_DIR): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .map((file) => /^Pulumi\.([a-z0-9][a-z0-9-]*)\.yaml$/.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

/** A stack's `clawstack:*` config; an unknown stack or unreadable file is a `ReviewInputError`. */
export function stackConfig(name: string): Record<string, unknown> {
  try {
    return readStackConfig(name);
  } catch (error) {
    if (error instanceof ConfigError) throw new ReviewInputError(error.message);
    throw error;
  }
}

/**
 * Synthesizes one stack for review: its planned resources and its config.
 * Exemptions are checked before the program runs (one naming an unknown rule
 * is a `ReviewInputError`); the exemptions key is the pack's, so the program
 * does not see it.
 */
export async function synthForReview(name: string): Promise<{ resources: ReviewResource[]; config: Record<string, unknown> }> {
  const config = stackConfig(name);
  ruleConfigFromStackConfig(config);
  const { [EXEMPTIONS_KEY]: _exemptions, ...programConfig } = config;
  // Loaded on first use: the Pulumi runtime and every component, only once the config is known to be usable.
  const { synthConfig } = await import("../../program/synth.js");
  try {
    const { resources } = await synthConfig(name, programConfig);
    return { resources, config };
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ReviewInputError(`stacks/Pulumi.${name}.yaml: config error in \`${error.key}\`: ${error.message}`);
    }
    throw error;
  }
}

/** A stack's review, with the preflight of the same plan against the clouds' API constraints. */
export type StackReviewReport = ReviewReport & { preflight: PreflightReport };

/** Synthesizes and reviews one stack with its own config, and preflights the same plan (`program/preflight`). */
export async function reviewStack(name: string): Promise<StackReviewReport> {
  const { resources, config } = await synthForReview(name);
  const report = await reviewResources(resources, { stack: name, config });
  const { preflight } = await import("../../program/preflight/check.js");
  return { ...report, preflight: preflight({ stack: name, resources: resources.map((resource) => ({ urn: "", parent: "", ...resource })), outputs: {} }) };
}
