import { resourceRule } from "../../lib/rule";

/**
 * Spaces buckets and objects are private (`acl` "private" or unset).
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Spaces buckets and objects are private (`acl` \"private\" or unset).",
    why: "Spaces has no account-level public access block: a `public-read` ACL publishes every artifact and manifest.",
    fix: "Remove `acl` or set it to \"private\"; hand out presigned URLs for downloads.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["digitalocean:index/spacesBucket:SpacesBucket", "digitalocean:index/spacesBucketObject:SpacesBucketObject"],
  },
  (args, report) => {
    const acl = args.props.acl;
    if (acl !== undefined && acl !== "private") report(`\`acl\` must be "private"; got ${JSON.stringify(acl)}`);
  },
);
