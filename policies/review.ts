/**
 * The engine-free review: runs the pack's own `validateResource` and
 * `validateStack` functions (the objects `index.ts` registers) over a list of
 * planned resources, with hand-built arguments shaped like the engine's:
 * props wrapped in the same unknown-checking proxy, `getConfig` returning the
 * policy config derived from the stack's config, `notApplicable` throwing.
 *
 * `reviewResources` is what `npm run policy:review` and the provisioning
 * API's preview endpoint call.
 */
import {
  unknownCheckingProxy,
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import { policies as packPolicies, policyIds } from "./policies";
import { isStackRule, nameFromUrn, selects, type ClawResourceRule, type ClawRule } from "./lib/rule";
import type { Exemption, RuleConfig } from "./lib/config";
import { isRecord } from "./lib/values";

/** One planned resource: the synth JSON shape, plus what `pulumi preview --json` adds. */
export interface ReviewResource {
  type: string;
  name: string;
  urn?: string;
  /** The parent's URN (the stack's for top-level resources). */
  parent?: string;
  inputs: Record<string, unknown>;
  /** URNs each property depends on (`pulumi preview --json` records them). */
  propertyDependencies?: Record<string, string[]>;
  dependencies?: string[];
}

export interface ReviewOptions {
  /** Stack name, used for URNs and for violations on the stack as a whole. */
  stack?: string;
  /** The stack's `clawstack:*` config, prefix stripped (`gatewayCidrs`, `sshAccess`, `snapshots`, `publisherRoleArn`, `publisherMember`, `policyExemptions`). */
  config?: Record<string, unknown>;
  /** The rules to run; the whole pack by default (the benchmark passes `[]` for its baseline). */
  policies?: readonly ClawRule[];
}

export interface Violation {
  policy: string;
  severity: string;
  enforcementLevel: string;
  resourceType: string;
  resourceName: string;
  message: string;
  /** The rule's fix (human output only; not part of `--json`). */
  fix: string;
}

export interface ReviewReport {
  violations: Violation[];
  summary: { mandatory: number; advisory: number; resources: number };
}

/** Input the review cannot use (exit status 2 in the CLI). */
export class ReviewInputError extends Error {
  override readonly name = "ReviewInputError";
}

/** The value Pulumi uses for a not-yet-known string (also in `pulumi preview --json`). */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** How the offline synth prints an unknown value. */
const SYNTH_UNKNOWN = "[unknown]";

const STACK_TYPE = "pulumi:pulumi:Stack";
const PROJECT = "clawstack";

class NotApplicable extends Error {}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

/** Synth's "[unknown]" becomes the engine's unknown sentinel, so the proxy treats it the same way. */
function normaliseUnknowns(value: unknown): unknown {
  if (value === SYNTH_UNKNOWN) return UNKNOWN_STRING;
  if (Array.isArray(value)) return value.map(normaliseUnknowns);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = normaliseUnknowns(value[key]);
    return out;
  }
  return value;
}

/** Whether a value holds an unknown (the engine's sentinel or the synth's "[unknown]") at any depth. */
function containsUnknown(value: unknown): boolean {
  if (value === SYNTH_UNKNOWN || value === UNKNOWN_STRING) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (isRecord(value)) {
    for (const key in value) if (containsUnknown(value[key])) return true;
  }
  return false;
}

/**
 * The policy config every rule gets, from the stack's config. Closed defaults:
 * no gateway CIDRs, no SSH access, snapshots required, no firmware publisher,
 * no exemptions. Throws `ReviewInputError`
 * for exemptions that are not a list or name a rule the pack does not have.
 */
