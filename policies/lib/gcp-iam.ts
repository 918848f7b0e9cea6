/** GCP IAM grants of the `*IAMMember`, `*IAMBinding` and `*IAMPolicy` resources, read into one shape. */
import { asList, field, parseDocument } from "./values";

export interface GcpGrant {
  role: string;
  members: string[];
  /** Where in the resource the grant is, for messages. */
  where: string;
}

/** Type tokens of every GCP IAM member, binding and policy resource (`gcp:storage/bucketIAMMember:BucketIAMMember`, ...). */
export const GCP_IAM_TYPES = /^gcp:[^:]+:[A-Za-z]*IAM(Binding|Member|Policy)$/;

/** The grants a GCP IAM resource makes; an unreadable `policyData` gives one grant with role `(unreadable)`. */
export function gcpGrants(type: string, props: Record<string, unknown>): GcpGrant[] {
  if (/IAMPolicy$/.test(type)) {
    const policy = parseDocument(props.policyData);
    if (policy === undefined) return [{ role: "(unreadable)", members: [], where: "policyData" }];
    return asList(field(policy, "bindings")).map((binding, index) => ({
      role: String(field(binding, "role")),
      members: asList(field(binding, "members")).map(String),
      where: `policyData.bindings[${index}]`,
    }));
  }
  if (/IAMBinding$/.test(type)) return [{ role: String(props.role), members: asList(props.members).map(String), where: "members" }];
  return [{ role: String(props.role), members: asList(props.member).map(String), where: "member" }];
}

/** The two principals that mean "anyone": every Internet user, and every Google account. */
export const GCP_PUBLIC_MEMBERS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];
