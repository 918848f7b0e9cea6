import type { PlannedResource, SynthResult } from "../synth-types.js";
import { select, violation } from "./constraint.js";
import { PREFLIGHT_RULES, type PreflightRule } from "./rules.js";

/**
 * Preflight: the plan a stack would register (the offline synth's result)
 * checked against the clouds' own API constraints (`rules.ts`), before
 * anything is created. Mocks accept any value; the clouds do not, so a name,
 * description, tag, schedule or enumerated value they would refuse is a
 * finding here. Pure: plan in, findings and notes out.
 */

export interface PreflightFinding {
  /** `<type> <name>`. */
  resource: string;
  /** The concrete input path, e.g. `policyDetails.schedules[0].name`. */
  field: string;
  value: unknown;
  /** The rule's id and what the value breaks. */
  rule: string;
  problem: string;
  source: string;
}

export interface PreflightReport {
  findings: PreflightFinding[];
  /** What the plan assumes of the account (a default network), said before anything is created. */
  notes: string[];
  /** How many rule applications were checked (a plan with none proves nothing). */
  checked: number;
}

/** Long values (user data, policy documents) are shown by their length, never in full. */
function shown(value: unknown): unknown {
  return typeof value === "string" && value.length > 120 ? `(${value.length} characters)` : value;
}

function checkResource(resource: PlannedResource, rules: readonly PreflightRule[]): { findings: PreflightFinding[]; checked: number } {
  const findings: PreflightFinding[] = [];
  let checked = 0;
  for (const rule of rules) {
    if (rule.resourceType !== resource.type) continue;
    for (const { path, value } of select(resource.inputs, rule.field)) {
      checked++;
      const problem = violation(rule.constraint, value);
      if (problem !== undefined) {
        findings.push({ resource: `${resource.type} ${resource.name}`, field: path, value: shown(value), rule: rule.id, problem, source: rule.source });
      }
    }
  }
  return { findings, checked };
}

/** The default networks a plan relies on, each with how to check the account has it. */
export function defaultNetworkNotes(result: SynthResult): string[] {
  const notes: string[] = [];
  for (const resource of result.resources) {
    const inputs = resource.inputs;
    if (resource.type === "aws:ec2/instance:Instance" && inputs.subnetId === undefined) {
      notes.push(
        `${resource.name}: no \`vpcId\`/\`subnetId\` given, so the region's default VPC and its default subnet of the zone are assumed; check the account has them with \`aws ec2 describe-vpcs --filters Name=is-default,Values=true --region <region>\` (docs/host.md, "Networks")`,
      );
    }
    if (resource.type === "gcp:compute/instance:Instance") {
      const nic = (inputs.networkInterfaces as { network?: unknown }[] | undefined)?.[0];
      if (nic?.network === "default") {
        notes.push(
          `${resource.name}: no \`network\` given, so the project's \`default\` network is assumed; check it exists with \`gcloud compute networks describe default --project <project>\` (docs/host.md, "Networks")`,
        );
      }
    }
    if (resource.type === "digitalocean:index/droplet:Droplet" && inputs.vpcUuid === undefined) {
      notes.push(
        `${resource.name}: no \`vpcUuid\` given, so the account's default VPC of the region is assumed (DigitalOcean creates it with the first resource of a region); see it with \`doctl vpcs list\` (docs/host.md, "Networks")`,
      );
    }
  }
  return notes;
}

/** Checks every resource of a plan against every rule of its type. */
export function preflight(result: SynthResult, rules: readonly PreflightRule[] = PREFLIGHT_RULES): PreflightReport {
  const findings: PreflightFinding[] = [];
  let checked = 0;
  for (const resource of result.resources) {
    const one = checkResource(resource, rules);
    findings.push(...one.findings);
    checked += one.checked;
  }
  return { findings, notes: defaultNetworkNotes(result), checked };
}

/** One finding as a line: resource, field, value, what it breaks, and where the rule is published. */
export function formatFinding(finding: PreflightFinding): string {
  return `${finding.resource}: \`${finding.field}\` = ${JSON.stringify(finding.value)} ${finding.problem} [${finding.rule}; source: ${finding.source}]`;
}