export function ruleConfigFromStackConfig(config: Record<string, unknown> = {}, knownIds: readonly string[] = policyIds()): RuleConfig {
  const gatewayCidrs = Array.isArray(config.gatewayCidrs) ? config.gatewayCidrs.map(String) : [];
  const sshAccess = isRecord(config.sshAccess);
  // Only the explicit `snapshots: {enabled: false}` turns the requirement off (issue 14, item 7).
  const snapshotsEnabled = !(isRecord(config.snapshots) && config.snapshots.enabled === false);
  const firmwarePublishers = [config.publisherRoleArn, config.publisherMember].filter(
    (value): value is string => typeof value === "string" && value.length > 0,
  );
  const raw = config.policyExemptions ?? [];
  if (!Array.isArray(raw)) {
    throw new ReviewInputError(
      `\`clawstack:policyExemptions\` must be a list of {policy, resource, reason, expires}; got ${typeof raw}`,
    );
  }
  const exemptions = raw.map((entry, index): Exemption => {
    if (!isRecord(entry)) {
      throw new ReviewInputError(`\`clawstack:policyExemptions[${index}]\` must be an object {policy, resource, reason, expires}`);
    }
    const policy = String(entry.policy ?? "");
    if (!knownIds.includes(policy)) {
      throw new ReviewInputError(
        `\`clawstack:policyExemptions[${index}].policy\` must name a rule of the pack (see docs/policies.md); got ${JSON.stringify(entry.policy ?? null)}`,
      );
    }
    return {
      policy,
      resource: String(entry.resource ?? ""),
      reason: typeof entry.reason === "string" ? entry.reason : "",
      expires: entry.expires instanceof Date ? entry.expires.toISOString() : String(entry.expires ?? ""),
    };
  });
  return { gatewayCidrs, sshAccess, snapshotsEnabled, firmwarePublishers, exemptions };
}

/** The (`$`-joined, parent-first) type part of a URN: `urn:pulumi:stack::project::<type>::name`. */
function qualifiedTypeOf(urn: string): string {
  const parts = urn.split("::");
  return parts.length >= 4 ? parts.slice(2, -1).join("::") : "";
}

function throwNotApplicable(): never {
  throw new NotApplicable();
}

function typeOf(resourceClass: unknown): string | undefined {
  return (resourceClass as { __pulumiType?: string }).__pulumiType;
}

/** A planned resource as both validation kinds see it (fields of ResourceValidationArgs and PolicyResource). */
class PlannedResourceView {
  readonly opts: PolicyResourceOptions;
  parent?: PolicyResource;
  dependencies: PolicyResource[] = [];
  propertyDependencies: Record<string, PolicyResource[]> = {};

  constructor(
    readonly type: string,
    readonly props: Record<string, unknown>,
    readonly urn: string,
    readonly name: string,
    parentUrn: string | undefined,
    readonly stackTags: ReadonlyMap<string, string>,
    readonly getConfig: <T extends object>() => T,
  ) {
    this.opts = { ...OPTIONS, parent: parentUrn };
  }

  notApplicable(): never {
    throw new NotApplicable();
  }

  isType(resourceClass: unknown): boolean {
    return typeOf(resourceClass) === this.type;
  }

  /** The same (possibly proxied) props the engine returns, typed by the caller. */
  asType(resourceClass: unknown): Record<string, unknown> | undefined {
    return typeOf(resourceClass) === this.type ? this.props : undefined;
  }
}

