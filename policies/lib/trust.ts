/** Reading an IAM role's trust policy. */
import { awsPrincipals, conditionKeys, statementsOf, type Statement } from "./iam";

/** Trust statements that let an AWS principal (another account, a role or `*`) assume the role. */
export function crossAccountStatements(assumeRolePolicy: unknown): Statement[] | string {
  const statements = statementsOf(assumeRolePolicy);
  if (typeof statements === "string") return statements;
  return statements.filter((statement) => statement.effect === "Allow" && awsPrincipals(statement.principal).length > 0);
}

/** What is wrong with a cross-account trust statement's external ID condition, if anything. */
export function externalIdProblem(statement: Statement, minimumLength: number): string | undefined {
  const keys = conditionKeys(statement).filter((entry) => entry.key === "sts:externalid");
  const exact = keys.filter((entry) => entry.operator === "StringEquals");
  const loose = keys.filter((entry) => entry.operator !== "StringEquals");
  if (loose.length > 0) {
    return `uses \`${loose[0]!.operator}\` for \`sts:ExternalId\`; only \`StringEquals\` pins one external ID`;
  }
  if (exact.length === 0) return "does not require `sts:ExternalId` with `StringEquals`";
  for (const { value } of exact) {
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    for (const id of values) {
      if (/[*?]/.test(id)) return "has a wildcard in its `sts:ExternalId` value";
      if (id.length < minimumLength) {
        return `has an \`sts:ExternalId\` of ${id.length} characters; at least ${minimumLength} are required`;
      }
    }
  }
  return undefined;
}
