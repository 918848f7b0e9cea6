import { describe, expect, it } from "vitest";
import { synthConfig } from "../../../program/synth.js";
import type { PlannedResource } from "../../../program/synth-types.js";
import { ConfigError } from "../../../core/errors.js";
import { HOST_ROLE_PATH, SNAPSHOT_ROLE_PATH, workloadBoundaryArn } from "../../../components/access/aws-permissions.js";
import {
  renderPermissionsPolicy,
  renderWorkloadBoundaryPolicy,
  type PolicyDocument,
  type PolicyStatement,
} from "../../../components/access/aws-policy.js";
import { generateExternalId, rotateExternalId } from "../../../components/access/external-id.js";
import { actionsOf, resourcesOf, unscopedMutations } from "./policy-shape.js";
import { trustPolicyAllows } from "./trust-policy-eval.js";

/**
 * The AWS provisioner role as the `aws-access` kind registers it (synthesized
 * under mocks), checked for each property the issue requires.
 */

const PROVISIONER = "arn:aws:iam::111122223333:role/claw-cloud-provisioner";
const ACCOUNT = "123456789012";

function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: "aws-access", provisionerRoleArn: PROVISIONER, externalId: generateExternalId(), accountId: ACCOUNT, ...overrides };
}

function ofType(resources: PlannedResource[], type: string): PlannedResource[] {
  return resources.filter((resource) => resource.type === type);
}

async function synthRole(raw: Record<string, unknown>) {
  const result = await synthConfig("access-test", raw);
  const [role] = ofType(result.resources, "aws:iam/role:Role");
  const [inline] = ofType(result.resources, "aws:iam/rolePolicy:RolePolicy");
  const [boundary] = ofType(result.resources, "aws:iam/policy:Policy");
  if (!role || !inline || !boundary) throw new Error("the aws-access kind registered no role, inline policy or boundary");
  return {
    result,
    role,
    trust: JSON.parse(String(role.inputs.assumeRolePolicy)) as PolicyDocument,
    permissions: JSON.parse(String(inline.inputs.policy)) as PolicyDocument,
    boundary,
  };
}