export async function reviewResources(resources: readonly ReviewResource[], options: ReviewOptions = {}): Promise<ReviewReport> {
  const stack = options.stack ?? "review";
  const rules = options.policies ?? packPolicies;
  const config = ruleConfigFromStackConfig(options.config, policyIds());
  const getConfig = <T extends object>(): T => config as T;
  const stackTags: ReadonlyMap<string, string> = new Map();
  const stackUrn = `urn:pulumi:${stack}::${PROJECT}::${STACK_TYPE}::${PROJECT}-${stack}`;

  const planned = resources.map((resource) => {
    const urn = resource.urn ?? `urn:pulumi:${stack}::${PROJECT}::${resource.type}::${resource.name}`;
    // The engine's proxy only ever changes what a read of an unknown value does;
    // inputs with no unknown value anywhere are handed over as they are (same answers, far cheaper).
    const props = containsUnknown(resource.inputs)
      ? (unknownCheckingProxy(normaliseUnknowns(resource.inputs) as Record<string, unknown>) as Record<string, unknown>)
      : resource.inputs;
    return { resource, urn, props };
  });
  const byUrn = new Map(planned.map((entry) => [entry.urn, entry]));

  const violations: Violation[] = [];
  const record = (rule: ClawRule, urn: string | undefined, message: string): void => {
    const target = urn === undefined ? undefined : byUrn.get(urn);
    violations.push({
      policy: rule.name,
      severity: rule.severity,
      enforcementLevel: rule.enforcementLevel,
      resourceType: target?.resource.type ?? STACK_TYPE,
      resourceName: target?.resource.name ?? (urn === undefined ? stack : nameFromUrn(urn)),
      message,
      fix: rule.remediationSteps,
    });
  };

  const resourceRules = rules.filter((rule): rule is ClawResourceRule => !isStackRule(rule));
  const stackRules = rules.filter(isStackRule);
  // The rules that check a type, worked out once per type: a rule returns at once for
  // other types anyway, and skipping the call saves a promise per rule and resource.
  const rulesByType = new Map<string, ClawResourceRule[]>();
  const rulesFor = (type: string): ClawResourceRule[] => {
    let list = rulesByType.get(type);
    if (!list) {
      list = resourceRules.filter((rule) => rule.appliesTo === undefined || selects(rule.appliesTo, type));
      rulesByType.set(type, list);
    }
    return list;
  };

  // One view per planned resource serves as the resource validation's args and as the stack
  // validation's resource; its methods live on the prototype (no closures per resource).
  const views = planned.map(({ resource, urn, props }) => new PlannedResourceView(resource.type, props, urn, resource.name, resource.parent, stackTags, getConfig));
  let currentUrn = "";
  const reporters = new Map(resourceRules.map((rule) => [rule, (message: string) => record(rule, currentUrn, message)]));
  for (const view of views) {
    currentUrn = view.urn;
    for (const rule of rulesFor(view.type)) {
      try {
        // The view has every field and method of ResourceValidationArgs; the cast only names that.
        const pending = rule.validateResource(view as unknown as ResourceValidationArgs, reporters.get(rule)!);
        if (pending) await pending;
      } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
      }
    }
  }

  {
    // Built even without stack rules, so an empty pack walks exactly what a full one does (the benchmark's baseline).
    const policyResources = views as unknown as PolicyResource[];
    const byUrnResource = new Map(policyResources.map((entry) => [entry.urn, entry]));
    // Plans without URNs (the synth JSON carries only parent URNs) still link
    // parents: a URN ends in `<...$>type::name`, and type plus name is unique.
    const byTypeAndName = new Map(policyResources.map((entry) => [`${entry.type}::${entry.name}`, entry]));
    const resolve = (urn: string): PolicyResource | undefined =>
      byUrnResource.get(urn) ?? byTypeAndName.get(`${qualifiedTypeOf(urn).split("$").pop()}::${nameFromUrn(urn)}`);
    policyResources.forEach((entry, index) => {
      const source = planned[index]!.resource;
      const parent = source.parent === undefined ? undefined : resolve(source.parent);
      if (parent) entry.parent = parent;
      entry.dependencies = (source.dependencies ?? []).flatMap((dep) => resolve(dep) ?? []);
      for (const [key, deps] of Object.entries(source.propertyDependencies ?? {})) {
        entry.propertyDependencies[key] = deps.flatMap((dep) => resolve(dep) ?? []);
      }
    });
    const args: StackValidationArgs = { resources: policyResources, stackTags, getConfig, notApplicable: throwNotApplicable };
    for (const rule of stackRules) {
      try {
        await rule.validateStack(args, (message, urn) => record(rule, urn === stackUrn ? undefined : urn, message));
      } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
      }
    }
  }

  const mandatory = violations.filter((violation) => violation.enforcementLevel === "mandatory").length;
  return {
    violations,
    summary: { mandatory, advisory: violations.length - mandatory, resources: resources.length },
  };
}
