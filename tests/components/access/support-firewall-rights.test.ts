/**
 * The calls runtime/support-firewall.ts makes for a support grant's SSH rule
 * are allowed by ClawStack's own access profiles, and only on what ClawStack
 * manages where the cloud lets a policy say so: on AWS (both `standard` and
 * `strict`) the security group must carry `ManagedBy=claw-cloud`; GCP's
 * project role holds the firewall permissions (Compute Engine firewalls carry
 * no labels to condition on, so the job checks the instance's label and tag
 * itself); the DigitalOcean token's documented scopes cover reading the
 * firewall and the droplet and updating the firewall's rules.
 */
import { describe, expect, it } from "vitest";
import { ACCESS_PROFILES, awsPermissionsForProfile } from "../../../components/access/aws-permissions.js";
import { DEFAULT_IMAGE_OWNERS, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import { gcpProvisionerPermissions } from "../../../components/access/gcp-permissions.js";
import { requiredDigitalOceanScopes } from "../../../runtime/digitalocean-token-check.js";
import { policyAllows } from "./permissions-eval.js";

const ACCOUNT = "123456789012";
const GROUP = `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/sg-0123456789abcdef0`;

describe.each(ACCESS_PROFILES)("AWS accessProfile %s", (profile) => {
  const policy = renderPermissionsPolicy({ partition: "aws", accountId: ACCOUNT, imageOwners: DEFAULT_IMAGE_OWNERS, table: awsPermissionsForProfile(profile) });

  it("allows authorizing and revoking ingress on a ClawStack security group only, and describing it", () => {
    for (const action of ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]) {
      expect(policyAllows(policy, { action, resource: GROUP, context: { "aws:ResourceTag/ManagedBy": "claw-cloud" } }), action).toBe(true);
      expect(policyAllows(policy, { action, resource: GROUP, context: {} }), `${action} untagged`).toBe(false);
      expect(policyAllows(policy, { action, resource: GROUP, context: { "aws:ResourceTag/ManagedBy": "someone-else" } }), `${action} foreign`).toBe(false);
    }
    expect(policyAllows(policy, { action: "ec2:DescribeSecurityGroups", resource: "*", context: {} })).toBe(true);
  });
});

describe("GCP provisioner role", () => {
  it("holds what creating and deleting a grant's firewall and reading the instance take", () => {
    expect(gcpProvisionerPermissions()).toEqual(
      expect.arrayContaining(["compute.firewalls.create", "compute.firewalls.delete", "compute.networks.updatePolicy", "compute.globalOperations.get", "compute.instances.get"]),
    );
  });
});

describe("DigitalOcean token scopes", () => {
  it("cover reading the firewall and the droplet and changing the firewall's rules", () => {
    const scopes = requiredDigitalOceanScopes(["host"]).map((requirement) => requirement.scope);
    expect(scopes).toEqual(expect.arrayContaining(["firewall:read", "firewall:update", "droplet:read"]));
  });
});