function statement(policy: PolicyDocument, sid: string): PolicyStatement {
  const found = policy.Statement.find((candidate) => candidate.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}

describe("trust policy", () => {
  it("names only the provisioner role and requires the external ID with StringEquals", async () => {
    const externalId = generateExternalId();
    const { trust, role } = await synthRole(config({ externalId }));
    expect(role.inputs.maxSessionDuration).toBe(3600);
    expect(trust.Statement).toHaveLength(1);
    const only = trust.Statement[0] as PolicyStatement;
    expect(only.Effect).toBe("Allow");
    expect(only.Principal).toEqual({ AWS: PROVISIONER });
    expect(JSON.stringify(trust)).not.toContain('"*"');
    expect(actionsOf(only)).toContain("sts:AssumeRole");
    expect(only.Condition).toEqual({ StringEquals: { "sts:ExternalId": externalId } });
    expect(JSON.stringify(trust)).not.toMatch(/StringLike|ArnLike/);
    expect(trustPolicyAllows(trust, PROVISIONER, externalId)).toBe(true);
    expect(trustPolicyAllows(trust, PROVISIONER, undefined)).toBe(false);
    expect(trustPolicyAllows(trust, "arn:aws:iam::444455556666:role/claw-cloud-provisioner", externalId)).toBe(false);
  });

  it("after rotation, the redeployed role accepts the new external ID and refuses the old one", async () => {
    const first = generateExternalId();
    const before = await synthRole(config({ externalId: first }));
    const { next } = rotateExternalId(first);
    const after = await synthRole(config({ externalId: next }));
    expect(trustPolicyAllows(before.trust, PROVISIONER, first)).toBe(true);
    expect(trustPolicyAllows(after.trust, PROVISIONER, next)).toBe(true);
    expect(trustPolicyAllows(after.trust, PROVISIONER, first)).toBe(false);
    // The role is updated in place (same logical resource), not a second role beside the first.
    expect(after.role.urn).toBe(before.role.urn);
    expect(after.result.outputs.externalId).toBe(next);
  });
});

describe("permissions policy", () => {
  it("has no `*` action and no service wildcard; ec2:Describe* is alone on `*` in its own statement", async () => {
    const { permissions } = await synthRole(config());
    for (const entry of permissions.Statement) {
      for (const action of actionsOf(entry)) {
        expect(action).not.toBe("*");
        expect(action).not.toMatch(/:\*$/);
        if (action.includes("*")) expect(action).toBe("ec2:Describe*");
      }
    }
    const describeStatements = permissions.Statement.filter((entry) => actionsOf(entry).includes("ec2:Describe*"));
    expect(describeStatements).toHaveLength(1);
    expect(actionsOf(describeStatements[0] as PolicyStatement)).toEqual(["ec2:Describe*"]);
    expect(describeStatements[0]?.Resource).toBe("*");
    expect(describeStatements[0]?.Condition).toBeUndefined();
  });

  it("tag-conditions every mutating statement", async () => {
    const { permissions } = await synthRole(config());
    expect(unscopedMutations(permissions)).toEqual([]);
  });

  it("unscopedMutations catches an unconditioned mutating statement (the check can fail)", () => {
    const broken: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Sid: "Oops", Effect: "Allow", Action: ["ec2:TerminateInstances"], Resource: `arn:aws:ec2:*:${ACCOUNT}:instance/*` }],
    };
    expect(unscopedMutations(broken)).toEqual(["Oops: ec2:TerminateInstances"]);
  });

  it("allows RunInstances only with the ManagedBy request tag on what it creates", async () => {
    const { permissions } = await synthRole(config());
    const runs = permissions.Statement.filter((entry) => actionsOf(entry).includes("ec2:RunInstances"));
    const creating = runs.filter((entry) => resourcesOf(entry).some((arn) => /:instance\/\*$/.test(arn)));
    expect(creating).toHaveLength(1);
    expect(creating[0]?.Condition).toEqual({ StringEquals: { "aws:RequestTag/ManagedBy": "claw-cloud" } });
    // Images only from trusted owners.
    const images = runs.filter((entry) => resourcesOf(entry).some((arn) => arn.includes(":image/")));
    expect(images.map((entry) => entry.Condition)).toEqual([{ StringEquals: { "ec2:Owner": ["amazon", "099720109477", "136693071363"] } }]);
  });

  it("allows CreateTags only with ec2:CreateAction of a creating call", async () => {
    const { permissions } = await synthRole(config());
    const tagging = permissions.Statement.filter((entry) => entry.Effect === "Allow" && actionsOf(entry).includes("ec2:CreateTags"));
    expect(tagging).toHaveLength(1);
    expect(tagging[0]?.Condition).toEqual({
      StringEquals: { "ec2:CreateAction": ["AllocateAddress", "CreateSecurityGroup", "CreateVolume", "ImportKeyPair", "RunInstances"] },
    });
  });

  it("conditions terminate, stop, start, modify, attach, detach and delete on the ManagedBy resource tag", async () => {
    const { permissions } = await synthRole(config());
    const verbs = /^(ec2|dlm|ssm):(Terminate|Stop|Start|Reboot|Modify|Attach|Detach|Delete|Update|Revoke|Authorize)/;
    const mutating = permissions.Statement.filter((entry) => entry.Effect === "Allow" && actionsOf(entry).some((a) => verbs.test(a)));
    expect(mutating.length).toBeGreaterThan(0);
    for (const entry of mutating) {
      expect(entry.Condition, entry.Sid).toEqual({ StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" } });
    }
  });

  it("passes roles only under the host and snapshot paths, each to its one service", async () => {
    const { permissions } = await synthRole(config());
    const passing = permissions.Statement.filter((entry) => actionsOf(entry).includes("iam:PassRole"));
    expect(passing.map((entry) => [entry.Resource, entry.Condition])).toEqual([
      [`arn:aws:iam::${ACCOUNT}:role${HOST_ROLE_PATH}*`, { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } }],
      [`arn:aws:iam::${ACCOUNT}:role${SNAPSHOT_ROLE_PATH}*`, { StringEquals: { "iam:PassedToService": "dlm.amazonaws.com" } }],
    ]);
    for (const entry of passing) expect(actionsOf(entry)).toEqual(["iam:PassRole"]);
  });

  it("confines IAM actions to the two role paths, and host roles to the workload boundary", async () => {
    const { permissions, boundary } = await synthRole(config());
    const boundaryArn = workloadBoundaryArn("aws", ACCOUNT);
    for (const entry of permissions.Statement.filter((e) => e.Effect === "Allow" && actionsOf(e).some((a) => a.startsWith("iam:")))) {
      for (const arn of resourcesOf(entry)) expect(arn, entry.Sid).toMatch(/:(role|instance-profile)\/claw-cloud\/(host|snapshots)\/\*$/);
    }
    const createRole = permissions.Statement.filter((entry) => actionsOf(entry).includes("iam:CreateRole"));
    const hostCreate = createRole.find((entry) => resourcesOf(entry).some((arn) => arn.includes(HOST_ROLE_PATH)));
    expect(hostCreate?.Condition).toEqual({
      StringEquals: { "aws:RequestTag/ManagedBy": "claw-cloud", "iam:PermissionsBoundary": boundaryArn },
    });
    const putPolicy = permissions.Statement.find((entry) => actionsOf(entry).includes("iam:PutRolePolicy"));
    expect(putPolicy?.Condition?.StringEquals?.["iam:PermissionsBoundary"]).toBe(boundaryArn);
    expect(resourcesOf(putPolicy as PolicyStatement)).toEqual([`arn:aws:iam::${ACCOUNT}:role${HOST_ROLE_PATH}*`]);
    const attach = permissions.Statement.find((entry) => actionsOf(entry).includes("iam:AttachRolePolicy"));
    expect(attach?.Condition?.ArnEquals).toEqual({
      "iam:PolicyARN": ["arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"],
    });
    // The boundary itself: created by the stack at the ARN the conditions name.
    expect(boundary.inputs.name).toBe("claw-cloud-workload-boundary");
    expect(boundary.inputs.path).toBe("/claw-cloud/");
    const boundaryDoc = JSON.parse(String(boundary.inputs.policy)) as PolicyDocument;
    expect(boundaryDoc).toEqual(renderWorkloadBoundaryPolicy("aws", ACCOUNT));
    expect(boundaryDoc.Statement.flatMap(actionsOf).sort()).toEqual(["kms:Decrypt", "ssm:GetParameter"]);
  });

  it("denies changing or removing the ManagedBy tag, and removing a role's boundary", async () => {
    const { permissions } = await synthRole(config());
    const change = statement(permissions, "DenyChangingManagedByTag");
    expect(change.Effect).toBe("Deny");
    expect(actionsOf(change)).toContain("ec2:CreateTags");
    expect(change.Condition).toEqual({
      "ForAnyValue:StringEquals": { "aws:TagKeys": ["ManagedBy"] },
      Null: { "ec2:CreateAction": "true" },
    });
    const removal = statement(permissions, "DenyRemovingManagedByTag");
    expect(removal.Effect).toBe("Deny");
    expect(actionsOf(removal)).toEqual(expect.arrayContaining(["ec2:DeleteTags", "dlm:UntagResource", "iam:UntagRole"]));
    const boundaryDeny = statement(permissions, "DenyRemovingTheBoundary");
    expect(actionsOf(boundaryDeny)).toEqual(expect.arrayContaining(["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"]));
  });

  it("fits AWS's 10,240-character limit for inline role policies", () => {
    const policy = renderPermissionsPolicy({ partition: "aws-us-gov", accountId: ACCOUNT, imageOwners: ["amazon", "099720109477", "136693071363"] });
    expect(JSON.stringify(policy).length).toBeLessThan(10_240);
  });

  it("uses the provisioner's partition in every ARN", async () => {
    const { permissions } = await synthRole(config({ provisionerRoleArn: "arn:aws-us-gov:iam::111122223333:role/claw-cloud-provisioner" }));
    const arns = permissions.Statement.flatMap(resourcesOf).filter((arn) => arn !== "*");
    for (const arn of arns) expect(arn).toMatch(/^arn:aws-us-gov:/);
  });
});

