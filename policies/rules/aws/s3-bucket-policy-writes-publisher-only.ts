import { resourceRule } from "../../lib/rule";
import { awsPrincipals, conditionKeys, statementsOf, type Statement } from "../../lib/iam";
import { asList, field, isRecord } from "../../lib/values";

/**
 * Whether an action pattern of a bucket policy can grant a change to the bucket
 * or its objects. Only patterns that can match nothing but `s3:Get*` and
 * `s3:List*` actions are reads; everything else that can reach S3
 * (`s3:PutObject*`, `s3:DeleteObject*`, `s3:PutBucketPolicy`, `s3:*`, `*`) writes.
 */
export function s3ActionWrites(action: string): boolean {
  const text = action.trim().toLowerCase();
  if (text === "*") return true;
  const [service = "", name = ""] = text.split(":", 2);
  const reachesS3 = service === "s3" || (/[*?]/.test(service) && new RegExp(`^${service.replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test("s3"));
  if (!reachesS3) return false;
  return !/^(get|list)/.test(name);
}

/** Principals a statement names, as text; `*` for everyone. */
function principalsOf(statement: Statement): string[] {
  const principal = statement.principal;
  if (principal === "*") return ["*"];
  if (!isRecord(principal)) return ["*"]; // no principal in a bucket policy: refused by S3, treated as everyone here
  return [
    ...awsPrincipals(principal),
    ...Object.entries(principal)
      .filter(([kind]) => kind !== "AWS")
      .flatMap(([kind, value]) => asList(value).map((entry) => `${kind}:${String(entry)}`)),
  ];
}

/** `Principal: "*"` narrowed by `StringEquals`/`ArnEquals` on `aws:PrincipalArn` to the publisher alone. */
function narrowedToPublishers(statement: Statement, publishers: readonly string[]): boolean {
  return conditionKeys(statement).some(({ operator, key, value }) => {
    if (key !== "aws:principalarn" || !["StringEquals", "ArnEquals"].includes(operator)) return false;
    const values = asList(value).map(String);
    return values.length > 0 && values.every((entry) => publishers.includes(entry));
  });
}

/** The policy documents of the resource types the rule reads. */
function bucketPolicyDocument(type: string, props: Record<string, unknown>): unknown {
  return type === "aws:s3/bucketPolicy:BucketPolicy" ? props.policy : field(props, "policy");
}

/**
 * S3 bucket policies allow writes (put, delete, retention, ACL or policy changes) to the firmware publisher role only.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "S3 bucket policies allow writes (put, delete, retention, ACL or policy changes) to the firmware publisher role only.",
    why: "Devices install what the firmware bucket serves; a reader, device or any other principal that can also put, delete or re-policy objects can replace a release or roll devices back, and a signature check is then the only line left.",
    fix: "Grant readers only `s3:Get*`/`s3:List*`; leave every write action to the publisher role (`clawstack:publisherRoleArn`), and keep the `OnlyPublisherWrites` deny.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  },
  (args, report, config) => {
    const document = bucketPolicyDocument(args.type, args.props);
    if (document === undefined || document === null || document === "") return;
    const statements = statementsOf(document);
    if (typeof statements === "string") {
      report(`\`policy\`: ${statements}`);
      return;
    }
    const publishers = config.firmwarePublishers ?? [];
    for (const statement of statements) {
      if (statement.effect !== "Allow") continue;
      const writes = statement.notActions ? ["NotAction"] : statement.actions.filter(s3ActionWrites);
      if (writes.length === 0) continue;
      // `NotPrincipal` (no `Principal`) reads as everyone: an Allow to all but some is an Allow to others.
      const others = principalsOf(statement).filter((principal) => !publishers.includes(principal));
      if (others.length === 0) continue;
      if (others.every((principal) => principal === "*") && narrowedToPublishers(statement, publishers)) continue;
      const who = publishers.length === 0 ? "no publisher role is configured (`clawstack:publisherRoleArn`)" : `the publisher is ${publishers.join(", ")}`;
      report(
        `\`policy\` statement ${statement.index} allows ${writes.map((a) => `"${a}"`).join(", ")} to ${others.map((p) => `"${p}"`).join(", ")}; ${who}`,
      );
    }
  },
);
