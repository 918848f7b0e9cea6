import type { PolicyDocument } from "../../../components/access/aws-policy.js";

/**
 * A deliberately small evaluator of the one question tests ask of a trust
 * policy: would STS let `principal` call `sts:AssumeRole` with `externalId`?
 * It understands exactly the shapes ClawStack renders (Allow statements with an
 * AWS principal and `StringEquals` conditions) and refuses anything else, so a
 * test cannot pass because the evaluator skipped a condition it did not know.
 */
export function trustPolicyAllows(policy: PolicyDocument, principal: string, externalId: string | undefined): boolean {
  const context: Record<string, string | undefined> = { "sts:ExternalId": externalId };
  let allowed = false;
  for (const statement of policy.Statement) {
    const actions = typeof statement.Action === "string" ? [statement.Action] : statement.Action;
    if (!actions.includes("sts:AssumeRole")) continue;
    const principals = statement.Principal ? [statement.Principal.AWS].flat() : [];
    if (!principals.includes(principal)) continue;
    let conditionsHold = true;
    for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
      if (operator !== "StringEquals") throw new Error(`evaluator does not understand condition operator ${operator}`);
      for (const [key, expected] of Object.entries(keys)) {
        const actual = context[key];
        const wanted = [expected].flat();
        if (actual === undefined || !wanted.includes(actual)) conditionsHold = false;
      }
    }
    if (!conditionsHold) continue;
    if (statement.Effect === "Deny") return false;
    allowed = true;
  }
  return allowed;
}
