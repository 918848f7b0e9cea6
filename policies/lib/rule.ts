/**
 * How a ClawStack rule is declared. Each rule file calls `resourceRule` or
 * `stackRule` with its own `__filename`, so the policy ID is derived from the
 * path (`policies/rules/aws/iam-no-wildcard-actions.ts` becomes
 * `aws-iam-no-wildcard-actions`) and can never drift from the file name.
 *
 * Both helpers wrap the rule's check in the two behaviours every rule shares:
 * - unknown values: an access to a value that is not computed yet throws
 *   `UnknownValueError` (the engine wraps props in a checking proxy; so does the
 *   engine-free reviewer). The rule's `unknownValues` decides what that means:
 *   `"violation"` (fail closed, required for mandatory rules) or `"skip"`.
 * - exemptions: violations on a resource named by a valid exemption for this
 *   rule (reason of at least 20 characters, expiry in the future) are dropped.
 */
import { basename, dirname } from "node:path";
import {
  UnknownValueError,
  type EnforcementLevel,
  type PolicyConfigSchema,
  type ReportViolation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type Severity,
  type StackValidationArgs,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { activeExemptionsFor, RULE_CONFIG_SCHEMA, type RuleConfig } from "./config";

/** What a rule does when a value it needs is not known until the update runs. */
export type UnknownValuePolicy = "violation" | "skip";

export interface RuleMetadata {
  /** One sentence: what the rule requires. */
  description: string;
  /** Why it matters (the risk it closes). */
  why: string;
  /** How to fix a violation. */
  fix: string;
  severity: Severity;
  enforcementLevel: Extract<EnforcementLevel, "advisory" | "mandatory">;
  /** What an unknown (not yet computed) value means for this rule. */
  unknownValues: UnknownValuePolicy;
}

/** Resource types a resource rule looks at: exact type tokens or patterns. */
export type TypeSelector = ReadonlyArray<string | RegExp>;

export function selects(selector: TypeSelector, type: string): boolean {
  return selector.some((entry) => (typeof entry === "string" ? entry === type : entry.test(type)));
}

/** The extra metadata ClawStack keeps on every registered policy. */
export interface ClawRuleFields {
  name: string;
  description: string;
  severity: Severity;
  enforcementLevel: "advisory" | "mandatory";
  remediationSteps: string;
  why: string;
  unknownValues: UnknownValuePolicy;
  /** The rule's source file, relative to `policies/rules/`. */
  source: string;
  /** Resource types the rule checks (resource rules), for docs. */
  appliesTo?: TypeSelector;
  /** The shared `--policy-pack-config` schema (see `config.ts`). */
  configSchema: PolicyConfigSchema;
}

export type ClawResourceRule = ResourceValidationPolicy & ClawRuleFields & {
  /** Returns a promise only when the rule's check is asynchronous (the engine accepts both). */
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => void | Promise<void>;
};
export type ClawStackRule = StackValidationPolicy & ClawRuleFields & {
  validateStack: (args: StackValidationArgs, report: ReportViolation) => Promise<void>;
};
export type ClawRule = ClawResourceRule | ClawStackRule;

export function isStackRule(rule: ClawRule): rule is ClawStackRule {
  return "validateStack" in rule;
}

/** `policies/rules/<cloud>/<rule>.ts` → `<cloud>-<rule>`. */
export function ruleIdFromPath(file: string): string {
  const cloud = basename(dirname(file));
  const rule = basename(file).replace(/\.[cm]?[jt]s$/, "");
  return `${cloud}-${rule}`;
}

/** The resource name at the end of a URN (`urn:pulumi:stack::project::type::name`). */
export function nameFromUrn(urn: string): string {
  const at = urn.lastIndexOf("::");
  return at === -1 ? urn : urn.slice(at + 2);
}

/** The path segment of an `UnknownValueError`, for messages. */
function unknownPath(error: UnknownValueError): string {
  return error.props.map(String).join(".");
}

function unknownMessage(error: UnknownValueError): string {
  return (
    `\`${unknownPath(error)}\` is not known until the update runs; ` +
    "this rule fails closed on unknown values. Make the value known at preview time, or review the plan after apply."
  );
}

function fields(file: string, meta: RuleMetadata): ClawRuleFields {
  return {
    name: ruleIdFromPath(file),
    description: meta.description,
    severity: meta.severity,
    enforcementLevel: meta.enforcementLevel,
    remediationSteps: meta.fix,
    why: meta.why,
    unknownValues: meta.unknownValues,
    source: `${basename(dirname(file))}/${basename(file).replace(/\.[cm]?js$/, ".ts")}`,
    configSchema: RULE_CONFIG_SCHEMA,
  };
}

export type ResourceCheck = (
  args: ResourceValidationArgs,
  report: (message: string) => void,
  config: RuleConfig,
) => void | Promise<void>;

/**
 * Runs one resource's part of a stack check; an unknown value met inside it is
 * handled per the rule's `unknownValues` and reported against that resource, so
 * one unknown value does not stop the other resources from being checked.
 */
export type Guard = (urn: string, part: () => void) => void;

export type StackCheck = (
  args: StackValidationArgs,
  report: (message: string, urn?: string) => void,
  config: RuleConfig,
  guard: Guard,
) => void | Promise<void>;

/** What an `UnknownValueError` met by a check means for the rule; anything else propagates. */
function onUnknown(error: unknown, unknownValues: UnknownValuePolicy, report: (message: string) => void): void {
  if (!(error instanceof UnknownValueError)) throw error;
  if (unknownValues === "violation") report(unknownMessage(error));
}

function ignore(): void {}

export function resourceRule(
  file: string,
  meta: RuleMetadata & { appliesTo: TypeSelector },
  check: ResourceCheck,
): ClawResourceRule {
  const base = fields(file, meta);
  // The selector split once: exact type tokens in a set, patterns tested in turn.
  const exactTypes = new Set(meta.appliesTo.filter((entry): entry is string => typeof entry === "string"));
  const typePatterns = meta.appliesTo.filter((entry): entry is RegExp => typeof entry !== "string");
  // The resources this rule's exemptions name, worked out once per config object.
  let exemptionsOf: RuleConfig | undefined;
  let exempted = new Set<string>();
  return {
    ...base,
    appliesTo: meta.appliesTo,
    validateResource: (args, reportViolation) => {
      if (!exactTypes.has(args.type) && !typePatterns.some((pattern) => pattern.test(args.type))) return;
      const config = args.getConfig<RuleConfig>();
      if (config !== exemptionsOf) {
        exemptionsOf = config;
        exempted = new Set(activeExemptionsFor(config, base.name).map((exemption) => exemption.resource));
      }
      const exempt = exempted.size > 0 && (exempted.has(args.name) || exempted.has(args.urn));
      const report: (message: string) => void = exempt ? ignore : reportViolation;
      try {
        const pending = check(args, report, config);
        if (pending) return pending.catch((error: unknown) => onUnknown(error, meta.unknownValues, report));
      } catch (error) {
        onUnknown(error, meta.unknownValues, report);
      }
      return undefined;
    },
  };
}

export function stackRule(file: string, meta: RuleMetadata, check: StackCheck): ClawStackRule {
  const base = fields(file, meta);
  return {
    ...base,
    validateStack: async (args, reportViolation) => {
      const config = args.getConfig<RuleConfig>();
      const exemptions = activeExemptionsFor(config, base.name);
      const report = (message: string, urn?: string): void => {
        if (urn !== undefined && exemptions.some((e) => e.resource === urn || e.resource === nameFromUrn(urn))) return;
        reportViolation(message, urn);
      };
      const guard: Guard = (urn, part) => {
        try {
          part();
        } catch (error) {
          if (!(error instanceof UnknownValueError)) throw error;
          if (meta.unknownValues === "violation") report(unknownMessage(error), urn);
        }
      };
      try {
        await check(args, report, config, guard);
      } catch (error) {
        if (!(error instanceof UnknownValueError)) throw error;
        if (meta.unknownValues === "violation") report(unknownMessage(error));
      }
    },
  };
}
