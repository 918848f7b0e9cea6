import { resourceRule } from "../../lib/rule";
import { GCP_IAM_TYPES, GCP_PUBLIC_MEMBERS, gcpGrants } from "../../lib/gcp-iam";
import { asList } from "../../lib/values";

/** Cloud Storage ACL resources: one `entity` each, or `roleEntities` as `ROLE:entity`. */
const ENTITY_TYPES = [
  "gcp:storage/bucketAccessControl:BucketAccessControl",
  "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
  "gcp:storage/objectAccessControl:ObjectAccessControl",
];
const ROLE_ENTITY_TYPES = ["gcp:storage/bucketACL:BucketACL", "gcp:storage/defaultObjectACL:DefaultObjectACL", "gcp:storage/objectACL:ObjectACL"];
/** Resources that take a canned ACL by name. */
const PREDEFINED_ACL_TYPES = ["gcp:storage/bucketACL:BucketACL", "gcp:storage/objectACL:ObjectACL", "gcp:storage/bucketObject:BucketObject"];
/** Canned ACLs that grant `allUsers` or `allAuthenticatedUsers`. */
const PUBLIC_PREDEFINED_ACLS = ["publicread", "publicreadwrite", "authenticatedread"];

function isPublic(member: string): boolean {
  const text = member.trim();
  return GCP_PUBLIC_MEMBERS.some((publicMember) => text === publicMember || text.endsWith(`:${publicMember}`));
}

/**
 * No GCP IAM member, binding or policy (buckets, keys, secrets, anything) and no Cloud Storage ACL grants to `allUsers` or `allAuthenticatedUsers`.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "No GCP IAM member, binding or policy (buckets, keys, secrets, anything) and no Cloud Storage ACL grants to `allUsers` or `allAuthenticatedUsers`.",
    why: "`allUsers` is the whole Internet and `allAuthenticatedUsers` any Google account; such a grant is a public side door even where public access prevention refuses it today, and it opens the day that setting changes.",
    fix: "Remove the grant; name the service accounts or groups that need access.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [GCP_IAM_TYPES, ...ENTITY_TYPES, ...ROLE_ENTITY_TYPES, ...PREDEFINED_ACL_TYPES],
  },
  (args, report) => {
    if (PREDEFINED_ACL_TYPES.includes(args.type)) {
      for (const key of ["predefinedAcl", "defaultAcl"]) {
        const acl = args.props[key];
        if (typeof acl === "string" && PUBLIC_PREDEFINED_ACLS.includes(acl.replace(/[-_]/g, "").toLowerCase())) {
          report(`\`${key}\` is "${acl}", which grants ${acl.toLowerCase().startsWith("authenticated") ? "allAuthenticatedUsers" : "allUsers"}`);
        }
      }
    }
    if (ENTITY_TYPES.includes(args.type)) {
      const entity = String(args.props.entity ?? "");
      if (isPublic(entity)) report(`\`entity\` is "${entity}"`);
      return;
    }
    if (ROLE_ENTITY_TYPES.includes(args.type)) {
      asList(args.props.roleEntities).forEach((entry, index) => {
        const entity = String(entry).split(":").slice(1).join(":");
        if (isPublic(entity)) report(`\`roleEntities[${index}]\` grants "${String(entry)}"`);
      });
      return;
    }
    for (const grant of gcpGrants(args.type, args.props)) {
      const open = grant.members.filter(isPublic);
      if (open.length > 0) report(`\`${grant.where}\` grants \`${grant.role}\` to ${open.map((m) => `"${m}"`).join(", ")}`);
    }
  },
);
