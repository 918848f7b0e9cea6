import { describe, expect, it } from "vitest";
import { synthStack } from "../../../program/synth.js";
import type { PlannedResource, SynthResult } from "../../../program/synth-types.js";
import type { PolicyDocument, PolicyStatement } from "../../../components/access/aws-policy.js";
import { actionsOf, unscopedMutations } from "./policy-shape.js";

/**
 * The two example stacks, synthesized exactly as `npm run synth -- --stack
 * <name> --json` does: what the "done when" asks of them.
 */

function only(result: SynthResult, type: string): PlannedResource {
  const matches = result.resources.filter((resource) => resource.type === type);
  expect(matches, `exactly one ${type}`).toHaveLength(1);
  return matches[0] as PlannedResource;
}

describe("aws-access-example", () => {
  it("synthesizes a role whose trust policy requires the stack's external ID", async () => {
    const result = await synthStack("aws-access-example");
    const role = only(result, "aws:iam/role:Role");
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as PolicyDocument;
    expect(trust.Statement).toHaveLength(1);
    const statement = trust.Statement[0] as PolicyStatement;
    expect(statement.Principal).toEqual({ AWS: "arn:aws:iam::111122223333:role/claw-cloud-provisioner" });
    expect(statement.Condition).toEqual({ StringEquals: { "sts:ExternalId": result.outputs.externalId } });
    expect(String(result.outputs.externalId)).toMatch(/^[A-Za-z0-9]{32,64}$/);
    expect(role.inputs.maxSessionDuration).toBeLessThanOrEqual(3600);

    const policy = JSON.parse(String(only(result, "aws:iam/rolePolicy:RolePolicy").inputs.policy)) as PolicyDocument;
    for (const statement of policy.Statement) {
      const actions = actionsOf(statement);
      for (const action of actions) {
        expect(action, statement.Sid).not.toBe("*");
        expect(action, statement.Sid).not.toMatch(/^[a-z0-9-]+:\*$/);
      }
    }
    expect(unscopedMutations(policy)).toEqual([]);
    expect(Object.keys(result.outputs).sort()).toEqual(["externalId", "roleArn"]);
  });
});

describe("gcp-access-example", () => {
  it("synthesizes a pool provider with a pinned attribute condition and no key resource", async () => {
    const result = await synthStack("gcp-access-example");
    const provider = only(result, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
    expect(provider.inputs.attributeCondition).toBe(
      'attribute.aws_role == "arn:aws:sts::111122223333:assumed-role/claw-cloud-provisioner"',
    );
    expect(result.resources.some((resource) => /key/i.test(resource.type))).toBe(false);
    const config = JSON.parse(String(result.outputs.credentialConfiguration)) as { type: string; audience: string };
    expect(config.type).toBe("external_account");
    expect(config.audience).toBe(
      "//iam.googleapis.com/projects/498263517640/locations/global/workloadIdentityPools/claw-cloud/providers/claw-cloud-aws",
    );
  });
});
