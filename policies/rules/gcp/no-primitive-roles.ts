import { resourceRule } from "../../lib/rule";
import { asList, field, parseDocument } from "../../lib/values";

export const PRIMITIVE_ROLES: readonly string[] = ["roles/owner", "roles/editor", "roles/viewer"];

/**
 * No GCP IAM binding, member or policy grants a primitive role (`roles/owner`, `roles/editor`, `roles/viewer`).
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "No GCP IAM binding, member or policy grants a primitive role (`roles/owner`, `roles/editor`, `roles/viewer`).",
    why: "Primitive roles span every service in the project: Editor alone can read secrets, create keys and run code anywhere; they are the opposite of a permission boundary.",
    fix: "Grant a predefined role scoped to the need, or a custom role listing the exact permissions (the federation component does this).",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [/^gcp:[^:]+:[A-Za-z]*IAM(Binding|Member|Policy)$/],
  },
  (args, report) => {
    if (/IAMPolicy$/.test(args.type)) {
      const policy = parseDocument(args.props.policyData);
      for (const binding of asList(field(policy, "bindings"))) {
        const role = String(field(binding, "role"));
        if (PRIMITIVE_ROLES.includes(role)) report(`\`policyData\` binds the primitive role \`${role}\``);
      }
      return;
    }
    const role = String(args.props.role);
    if (PRIMITIVE_ROLES.includes(role)) report(`\`role\` is the primitive role \`${role}\``);
  },
);
