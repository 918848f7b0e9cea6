/**
 * Preview with the real engine (no stand-in): the offline synth of the host
 * program plus the policy review, for each cloud, through the API. Needs no
 * Pulumi CLI and no cloud credentials. Without the CLI on PATH, the `up`
 * each create enqueues fails at once saying what to install.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasTool } from "../../harness/tools";
import { addDigitalOceanCredential, registerUser, startTestApp, type TestApp, type TestUser, waitForJob } from "./support/app";

const VERSIONS = { openclaw: "1.2.3", node: "22.11.0" };
const REQUESTS = {
  digitalocean: { cloud: "digitalocean", region: "fra1", options: { gatewayCidrs: ["203.0.113.0/24"], versions: VERSIONS } },
  aws: { cloud: "aws", region: "eu-west-1", size: "medium", options: { gatewayCidrs: ["198.51.100.0/24"], versions: VERSIONS } },
  gcp: { cloud: "gcp", region: "europe-west1", options: { gatewayCidrs: ["192.0.2.0/24"], versions: VERSIONS, gcpProject: "claw-customer-1" } },
};

describe("preview of each cloud with the real engine", () => {
  let harness: TestApp;
  let user: TestUser;
  const cliPresent = hasTool("pulumi");

  beforeAll(async () => {
    harness = await startTestApp({ database: "sqlite" });
    user = await registerUser(harness.app);
    await addDigitalOceanCredential(harness.app, user);
    const aws = await harness.app.inject({
      method: "POST",
      url: "/v1/credentials",
      headers: user.auth,
      payload: { kind: "aws", name: "aws", roleArn: "arn:aws:iam::123456789012:role/claw-provisioner", externalId: "claw-ext-0123456789" },
    });
    expect(aws.statusCode).toBe(201);
    const gcp = await harness.app.inject({
      method: "POST",
      url: "/v1/credentials",
      headers: user.auth,
      payload: {
        kind: "gcp",
        name: "gcp",
        config: {
          type: "external_account",
          audience: "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/claw/providers/claw",
          subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
          token_url: "https://sts.googleapis.com/v1/token",
        },
      },
    });
    expect(gcp.statusCode).toBe(201);
  });
  afterAll(async () => {
    await harness?.close();
  });

  for (const [cloud, request] of Object.entries(REQUESTS)) {
    it(`${cloud}: returns the plan with zero mandatory violations`, async () => {
      const { app } = harness;
      const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: request });
      expect(created.statusCode).toBe(201);
      const { instance, job } = created.json() as { instance: { id: string; stackName: string }; job: { id: string } };

      const up = await waitForJob(app, user, job.id, 30_000);
      if (!cliPresent) {
        expect(up.state).toBe("failed");
        expect(up.error?.code).toBe("tool_missing");
        expect(up.error?.message).toMatch(/pulumi.*install|install.*pulumi/i);
        expect(up.attempt).toBe(1);
      }

      const preview = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/preview?wait=60`, headers: user.auth });
      expect(preview.statusCode).toBe(200);
      const result = (preview.json() as {
        job: { state: string; result: { plan: { resources: { type: string; urn: string }[] }; violations: { enforcement: string }[]; mandatoryViolations: number } };
      }).job;
      expect(result.state).toBe("succeeded");
      const types = result.result.plan.resources.map((resource) => resource.type);
      const hostType = { digitalocean: "digitalocean:index/droplet:Droplet", aws: "aws:ec2/instance:Instance", gcp: "gcp:compute/instance:Instance" }[cloud];
      expect(types).toContain(hostType);
      expect(result.result.plan.resources.every((resource) => resource.urn.includes(instance.stackName))).toBe(true);
      expect(result.result.violations.filter((violation) => violation.enforcement === "mandatory")).toEqual([]);
      expect(result.result.mandatoryViolations).toBe(0);
    });
  }
});
