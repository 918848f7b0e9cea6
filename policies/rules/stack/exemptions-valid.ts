import { stackRule } from "../../lib/rule";
import { exemptionProblem, type Exemption } from "../../lib/config";
import { registeredPolicyIds } from "../../lib/registry";

/**
 * Every policy exemption names a known rule and a resource, gives a reason of at least 20 characters and has not expired.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description:
      "Every policy exemption names a known rule and a resource, gives a reason of at least 20 characters and has not expired.",
    why: "An exemption switches a guard off; one without a real reason or an end date becomes a permanent hole nobody remembers approving.",
    fix: "Write down why the exemption is safe (a sentence, at least 20 characters) and a near expiry date in `clawstack:policyExemptions`, or remove it.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (_args, report, config) => {
    const known = new Set(registeredPolicyIds());
    const list: Array<Partial<Exemption>> = Array.isArray(config.exemptions) ? config.exemptions : [];
    list.forEach((exemption, index) => {
      const label = `exemption ${index + 1} (\`${String(exemption.policy)}\` on \`${String(exemption.resource)}\`)`;
      if (typeof exemption.policy !== "string" || !known.has(exemption.policy)) {
        report(`${label}: \`policy\` names no rule of this pack`);
      }
      const problem = exemptionProblem(exemption);
      if (problem) report(`${label}: ${problem}`);
    });
  },
);
