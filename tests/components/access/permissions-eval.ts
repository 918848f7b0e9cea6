import type { PolicyDocument, PolicyStatement } from "../../../components/access/aws-policy.js";

/** One API call as IAM authorizes it: the action, the resource ARN and the request's condition keys. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys present in the request; a key left out is absent (as for `Null`). */
  readonly context: Readonly<Record<string, string | readonly string[]>>;
}

/** IAM wildcard match (`*` any run, `?` one character), case-sensitive as for ARNs. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${escaped}$`, ignoreCase ? "i" : "").test(value);
}

function list(value: string | readonly string[] | undefined): string[] {
  return value === undefined ? [] : [value].flat();
}

function conditionHolds(operator: string, key: string, expected: string | readonly string[], context: AuthorizationRequest["context"]): boolean {
  const wanted = list(expected);
  const actual = context[key];
  switch (operator) {
    case "StringEquals":
    case "ArnEquals":
      // A single-valued key: absent means the condition fails.
      return actual !== undefined && list(actual).length === 1 && wanted.includes(list(actual)[0]!);
    case "StringLike":
      // Single-valued, IAM wildcards (`*`, `?`), case-sensitive.
      return actual !== undefined && list(actual).length === 1 && wanted.some((pattern) => wildcard(pattern, list(actual)[0]!));
    case "ForAnyValue:StringEquals":
      return list(actual).some((value) => wanted.includes(value));
    case "Null":
      return wanted.every((flag) => (flag === "true") === (actual === undefined));
    default:
      // Refuse what this evaluator does not model, so no test passes on a skipped condition.
      throw new Error(`evaluator does not understand condition operator ${operator}`);
  }
}

function statementMatches(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  if (!list(statement.Action).some((action) => wildcard(action, request.action, true))) return false;
  if (!list(statement.Resource).some((resource) => wildcard(resource, request.resource))) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, request.context)),
  );
}

/**
 * A deliberately small model of IAM's identity-policy evaluation for one
 * policy: allowed when an Allow statement matches and no Deny does. It
 * understands the condition operators the provisioner policy uses and throws
 * on any other.
 */
export function policyAllows(policy: PolicyDocument, request: AuthorizationRequest): boolean {
  let allowed = false;
  for (const statement of policy.Statement) {
    if (!statementMatches(statement, request)) continue;
    if (statement.Effect === "Deny") return false;
    allowed = true;
  }
  return allowed;
}
