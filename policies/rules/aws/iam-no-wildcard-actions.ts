import { resourceRule } from "../../lib/rule";
import { IAM_POLICY_TYPES } from "../../lib/iam";
import { forEachPermissionStatement } from "../../lib/documents";

/**
 * IAM permission statements allow no `"*"` or `service:*` action and use no `NotAction` in an `Allow`.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "IAM permission statements allow no `\"*\"` or `service:*` action and use no `NotAction` in an `Allow`.",
    why: "Wildcard actions grant every present and future permission of a service, including the ones that change IAM itself; least privilege needs the list written out.",
    fix: "List the exact actions the component needs (the access component derives them from its resource-to-actions table).",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: IAM_POLICY_TYPES,
  },
  (args, report) => {
    forEachPermissionStatement(args.type, args.props, report, (statement, path) => {
      if (statement.effect !== "Allow") return;
      if (statement.notActions) {
        report(`\`${path}\` statement ${statement.index} allows \`NotAction\`, which grants everything not listed`);
        return;
      }
      for (const action of statement.actions) {
        if (action === "*" || /^[a-z0-9-]+:\*$/i.test(action)) {
          report(`\`${path}\` statement ${statement.index} allows the wildcard action "${action}"`);
        }
      }
    });
  },
);
