/**
 * Reviewing a stack of this project without the engine: read
 * `stacks/Pulumi.<name>.yaml`, run the stack's real program under Pulumi mocks
 * (the offline synth) and review everything it registered with the stack's own
 * policy config. Loads the Pulumi runtime and every component, so it is not
 * part of the pack's import graph.
 */
import { readdirSync } from "node:fs";
import { ConfigError } from "../../program/errors";
import { STACKS_DIR, readStackConfig } from "../../program/stack-config";
import { synthConfig } from "../../program/synth";
import { ReviewInputError, reviewResources, ruleConfigFromStackConfig, type ReviewReport } from "../review";

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
 * Synthesizes and reviews one stack. Exemptions are checked before the program
 * runs (one naming an unknown rule is a `ReviewInputError`); the exemptions key
 * is the pack's, so the program does not see it.
 */
export async function reviewStack(name: string): Promise<ReviewReport> {
  const config = stackConfig(name);
  ruleConfigFromStackConfig(config);
  const { [EXEMPTIONS_KEY]: _exemptions, ...programConfig } = config;
  let resources;
  try {
    ({ resources } = await synthConfig(name, programConfig));
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ReviewInputError(`stacks/Pulumi.${name}.yaml: config error in \`${error.key}\`: ${error.message}`);
    }
    throw error;
  }
  return reviewResources(resources, { stack: name, config });
}
