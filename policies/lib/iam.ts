/** Reading IAM policy documents (AWS JSON policy language). */
import { asList, field, isRecord, parseDocument } from "./values";

export interface Statement {
  effect: "Allow" | "Deny";
  actions: string[];
  notActions: boolean;
  resources: string[];
  notResources: boolean;
  principal: unknown;
  condition: Record<string, Record<string, unknown>>;
  /** 1-based position in the document, for messages. */
  index: number;
}

/** Statements by parsed document: several rules read the same document (callers only read them). */
const statementsByDocument = new WeakMap<object, Statement[]>();

/** Statements of a policy document, or a string saying why it cannot be read. */
export function statementsOf(document: unknown): Statement[] | string {
  const parsed = parseDocument(document);
  if (!isRecord(parsed)) return "the policy document is not a JSON object";
  const cached = statementsByDocument.get(parsed);
  if (cached) return cached;
  const statements = readStatements(parsed);
  statementsByDocument.set(parsed, statements);
  return statements;
}

function readStatements(parsed: Record<string, unknown>): Statement[] {
  const raw = asList(parsed.Statement);
  return raw.map((statement, position) => {
    const condition: Record<string, Record<string, unknown>> = {};
    const rawCondition = field(statement, "Condition");
    if (isRecord(rawCondition)) {
      for (const [operator, body] of Object.entries(rawCondition)) {
        if (isRecord(body)) condition[operator] = { ...body };
      }
    }
    const action = field(statement, "Action");
    const notAction = field(statement, "NotAction");
    const resource = field(statement, "Resource");
    const notResource = field(statement, "NotResource");
    return {
      effect: field(statement, "Effect") === "Deny" ? "Deny" : "Allow",
      actions: asList(action ?? notAction).map(String),
      notActions: action === undefined && notAction !== undefined,
      resources: asList(resource ?? notResource).map(String),
      notResources: resource === undefined && notResource !== undefined,
      principal: field(statement, "Principal"),
      condition,
      index: position + 1,
    };
  });
}

/** Compiled IAM patterns: the same few actions are matched over and over. Bounded. */
const globs = new Map<string, RegExp>();
const GLOBS_MAX = 4096;

/** Case-insensitive IAM wildcard match (`*` any run, `?` one character). */
export function iamGlob(pattern: string, value: string): boolean {
  let compiled = globs.get(pattern);
  if (!compiled) {
    const source = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    compiled = new RegExp(`^${source}$`, "i");
    if (globs.size >= GLOBS_MAX) globs.clear();
    globs.set(pattern, compiled);
  }
  return compiled.test(value);
}

/** Whether a statement's action (which may itself hold wildcards) can grant `action`. */
export function grants(statementAction: string, action: string): boolean {
  return iamGlob(statementAction, action);
}

/** Condition keys (lower-cased) across all operators, with the operator that carries them. */
export function conditionKeys(statement: Statement): Array<{ operator: string; key: string; value: unknown }> {
  const keys: Array<{ operator: string; key: string; value: unknown }> = [];
  for (const [operator, body] of Object.entries(statement.condition)) {
    for (const [key, value] of Object.entries(body)) keys.push({ operator, key: key.toLowerCase(), value });
  }
  return keys;
}

/** AWS principals of a statement (`Principal: "*"` counts as `"*"`). */
export function awsPrincipals(principal: unknown): string[] {
  if (principal === "*") return ["*"];
  return asList(field(principal, "AWS")).map(String);
}

/** The policy documents a resource carries, with the property path they came from. */
export function policyDocumentsOf(type: string, props: Record<string, unknown>): Array<{ path: string; document: unknown }> {
  switch (type) {
    case "aws:iam/policy:Policy":
    case "aws:iam/rolePolicy:RolePolicy":
    case "aws:iam/userPolicy:UserPolicy":
    case "aws:iam/groupPolicy:GroupPolicy":
      return [{ path: "policy", document: props.policy }];
    case "aws:iam/role:Role":
      return asList(props.inlinePolicies).map((inline, index) => ({
        path: `inlinePolicies[${index}].policy`,
        document: field(inline, "policy"),
      }));
    default:
      return [];
  }
}

export const IAM_POLICY_TYPES = [
  "aws:iam/policy:Policy",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
  "aws:iam/role:Role",
];
