/**
 * The API's offline preview runs the preflight against the clouds' API
 * constraints (`api/engine/plan.ts`): what a cloud would refuse is a mandatory
 * violation before anything is created, and the default network a plan
 * assumes is said in the outcome.
 */
import { describe, expect, it } from "vitest";
import { offlinePlanner } from "../../../api/engine/plan";
import { selectStack } from "../../../program/run-stack";

const STACK = "u-000000000000-i-00000000000000000000000000000000";
const AWS = {
  cloud: "aws",
  region: "eu-west-1",
  gatewayCidrs: ["203.0.113.0/24"],
  versions: { openclaw: "2026.1.29", node: "24.15.0" },
};

async function preview(config: Record<string, unknown>) {
  return offlinePlanner({ stackName: STACK, config, stack: selectStack(config) });
}

describe("the API's preview runs the preflight", () => {
  it("says the default VPC is assumed when no network is given, and finds nothing in a valid plan", async () => {
    const outcome = await preview(AWS);
    expect(outcome.preflight).toEqual({ findings: 0, notes: [expect.stringMatching(/default VPC/)] });
    expect(outcome.violations.filter((violation) => violation.policy.startsWith("preflight:"))).toEqual([]);
    const placed = await preview({ ...AWS, vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" });
    expect(placed.preflight?.notes).toEqual([]);
  });

  it("reports what the cloud would refuse as a mandatory violation naming field, rule and source", async () => {
    // The parser takes an empty AWS tag value (EC2 does), but SSM's AddTagsToResource refuses it (TagValue min 1).
    const outcome = await preview({ ...AWS, tags: { env: "" }, gatewayToken: "a-gateway-token-given-as-a-pulumi-secret-0123456789" });
    const preflight = outcome.violations.filter((violation) => violation.policy.startsWith("preflight:"));
    expect(preflight).toEqual([
      {
        policy: "preflight:aws.ssm.TagValue",
        enforcement: "mandatory",
        message: expect.stringMatching(/^aws:ssm\/parameter:Parameter .*`tags\.env` = "" must be at least 1 characters.*ssm\/2014-11-06\/service-2\.json shape TagValue/),
        resourceType: "aws:ssm/parameter:Parameter",
      },
    ]);
    expect(outcome.mandatoryViolations).toBeGreaterThanOrEqual(1);
    expect(outcome.preflight?.findings).toBe(1);
  });
});
