import { ConfigError } from "../core/errors.js";
import type { StackKind } from "../core/stack-kind.js";
import { DEFAULT_KIND, findStackKind, stackKinds } from "./kinds.js";
import { describeGiven } from "../core/validation.js";

/** A stack kind together with its validated config, ready to `run`. */
export interface SelectedStack {
  // `any`: see `kinds.ts`; `config` is the result of this same kind's `parse`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the comment above
  kind: StackKind<any>;
  config: unknown;
}

/**
 * Picks the stack kind named by `kind` (default `host`) and validates the rest
 * of the config with that kind's schema. Throws `ConfigError` naming the key
 * before anything is registered. `index.ts` (a real `pulumi up`), the offline
 * synth and the provisioning API all go through here.
 */
export function selectStack(raw: Record<string, unknown>): SelectedStack {
  const kindName = raw.kind === undefined ? DEFAULT_KIND : raw.kind;
  const kind = typeof kindName === "string" ? findStackKind(kindName) : undefined;
  if (!kind) {
    throw new ConfigError(
      "kind",
      `\`kind\` must be one of ${stackKinds().map((candidate) => candidate.kind).join(", ")}; got ${describeGiven(kindName)}`,
    );
  }
  // `policyExemptions` belongs to the policy pack (docs/policies.md), not to any kind's schema:
  // checked for shape here, then kept out of the kind's strict key check.
  const { policyExemptions, ...programConfig } = raw;
  if (policyExemptions !== undefined && !Array.isArray(policyExemptions)) {
    throw new ConfigError(
      "policyExemptions",
      `\`policyExemptions\` must be a list of {policy, resource, reason, expires}; got ${describeGiven(policyExemptions)}`,
    );
  }
  return { kind, config: kind.parse(programConfig) };
}

/** Validates and runs a stack from its config (prefix stripped); returns its outputs. */
export async function runStack(raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { kind, config } = selectStack(raw);
  return kind.run(config);
}
