import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../core/errors.js";
import { describeGiven } from "../core/validation.js";

/** The project's config namespace: stack config keys are `clawstack:<key>`. */
export const CONFIG_NAMESPACE = "clawstack";

/** Stack names ClawStack accepts: they become file names and resource names. */
export const STACK_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Where `Pulumi.yaml` keeps stack config (`stackConfigDir: stacks`). */
export const STACKS_DIR = resolve(__dirname, "..", "stacks");

/**
 * Stands in for a `secure:` (encrypted) value when the offline synth reads a
 * stack file: the synth has no passphrase, so it never sees the real value.
 * The program marks such values secret, so they print as "[secret]".
 */
export const SECURE_VALUE_STAND_IN = "offline-synth-stand-in-for-an-encrypted-config-value";

export function assertStackName(stackName: string): void {
  if (!STACK_NAME_PATTERN.test(stackName)) {
    throw new ConfigError(
      "stack",
      `\`stack\` must be 1 to 63 characters of lowercase letters, digits and dashes, starting with a letter or digit; got ${describeGiven(stackName)}`,
    );
  }
}

/**
 * Reads `stacks/Pulumi.<stackName>.yaml` and returns its `clawstack:*` keys
 * with the prefix stripped. Keys of other namespaces (`aws:region`...) are left out.
 */
export function readStackConfig(stackName: string, stacksDir: string = STACKS_DIR): Record<string, unknown> {
  assertStackName(stackName);
  const path = join(stacksDir, `Pulumi.${stackName}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError("stack", `\`stack\` must name a stack with a config file in stacks/; no stacks/Pulumi.${stackName}.yaml (got ${describeGiven(stackName)})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError("stack", `stacks/Pulumi.${stackName}.yaml is not valid YAML: ${(error as Error).message}`);
  }
  const config = (document as { config?: unknown } | null)?.config;
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ConfigError("config", `stacks/Pulumi.${stackName}.yaml must have a \`config\` map with \`${CONFIG_NAMESPACE}:*\` keys`);
  }
  return stripNamespace(config as Record<string, unknown>, (value) => replaceSecureValues(value));
}

/** `{ "clawstack:region": "nyc3", "aws:region": ... }` → `{ region: "nyc3" }`. */
export function stripNamespace(
  config: Record<string, unknown>,
  mapValue: (value: unknown) => unknown = (value) => value,
): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = mapValue(value);
  }
  return raw;
}

function replaceSecureValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(replaceSecureValues);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]?.[0] === "secure") return SECURE_VALUE_STAND_IN;
    return Object.fromEntries(entries.map(([key, inner]) => [key, replaceSecureValues(inner)]));
  }
  return value;
}