describe("bad input is refused before any resource is registered, naming the field", () => {
  it.each([
    ["a malformed provisioner role ARN", { provisionerRoleArn: "arn:aws:iam::1111:role/x" }, "provisionerRoleArn", /`provisionerRoleArn`.*12-digit account/],
    ["a wildcard principal", { provisionerRoleArn: "arn:aws:iam::111122223333:role/*" }, "provisionerRoleArn", /wildcards are not allowed/],
    ["a user ARN instead of a role", { provisionerRoleArn: "arn:aws:iam::111122223333:user/bob" }, "provisionerRoleArn", /role/],
    ["a missing provisioner principal", { provisionerRoleArn: undefined }, "provisionerRoleArn", /`provisionerRoleArn`.*got nothing/],
    ["an 11-digit account ID", { accountId: "12345678901" }, "accountId", /`accountId` must be a 12-digit AWS account ID; got|`accountId` must be a 12-digit/],
    ["an account ID with letters", { accountId: "12345678901a" }, "accountId", /`accountId`/],
    ["an external ID with a slash", { externalId: `${"a".repeat(40)}/b` }, "externalId", /`externalId` must use only the characters \[A-Za-z0-9\]/],
    ["a short external ID", { externalId: "tooshort" }, "externalId", /`externalId` must be 32 to 64 characters.*got 8 characters/],
    ["a 65-character external ID", { externalId: "a".repeat(65) }, "externalId", /got 65 characters/],
    ["a missing external ID", { externalId: undefined }, "externalId", /`externalId` must be a string; got nothing/],
    ["an unknown key", { externalID: "x" }, "externalID", /`externalID` is not a setting/],
    ["a bad image owner", { imageOwners: ["someone"] }, "imageOwners", /`imageOwners`/],
  ])("%s", async (_label, overrides, key, message) => {
    const raw = config(overrides);
    for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete raw[name];
    const error = await synthConfig("access-test", raw).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).message).toMatch(message);
  });

  it("does not repeat a refused external ID in the message", async () => {
    const candidate = `${"Q".repeat(70)}`;
    const error = (await synthConfig("access-test", config({ externalId: candidate })).catch((caught: unknown) => caught)) as Error;
    expect(error.message).not.toContain(candidate);
  });
});
