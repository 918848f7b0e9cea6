/** Shared walk over the permission documents a resource carries. */
import { policyDocumentsOf, statementsOf, type Statement } from "./iam";

/**
 * Calls `visit` for each statement of each permission document on the
 * resource; an unreadable document is reported once.
 */
export function forEachPermissionStatement(
  type: string,
  props: Record<string, unknown>,
  report: (message: string) => void,
  visit: (statement: Statement, path: string) => void,
): void {
  for (const { path, document } of policyDocumentsOf(type, props)) {
    if (document === undefined || document === null) continue;
    const statements = statementsOf(document);
    if (typeof statements === "string") {
      report(`\`${path}\`: ${statements}`);
      continue;
    }
    for (const statement of statements) visit(statement, path);
  }
}
