import { stackRule } from "../../lib/rule";
import { checkS3Buckets } from "../../lib/buckets";
import { awsPrincipals, iamGlob, statementsOf } from "../../lib/iam";

const SPLIT = ["aws:s3/bucketPolicy:BucketPolicy"];

function deniesPlainHttp(policy: unknown): boolean {
  const statements = statementsOf(policy);
  if (typeof statements === "string") return false;
  return statements.some((statement) => {
    if (statement.effect !== "Deny" || !awsPrincipals(statement.principal).includes("*")) return false;
    if (statement.notActions || !statement.actions.some((action) => iamGlob(action, "s3:GetObject") && iamGlob(action, "s3:PutObject"))) return false;
    const bool = statement.condition.Bool ?? {};
    const secure = Object.entries(bool).find(([key]) => key.toLowerCase() === "aws:securetransport")?.[1];
    return String(secure) === "false";
  });
}

/**
 * Every S3 bucket has a bucket policy denying all access over plain HTTP (`aws:SecureTransport` false).
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description: "Every S3 bucket has a bucket policy denying all access over plain HTTP (`aws:SecureTransport` false).",
    why: "Without it a misconfigured client can fetch or publish firmware without TLS, open to tampering in transit.",
    fix: "Add an `aws.s3.BucketPolicy` statement `{Effect: \"Deny\", Principal: \"*\", Action: \"s3:*\", Resource: [bucketArn, bucketArn/*], Condition: {Bool: {\"aws:SecureTransport\": \"false\"}}}`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    checkS3Buckets(args, report, guard, SPLIT, (_bucket, splits) =>
      splits.some((split) => deniesPlainHttp(split.props.policy))
        ? undefined
        : "has no bucket policy denying `s3:*` when `aws:SecureTransport` is false",
    );
  },
);
