import { describe, expect, it } from "vitest";
import { synthConfig } from "../../../program/synth.js";
import type { PlannedResource, SynthResult } from "../../../program/synth-types.js";
import { ConfigError } from "../../../core/errors.js";
import {
  GCP_PROVISIONER_PERMISSIONS,
  gcpProvisionerPermissions,
  gcpWorkloadPermissions,
  renderWorkloadCondition,
} from "../../../components/access/gcp-permissions.js";

/** The `gcp-access` kind as it registers under mocks: federation without keys, pinned to one AWS role. */

const PROVISIONER = "arn:aws:iam::111122223333:role/claw-cloud-provisioner";
const PRINCIPAL_SET =
  "principalSet://iam.googleapis.com/projects/498263517640/locations/global/workloadIdentityPools/claw-cloud/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/claw-cloud-provisioner";

function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: "gcp-access", projectId: "my-openclaw", projectNumber: "498263517640", provisionerRoleArn: PROVISIONER, ...overrides };
}

function ofType(result: SynthResult, type: string): PlannedResource[] {
  return result.resources.filter((resource) => resource.type === type);
}

describe("GcpProvisionerFederation", () => {
  it("pins the AWS provider to the provisioner role", async () => {
    const result = await synthConfig("gcp-access-test", config());
    const [provider, ...others] = ofType(result, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
    expect(others).toEqual([]);
    expect(provider?.inputs.aws).toEqual({ accountId: "111122223333" });
    expect(provider?.inputs.attributeCondition).toBe('attribute.aws_role == "arn:aws:sts::111122223333:assumed-role/claw-cloud-provisioner"');
    // The mapping that produces attribute.aws_role drops the session name, so every session of the role matches.
    expect(Object.keys(provider?.inputs.attributeMapping as object).sort()).toEqual(["attribute.aws_role", "google.subject"]);
  });

  it("strips an IAM path from the role, as STS does in assumed-role ARNs", async () => {
    const result = await synthConfig("gcp-access-test", config({ provisionerRoleArn: "arn:aws:iam::111122223333:role/claw-cloud/provisioner" }));
    const [provider] = ofType(result, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
    expect(provider?.inputs.attributeCondition).toBe('attribute.aws_role == "arn:aws:sts::111122223333:assumed-role/provisioner"');
  });

  it("registers no service-account key, and no primitive or predefined admin role", async () => {
    const result = await synthConfig("gcp-access-test", config());
    expect(result.resources.filter((resource) => /key/i.test(resource.type))).toEqual([]);
    const roles = result.resources.map((resource) => resource.inputs.role).filter((role) => role !== undefined);
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      expect(String(role)).not.toMatch(/^roles\/(owner|editor|viewer|compute\.admin|iam\.serviceAccount(Admin|KeyAdmin|TokenCreator))$/);
    }
  });

  it("grants roles/iam.workloadIdentityUser on the dedicated service account to the provisioner's principal set only", async () => {
    const result = await synthConfig("gcp-access-test", config());
    const bindings = result.resources.filter((resource) => resource.inputs.role === "roles/iam.workloadIdentityUser");
    expect(bindings).toHaveLength(1);
    expect(bindings[0]?.type).toBe("gcp:serviceaccount/iAMMember:IAMMember");
    expect(bindings[0]?.inputs.member).toBe(PRINCIPAL_SET);
    // Bound on the service account (not the project), so it admits impersonating that one account.
    expect(bindings[0]?.inputs.serviceAccountId).toBe("projects/my-openclaw/serviceAccounts/claw-cloud-provisioner@my-openclaw.iam.gserviceaccount.com");
    expect(bindings[0]?.inputs.project).toBeUndefined();
  });

  it("gives the service account custom roles holding exactly the table's permissions", async () => {
    const result = await synthConfig("gcp-access-test", config());
    const customRoles = ofType(result, "gcp:projects/iAMCustomRole:IAMCustomRole");
    const byId = new Map(customRoles.map((role) => [String(role.inputs.roleId), role]));
    expect([...byId.keys()].sort()).toEqual(["clawCloudProvisioner", "clawCloudProvisionerWorkloads"]);
    expect(byId.get("clawCloudProvisioner")?.inputs.permissions).toEqual(gcpProvisionerPermissions());
    expect(byId.get("clawCloudProvisionerWorkloads")?.inputs.permissions).toEqual(gcpWorkloadPermissions());
    const tableUnion = new Set(Object.values(GCP_PROVISIONER_PERMISSIONS).flatMap((row) => [...row.permissions, ...(row.workloadPermissions ?? [])]));
    const granted = [...gcpProvisionerPermissions(), ...gcpWorkloadPermissions()];
    expect(new Set(granted)).toEqual(tableUnion);
    for (const permission of granted) {
      expect(permission).toMatch(/^(compute\.[A-Za-z]+|iam\.serviceAccounts|secretmanager\.[A-Za-z]+)\.[A-Za-z]+$/);
      expect(permission).not.toContain("*");
    }
    // Re-sharing secrets, acting as service accounts and changing them only under the name condition.
    const projectWide = gcpProvisionerPermissions();
    for (const sensitive of ["iam.serviceAccounts.actAs", "secretmanager.secrets.setIamPolicy", "secretmanager.versions.access", "iam.serviceAccounts.delete"]) {
      expect(projectWide).not.toContain(sensitive);
      expect(gcpWorkloadPermissions()).toContain(sensitive);
    }
    expect(projectWide.some((permission) => /setIamPolicy|serviceAccountKeys|\.keys\./.test(permission))).toBe(false);

    const bindings = ofType(result, "gcp:projects/iAMMember:IAMMember");
    expect(bindings.map((binding) => binding.inputs.member)).toEqual([
      "serviceAccount:claw-cloud-provisioner@my-openclaw.iam.gserviceaccount.com",
      "serviceAccount:claw-cloud-provisioner@my-openclaw.iam.gserviceaccount.com",
    ]);
    expect(bindings.map((binding) => binding.inputs.role).sort()).toEqual([
      "projects/my-openclaw/roles/clawCloudProvisioner",
      "projects/my-openclaw/roles/clawCloudProvisionerWorkloads",
    ]);
    const conditioned = bindings.filter((binding) => binding.inputs.condition !== undefined);
    expect(conditioned).toHaveLength(1);
    expect((conditioned[0]?.inputs.condition as { expression: string }).expression).toBe(renderWorkloadCondition("my-openclaw"));
  });

  it("outputs an external-account credential configuration (no secret in it)", async () => {
    const result = await synthConfig("gcp-access-test", config());
    const credential = JSON.parse(String(result.outputs.credentialConfiguration)) as Record<string, unknown>;
    expect(credential).toMatchObject({
      type: "external_account",
      audience: "//iam.googleapis.com/projects/498263517640/locations/global/workloadIdentityPools/claw-cloud/providers/claw-cloud-aws",
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url:
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/claw-cloud-provisioner@my-openclaw.iam.gserviceaccount.com:generateAccessToken",
      credential_source: { environment_id: "aws1" },
    });
    expect(JSON.stringify(credential)).not.toMatch(/private_key|client_secret|"key"/);
    expect(result.outputs.serviceAccountEmail).toBe("claw-cloud-provisioner@my-openclaw.iam.gserviceaccount.com");
  });
});

describe("renderWorkloadCondition", () => {
  it("admits host service accounts and gateway-token secrets of this project only", () => {
    const condition = renderWorkloadCondition("my-openclaw");
    expect(condition).toContain('resource.name.endsWith("-host@my-openclaw.iam.gserviceaccount.com")');
    expect(condition).toContain('resource.type == "secretmanager.googleapis.com/Secret" && resource.name.endsWith("-gateway-token")');
    expect(condition).not.toMatch(/\btrue\b/);
  });
});

describe("bad input is refused before any resource is registered, naming the field", () => {
  it.each([
    ["a project number that is not numeric", { projectNumber: "my-openclaw" }, "projectNumber", /`projectNumber` must be the numeric GCP project number/],
    ["a project number with a dash", { projectNumber: "4982-63517640" }, "projectNumber", /`projectNumber`/],
    ["a missing project number", { projectNumber: undefined }, "projectNumber", /got nothing/],
    ["a malformed project ID", { projectId: "My_Project" }, "projectId", /`projectId` must be a GCP project ID/],
    ["a missing provisioner principal", { provisionerRoleArn: undefined }, "provisionerRoleArn", /`provisionerRoleArn`.*got nothing/],
    ["a malformed provisioner role ARN", { provisionerRoleArn: "arn:aws:iam::111122223333:roles/x" }, "provisionerRoleArn", /`provisionerRoleArn`/],
    ["a pool ID with the reserved gcp- prefix", { poolId: "gcp-pool" }, "poolId", /`poolId` must be 4 to 32 characters/],
    ["an unknown key", { projectNum: "1" }, "projectNum", /`projectNum` is not a setting/],
  ])("%s", async (_label, overrides, key, message) => {
    const raw = config(overrides);
    for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete raw[name];
    const error = await synthConfig("gcp-access-test", raw).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).message).toMatch(message);
  });

  it("keeps an unquoted YAML project number's digits", async () => {
    const result = await synthConfig("gcp-access-test", config({ projectNumber: 498263517640 }));
    const [binding] = result.resources.filter((resource) => resource.inputs.role === "roles/iam.workloadIdentityUser");
    expect(binding?.inputs.member).toBe(PRINCIPAL_SET);
  });
});
