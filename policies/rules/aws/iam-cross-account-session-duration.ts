import { resourceRule } from "../../lib/rule";
import { crossAccountStatements } from "../../lib/trust";

export const MAX_CROSS_ACCOUNT_SESSION_SECONDS = 3600;

/**
 * IAM roles trusted by another AWS account have `maxSessionDuration` of at most 3600 seconds.
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "IAM roles trusted by another AWS account have `maxSessionDuration` of at most 3600 seconds.",
    why: "Credentials handed to another account should expire quickly: a leaked session stays usable for as long as the role allows.",
    fix: "Leave `maxSessionDuration` unset (AWS default 3600) or set it to 3600 or less; refresh credentials for long operations instead.",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:iam/role:Role"],
  },
  (args, report) => {
    const statements = crossAccountStatements(args.props.assumeRolePolicy);
    if (typeof statements === "string" || statements.length === 0) return;
    const duration = args.props.maxSessionDuration;
    if (duration !== undefined && !(Number(duration) <= MAX_CROSS_ACCOUNT_SESSION_SECONDS)) {
      report(`\`maxSessionDuration\` must be at most ${MAX_CROSS_ACCOUNT_SESSION_SECONDS} for a cross-account role; got ${JSON.stringify(duration)}`);
    }
  },
);
