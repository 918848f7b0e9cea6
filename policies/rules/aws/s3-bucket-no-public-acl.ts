import { resourceRule } from "../../lib/rule";
import { asList, field } from "../../lib/values";

/** Canned ACLs that grant the `AllUsers` or `AuthenticatedUsers` group. */
export const PUBLIC_CANNED_ACLS: readonly string[] = ["public-read", "public-read-write", "authenticated-read"];

/** The two global groups: everyone, and every AWS account in the world. */
const PUBLIC_GROUP = /^https?:\/\/acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)\/?$/i;

const ACL_TYPES = ["aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketAcl:BucketAcl"];
const OBJECT_TYPES = ["aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/objectCopy:ObjectCopy"];
const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

/** Grantee URIs of a grants list, in either provider shape (`uri` on the grant, or `grantee.uri`). */
function publicGrants(grants: unknown, where: string): string[] {
  return asList(grants).flatMap((grant, index) => {
    const uri = field(grant, "uri") ?? field(field(grant, "grantee"), "uri");
    return typeof uri === "string" && PUBLIC_GROUP.test(uri.trim()) ? [`\`${where}[${index}]\` grants ${uri.trim().split("/").filter(Boolean).pop()}`] : [];
  });
}

function cannedAcl(value: unknown, key: string): string[] {
  return typeof value === "string" && PUBLIC_CANNED_ACLS.includes(value.trim().toLowerCase()) ? [`\`${key}\` is "${value}"`] : [];
}

/**
 * No S3 bucket or object ACL is public (`public-read`, `public-read-write`, `authenticated-read`, grants to `AllUsers`/`AuthenticatedUsers`).
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "No S3 bucket or object ACL is public (`public-read`, `public-read-write`, `authenticated-read`, grants to `AllUsers`/`AuthenticatedUsers`).",
    why: "A public ACL is a side door around the bucket policy: Block Public Access neutralises it today, but it opens the day one flag is turned off, and `authenticated-read` means any AWS account in the world.",
    fix: "Remove the ACL (keep `BucketOwnerEnforced` object ownership, which disables ACLs) or use `private`; grant access through the bucket policy to named roles.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [...ACL_TYPES, ...OBJECT_TYPES, ...BUCKET_TYPES],
  },
  (args, report) => {
    const props = args.props;
    const findings = [...cannedAcl(props.acl, "acl")];
    if (ACL_TYPES.includes(args.type)) {
      findings.push(...publicGrants(field(props.accessControlPolicy, "grants"), "accessControlPolicy.grants"));
    } else {
      findings.push(...publicGrants(props.grants, "grants"));
    }
    for (const finding of findings) report(finding);
  },
);
