import { resourceRule } from "../../lib/rule";
import { awsPrincipals, statementsOf } from "../../lib/iam";

/**
 * No `Allow` statement in a role trust policy, bucket policy or KMS key policy has a `"*"` principal.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "No `Allow` statement in a role trust policy, bucket policy or KMS key policy has a `\"*\"` principal.",
    why: "A `\"*\"` principal grants the permission to every AWS account in the world; conditions are easy to get wrong and are the only thing left in the way.",
    fix: "Name the exact account or role ARN as the principal. `Deny` statements with `\"*\"` (such as the TLS-only bucket policy) are fine.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:iam/role:Role", "aws:s3/bucketPolicy:BucketPolicy", "aws:kms/key:Key"],
  },
  (args, report) => {
    const path = args.type === "aws:iam/role:Role" ? "assumeRolePolicy" : "policy";
    const document = args.props[path];
    if (document === undefined) return;
    const statements = statementsOf(document);
    if (typeof statements === "string") {
      report(`\`${path}\`: ${statements}`);
      return;
    }
    for (const statement of statements) {
      if (statement.effect === "Allow" && awsPrincipals(statement.principal).includes("*")) {
        report(`\`${path}\` statement ${statement.index} allows the principal "*"`);
      }
    }
  },
);
