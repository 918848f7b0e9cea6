/**
 * Running one rule on hand-built resources through the same path the CLI and
 * the API use (`reviewResources`: the engine's unknown-checking proxy, the
 * policy config derived from stack config, exemptions).
 */
import { UNKNOWN_STRING, reviewResources, type ReviewResource, type Violation } from "../../policies/review";
import { policies } from "../../policies/policies";
import type { ClawRule } from "../../policies/lib/rule";

/** The engine's marker for a value not known until the update runs. */
export const UNKNOWN = UNKNOWN_STRING;

export function rule(id: string): ClawRule {
  const found = policies.find((candidate) => candidate.name === id);
  if (!found) throw new Error(`no rule ${id} in the pack`);
  return found;
}

export interface Planned {
  type: string;
  name?: string;
  inputs: Record<string, unknown>;
  parent?: string;
  urn?: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

function toResource(planned: Planned, index: number): ReviewResource {
  return { ...planned, name: planned.name ?? `res${index}` };
}

/** Violations of one rule over the given resources. */
export async function violations(ruleId: string, resources: Planned[], config: Record<string, unknown> = {}): Promise<Violation[]> {
  const report = await reviewResources(resources.map(toResource), { stack: "test", config, policies: [rule(ruleId)] });
  return report.violations;
}

/** Just the messages, for assertions. */
export async function messages(ruleId: string, resources: Planned[], config: Record<string, unknown> = {}): Promise<string[]> {
  return (await violations(ruleId, resources, config)).map((violation) => violation.message);
}

/** A deep copy with one property path replaced (or removed with `undefined`). */
export function withPath<T extends object>(value: T, path: string, replacement: unknown): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split(".");
  let target: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== "object" || next === null) throw new Error(`withPath: ${path} does not exist`);
    target = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (replacement === undefined) delete target[last];
  else target[last] = replacement;
  return copy as T;
}

/** An IAM policy document as the AWS provider takes it (a JSON string). */
export function doc(...statements: Array<Record<string, unknown>>): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** A date a year from now, for exemptions that have not expired. */
export function nextYear(): string {
  return new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString().slice(0, 10);
}
