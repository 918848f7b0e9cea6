import { resourceRule } from "../../lib/rule";
import { crossAccountStatements, externalIdProblem } from "../../lib/trust";

/** Shortest external ID accepted: 32 characters of a CSPRNG alphabet leave no room for guessing. */
export const MIN_EXTERNAL_ID_LENGTH = 32;

/**
 * IAM roles trusted by another AWS account require `sts:ExternalId` with `StringEquals`, at least 32 characters, no wildcard.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "IAM roles trusted by another AWS account require `sts:ExternalId` with `StringEquals`, at least 32 characters, no wildcard.",
    why: "Without a per-customer external ID the provisioner can be tricked into using one customer's role for another (the confused deputy); `StringLike` or a wildcard value accepts IDs the customer never issued.",
    fix: "Add `Condition: { StringEquals: { \"sts:ExternalId\": \"<32-64 random characters>\" } }` to every statement whose principal is an AWS account or role.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:iam/role:Role"],
  },
  (args, report) => {
    const statements = crossAccountStatements(args.props.assumeRolePolicy);
    if (typeof statements === "string") {
      report(`\`assumeRolePolicy\`: ${statements}`);
      return;
    }
    for (const statement of statements) {
      const problem = externalIdProblem(statement, MIN_EXTERNAL_ID_LENGTH);
      if (problem) report(`\`assumeRolePolicy\` statement ${statement.index} trusts another account but ${problem}`);
    }
  },
);
