/**
 * A small evaluator of AWS resource policies (bucket and key policies) for the
 * questions the firmware bucket tests ask: would `principal` be allowed
 * `action` on `resource` in this request context? Explicit Deny wins, then any
 * Allow, else implicit deny. It understands exactly the shapes ClawStack
 * renders and throws on anything else (an unknown condition operator, a
 * non-AWS principal in a matching statement), so a test cannot pass because a
 * condition was skipped. Identity policies are out of scope: for a key policy
 * the question is "does the key policy alone allow it", for a bucket policy
 * "is it denied whatever IAM says".
 */
import type { PolicyDocument } from "../../../components/access/aws-policy";

export interface Request {
  principal: string;
  action: string;
  resource: string;
  /** Condition keys of the request (`aws:SecureTransport`, `s3:x-amz-server-side-encryption`...). */
  context: Record<string, string | undefined>;
}

function glob(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return regex.test(value);
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

function conditionHolds(operator: string, key: string, expected: string[], context: Request["context"]): boolean {
  const actual = context[key];
  switch (operator) {
    case "Bool":
    case "StringEquals":
      return actual !== undefined && expected.includes(actual);
    case "StringNotEquals":
      return actual === undefined || !expected.includes(actual);
    case "StringNotEqualsIfExists":
      // IAM: a missing key makes an ...IfExists condition true.
      return actual === undefined || !expected.includes(actual);
    case "Null":
      // "true": the key is absent; "false": the key is present.
      return expected.includes(actual === undefined ? "true" : "false");
    case "StringLike":
      return actual !== undefined && expected.some((pattern) => glob(pattern, actual));
    default:
      throw new Error(`evaluator does not understand condition operator ${operator}`);
  }
}

export type Decision = "allow" | "explicit-deny" | "implicit-deny";

export function evaluate(policy: PolicyDocument, request: Request): Decision {
  let allowed = false;
  // The key, for a principal: the role ARN, also what `aws:PrincipalArn` holds.
  const context = { "aws:PrincipalArn": request.principal, ...request.context };
  for (const statement of policy.Statement as unknown as Record<string, unknown>[]) {
    const principal = statement.Principal as { AWS?: string | string[]; Service?: string } | undefined;
    if (!principal?.AWS) throw new Error(`evaluator handles AWS principals only; got ${JSON.stringify(principal)}`);
    const principals = list(principal.AWS);
    if (!principals.includes("*") && !principals.includes(request.principal)) continue;
    if (!list(statement.Action as string | string[]).some((action) => glob(action, request.action))) continue;
    if (!list(statement.Resource as string | string[]).some((resource) => glob(resource, request.resource))) continue;
    const conditions = (statement.Condition ?? {}) as Record<string, Record<string, string | string[]>>;
    const holds = Object.entries(conditions).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, list(expected), context)),
    );
    if (!holds) continue;
    if (statement.Effect === "Deny") return "explicit-deny";
    allowed = true;
  }
  return allowed ? "allow" : "implicit-deny";
}
