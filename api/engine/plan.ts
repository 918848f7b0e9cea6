/**
 * The offline plan behind every preview: the stack kind's real program, run on
 * the config the engine parsed, under Pulumi mocks (`program/synth.ts`), then the policy pack's engine-free review
 * (`policies/review.ts`) and the preflight against the clouds' API constraints (`program/preflight`).
 * Needs no CLI and no credentials.
 */
import { formatFinding, preflight } from "../../program/preflight/check";
import { synthSelected } from "../../program/synth";
import { reviewResources } from "../../policies/review";
import type { Planner } from "./automation";
import type { PlanViolation, PreviewOutcome } from "./types";

let synthQueue: Promise<unknown> = Promise.resolve();

/** Pulumi's runtime state is per process: synths run one at a time, in call order. */
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = synthQueue.then(task, task);
  synthQueue = run.catch(() => undefined);
  return run;
}

export const offlinePlanner: Planner = async ({ stackName, stack, config }): Promise<PreviewOutcome> => {
  const synth = await serialized(() => synthSelected(stackName, stack));
  const report = await reviewResources(synth.resources, { stack: stackName, config });
  const violations: PlanViolation[] = report.violations.map((violation) => ({
    policy: violation.policy,
    enforcement: violation.enforcementLevel,
    message: violation.message,
    resourceType: violation.resourceType,
    urn: violation.resourceName,
  }));
  // What the clouds' APIs would refuse is refused here, as a mandatory finding, before anything is created.
  const checked = preflight(synth);
  for (const finding of checked.findings) {
    violations.push({
      policy: `preflight:${finding.rule}`,
      enforcement: "mandatory",
      message: formatFinding(finding),
      resourceType: finding.resource.split(" ")[0] ?? finding.resource,
    });
  }
  return {
    plan: { resources: synth.resources, outputs: synth.outputs },
    violations,
    mandatoryViolations: report.summary.mandatory + checked.findings.length,
    preflight: { findings: checked.findings.length, notes: checked.notes },
  };
};
