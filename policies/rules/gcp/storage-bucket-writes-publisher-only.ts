import { resourceRule } from "../../lib/rule";
import { gcpGrants } from "../../lib/gcp-iam";

/** Predefined roles that only read a bucket or its objects; every other role on a bucket can change something. */
export const READ_ONLY_STORAGE_ROLES: readonly string[] = [
  "roles/storage.objectViewer",
  "roles/storage.legacyObjectReader",
  "roles/storage.legacyBucketReader",
  "roles/storage.bucketViewer",
  "roles/storage.insightsCollectorService",
];

const BUCKET_IAM_TYPES = [
  "gcp:storage/bucketIAMMember:BucketIAMMember",
  "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
];

/**
 * Cloud Storage bucket roles that can write (`objectCreator`, `objectUser`, `objectAdmin`, `admin`, legacy writer/owner, custom roles) go to the firmware publisher only.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "Cloud Storage bucket roles that can write (`objectCreator`, `objectUser`, `objectAdmin`, `admin`, legacy writer/owner, custom roles) go to the firmware publisher only.",
    why: "Devices install what the firmware bucket serves; a reader, device or any other member that can also create, overwrite or delete objects (or change the bucket's IAM) can replace a release, and a signature check is then the only line left.",
    fix: "Grant readers `roles/storage.objectViewer` only; give `roles/storage.objectCreator` to the publisher (`clawstack:publisherMember`) and to nobody else.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: BUCKET_IAM_TYPES,
  },
  (args, report, config) => {
    const publishers = config.firmwarePublishers ?? [];
    for (const grant of gcpGrants(args.type, args.props)) {
      if (READ_ONLY_STORAGE_ROLES.includes(grant.role)) continue;
      const others = grant.members.filter((member) => !publishers.includes(member));
      if (others.length === 0 && grant.members.length > 0) continue;
      const who = publishers.length === 0 ? "no publisher is configured (`clawstack:publisherMember`)" : `the publisher is ${publishers.join(", ")}`;
      const to = others.length > 0 ? others.map((member) => `"${member}"`).join(", ") : "members the plan does not show";
      report(`\`${grant.where}\` grants \`${grant.role}\`, which can write, to ${to}; ${who}`);
    }
  },
);
