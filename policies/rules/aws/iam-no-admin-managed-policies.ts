import { nameFromUrn, stackRule } from "../../lib/rule";
import { asList } from "../../lib/values";

export const FORBIDDEN_MANAGED_POLICIES: readonly string[] = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

const ATTACHMENT_TYPES: Readonly<Record<string, { arns: string; target: string }>> = {
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": { arns: "policyArn", target: "role" },
  "aws:iam/userPolicyAttachment:UserPolicyAttachment": { arns: "policyArn", target: "user" },
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": { arns: "policyArn", target: "group" },
  "aws:iam/policyAttachment:PolicyAttachment": { arns: "policyArn", target: "roles" },
  "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": { arns: "policyArns", target: "roleName" },
  "aws:iam/role:Role": { arns: "managedPolicyArns", target: "name" },
};

function forbiddenName(arn: string): string | undefined {
  const match = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn);
  return match && FORBIDDEN_MANAGED_POLICIES.includes(match[1]!) ? match[1] : undefined;
}

/**
 * No role, user or group gets the AWS-managed `AdministratorAccess`, `PowerUserAccess` or `IAMFullAccess` policy.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default stackRule(
  __filename,
  {
    description:
      "No role, user or group gets the AWS-managed `AdministratorAccess`, `PowerUserAccess` or `IAMFullAccess` policy.",
    why: "Each of these grants (nearly) the whole account, or the means to grant it; the permission boundary the provisioner lives in would be gone.",
    fix: "Attach a customer-managed policy listing only the actions needed instead.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
  },
  (args, report, _config, guard) => {
    // Attachments are separate resources: join each to the role it names, so the message says who gets the policy.
    const roles = new Map<string, string>();
    for (const resource of args.resources) {
      if (resource.type !== "aws:iam/role:Role") continue;
      guard(resource.urn, () => {
        const name = resource.props.name;
        if (typeof name === "string") roles.set(name, resource.name);
      });
    }
    for (const resource of args.resources) {
      const shape = ATTACHMENT_TYPES[resource.type];
      if (!shape) continue;
      guard(resource.urn, () => {
        for (const arn of asList(resource.props[shape.arns]).map(String)) {
          const forbidden = forbiddenName(arn);
          if (!forbidden) continue;
          const targets = asList(resource.props[shape.target]).map(String);
          const who = targets.map((target) => (roles.has(target) ? `role \`${roles.get(target)}\`` : `\`${target}\``));
          const to = who.length > 0 ? ` to ${who.join(", ")}` : ` on \`${nameFromUrn(resource.urn)}\``;
          report(`\`${shape.arns}\` attaches the AWS-managed \`${forbidden}\`${to}`, resource.urn);
        }
      });
    }
  },
);
