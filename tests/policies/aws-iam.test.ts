/**
 * AWS IAM rules: one compliant fixture each, then one failing case per broken
 * property, named after what it breaks.
 */
import { describe, expect, it } from "vitest";
import { UNKNOWN, doc, messages, type Planned } from "./support";

const PROVISIONER = "arn:aws:iam::111122223333:role/claw-cloud-provisioner";
const EXTERNAL_ID = "ckHPaJy1PvXibxuNFboa7RfZPQG1xuOm"; // 32 characters

function crossAccountRole(overrides: { condition?: unknown; principal?: unknown; maxSessionDuration?: unknown } = {}): Planned {
  const statement: Record<string, unknown> = {
    Effect: "Allow",
    Principal: overrides.principal ?? { AWS: PROVISIONER },
    Action: "sts:AssumeRole",
  };
  const condition = "condition" in overrides ? overrides.condition : { StringEquals: { "sts:ExternalId": EXTERNAL_ID } };
  if (condition !== undefined) statement.Condition = condition;
  return {
    type: "aws:iam/role:Role",
    name: "provisioner-role",
    inputs: {
      assumeRolePolicy: doc(statement),
      maxSessionDuration: "maxSessionDuration" in overrides ? overrides.maxSessionDuration : 3600,
      tags: { ManagedBy: "claw-cloud" },
    },
  };
}

const EC2_SERVICE_ROLE: Planned = {
  type: "aws:iam/role:Role",
  name: "host-role",
  inputs: {
    assumeRolePolicy: doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }),
    maxSessionDuration: 43200,
    tags: { ManagedBy: "claw-cloud" },
  },
};

function rolePolicy(...statements: Array<Record<string, unknown>>): Planned {
  return { type: "aws:iam/rolePolicy:RolePolicy", name: "permissions", inputs: { role: "r", policy: doc(...statements) } };
}

describe("aws-iam-role-requires-external-id", () => {
  const id = "aws-iam-role-requires-external-id";
  it("accepts a cross-account trust pinned with StringEquals to a 32-character external ID", async () => {
    expect(await messages(id, [crossAccountRole()])).toEqual([]);
  });
  it("accepts a service trust (no other account) without an external ID", async () => {
    expect(await messages(id, [EC2_SERVICE_ROLE])).toEqual([]);
  });
  it("catches a missing sts:ExternalId condition", async () => {
    expect(await messages(id, [crossAccountRole({ condition: undefined })])).toEqual([
      expect.stringContaining("does not require `sts:ExternalId` with `StringEquals`"),
    ]);
  });
  it("catches StringLike instead of StringEquals", async () => {
    const found = await messages(id, [crossAccountRole({ condition: { StringLike: { "sts:ExternalId": EXTERNAL_ID } } })]);
    expect(found).toEqual([expect.stringContaining("uses `StringLike`")]);
  });
  it("catches StringLike added next to StringEquals", async () => {
    const condition = { StringEquals: { "sts:ExternalId": EXTERNAL_ID }, StringLike: { "sts:ExternalId": "*" } };
    expect(await messages(id, [crossAccountRole({ condition })])).toEqual([expect.stringContaining("uses `StringLike`")]);
  });
  it("catches a wildcard in the external ID value", async () => {
    const found = await messages(id, [crossAccountRole({ condition: { StringEquals: { "sts:ExternalId": `${EXTERNAL_ID}*` } } })]);
    expect(found).toEqual([expect.stringContaining("wildcard")]);
  });
  it("catches an external ID shorter than 32 characters", async () => {
    const found = await messages(id, [crossAccountRole({ condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID.slice(1) } } })]);
    expect(found).toEqual([expect.stringContaining("31 characters; at least 32")]);
  });
  it("catches a short value hidden in a list of external IDs", async () => {
    const found = await messages(id, [crossAccountRole({ condition: { StringEquals: { "sts:ExternalId": [EXTERNAL_ID, "short"] } } })]);
    expect(found).toEqual([expect.stringContaining("5 characters")]);
  });
  it("reads the condition key case-insensitively (IAM does)", async () => {
    const found = await messages(id, [crossAccountRole({ condition: { StringEquals: { "STS:EXTERNALID": EXTERNAL_ID } } })]);
    expect(found).toEqual([]);
  });
  it("fails closed when the trust policy is not known yet", async () => {
    const role: Planned = { type: "aws:iam/role:Role", name: "r", inputs: { assumeRolePolicy: UNKNOWN } };
    expect(await messages(id, [role])).toEqual([expect.stringContaining("`assumeRolePolicy` is not known until the update runs")]);
  });
  it("catches an unreadable trust policy", async () => {
    const role: Planned = { type: "aws:iam/role:Role", name: "r", inputs: { assumeRolePolicy: "{not json" } };
    expect(await messages(id, [role])).toEqual([expect.stringContaining("not a JSON object")]);
  });
});

describe("aws-iam-cross-account-session-duration", () => {
  const id = "aws-iam-cross-account-session-duration";
  it("accepts a cross-account role with sessions of 3600 seconds", async () => {
    expect(await messages(id, [crossAccountRole()])).toEqual([]);
  });
  it("accepts the AWS default (unset)", async () => {
    expect(await messages(id, [crossAccountRole({ maxSessionDuration: undefined })])).toEqual([]);
  });
  it("accepts long sessions on a role no other account can assume", async () => {
    expect(await messages(id, [EC2_SERVICE_ROLE])).toEqual([]);
  });
  it("catches a cross-account maxSessionDuration above 3600", async () => {
    expect(await messages(id, [crossAccountRole({ maxSessionDuration: 43200 })])).toEqual([
      expect.stringContaining("at most 3600 for a cross-account role; got 43200"),
    ]);
  });
  it("fails closed on an unknown maxSessionDuration", async () => {
    expect(await messages(id, [crossAccountRole({ maxSessionDuration: UNKNOWN })])).toEqual([
      expect.stringContaining("`maxSessionDuration` is not known"),
    ]);
  });
});

describe("aws-iam-no-wildcard-principal", () => {
  const id = "aws-iam-no-wildcard-principal";
  it("accepts a trust naming one role", async () => {
    expect(await messages(id, [crossAccountRole()])).toEqual([]);
  });
  it("accepts a Deny with principal \"*\" (the TLS-only bucket policy)", async () => {
    const policy: Planned = {
      type: "aws:s3/bucketPolicy:BucketPolicy",
      inputs: { bucket: "b", policy: doc({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*" }) },
    };
    expect(await messages(id, [policy])).toEqual([]);
  });
  it('catches Principal: "*" in a role trust', async () => {
    expect(await messages(id, [crossAccountRole({ principal: "*" })])).toEqual([expect.stringContaining('allows the principal "*"')]);
  });
  it('catches Principal: {AWS: "*"} in a role trust', async () => {
    expect(await messages(id, [crossAccountRole({ principal: { AWS: ["*"] } })])).toEqual([expect.stringContaining('principal "*"')]);
  });
  it("catches an Allow to everyone in a bucket policy", async () => {
    const policy: Planned = {
      type: "aws:s3/bucketPolicy:BucketPolicy",
      inputs: { bucket: "b", policy: doc({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }) },
    };
    expect(await messages(id, [policy])).toEqual([expect.stringContaining("`policy` statement 1")]);
  });
  it("catches an Allow to everyone in a KMS key policy", async () => {
    const key: Planned = {
      type: "aws:kms/key:Key",
      inputs: { policy: doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }) },
    };
    expect(await messages(id, [key])).toEqual([expect.stringContaining('principal "*"')]);
  });
});

describe("aws-iam-no-wildcard-actions", () => {
  const id = "aws-iam-no-wildcard-actions";
  it("accepts listed actions, and wildcards in Deny statements", async () => {
    const ok = rolePolicy(
      { Effect: "Allow", Action: ["ec2:Describe*", "ec2:RunInstances"], Resource: "*" },
      { Effect: "Deny", Action: "*", Resource: "*" },
    );
    expect(await messages(id, [ok])).toEqual([]);
  });
  it('catches the action "*"', async () => {
    expect(await messages(id, [rolePolicy({ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" })])).toEqual([
      expect.stringContaining('wildcard action "*"'),
    ]);
  });
  it('catches a whole-service action "iam:*"', async () => {
    expect(await messages(id, [rolePolicy({ Effect: "Allow", Action: ["s3:GetObject", "iam:*"], Resource: "arn:aws:s3:::b" })])).toEqual([
      expect.stringContaining('"iam:*"'),
    ]);
  });
  it("catches NotAction in an Allow", async () => {
    expect(await messages(id, [rolePolicy({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" })])).toEqual([
      expect.stringContaining("`NotAction`"),
    ]);
  });
  it("checks the inline policies of a role", async () => {
    const role: Planned = {
      type: "aws:iam/role:Role",
      inputs: { assumeRolePolicy: EC2_SERVICE_ROLE.inputs.assumeRolePolicy, inlinePolicies: [{ name: "x", policy: doc({ Effect: "Allow", Action: "*", Resource: "*" }) }] },
    };
    expect(await messages(id, [role])).toEqual([expect.stringContaining("`inlinePolicies[0].policy` statement 1")]);
  });
  it("fails closed on a policy document not known yet", async () => {
    const unknown: Planned = { type: "aws:iam/policy:Policy", inputs: { policy: UNKNOWN } };
    expect(await messages(id, [unknown])).toEqual([expect.stringContaining("`policy` is not known")]);
  });
});

describe("aws-iam-no-unscoped-mutating-actions", () => {
  const id = "aws-iam-no-unscoped-mutating-actions";
  it("accepts read-only actions without resource-level permissions on \"*\" and tag-conditioned mutations", async () => {
    const ok = rolePolicy(
      { Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:Describe*", "sts:GetCallerIdentity"], Resource: "*" },
      { Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" } } },
      { Effect: "Allow", Action: "ec2:CreateTags", Resource: "*", Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } } },
      { Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "arn:aws:ec2:*:123456789012:instance/*" },
      { Effect: "Deny", Action: "ec2:TerminateInstances", Resource: "*" },
    );
    expect(await messages(id, [ok])).toEqual([]);
  });
  it('catches a mutating action on Resource "*" without a tag condition', async () => {
    const found = await messages(id, [rolePolicy({ Effect: "Allow", Action: ["ec2:DescribeInstances", "ec2:TerminateInstances"], Resource: "*" })]);
    expect(found).toEqual([expect.stringContaining('"ec2:TerminateInstances" on every resource')]);
  });
  it("does not count a non-scoping condition as a tag condition", async () => {
    const found = await messages(id, [
      rolePolicy({ Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "true" } } }),
    ]);
    expect(found).toHaveLength(1);
  });
  it("catches NotResource (every resource but some)", async () => {
    const found = await messages(id, [rolePolicy({ Effect: "Allow", Action: "s3:DeleteObject", NotResource: "arn:aws:s3:::keep/*" })]);
    expect(found).toEqual([expect.stringContaining('"s3:DeleteObject"')]);
  });
  it("catches NotAction on every resource", async () => {
    const found = await messages(id, [rolePolicy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })]);
    expect(found).toEqual([expect.stringContaining('"NotAction"')]);
  });
});

describe("aws-iam-passrole-requires-passed-to-service", () => {
  const id = "aws-iam-passrole-requires-passed-to-service";
  it("accepts iam:PassRole limited by iam:PassedToService", async () => {
    const ok = rolePolicy({
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: "arn:aws:iam::123456789012:role/claw-cloud/host/*",
      Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
    });
    expect(await messages(id, [ok])).toEqual([]);
  });
  it("catches iam:PassRole without iam:PassedToService", async () => {
    const found = await messages(id, [rolePolicy({ Effect: "Allow", Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/x" })]);
    expect(found).toEqual([expect.stringContaining("without an `iam:PassedToService` condition")]);
  });
  it("catches iam:PassRole granted through a pattern (iam:Pass*)", async () => {
    const found = await messages(id, [rolePolicy({ Effect: "Allow", Action: "iam:Pass*", Resource: "arn:aws:iam::123456789012:role/x" })]);
    expect(found).toHaveLength(1);
  });
});

describe("aws-iam-no-admin-managed-policies", () => {
  const id = "aws-iam-no-admin-managed-policies";
  const role: Planned = { ...EC2_SERVICE_ROLE, inputs: { ...EC2_SERVICE_ROLE.inputs, name: "host-role" } };
  it("accepts a customer-managed policy and narrow AWS-managed ones", async () => {
    const attachments: Planned[] = [
      { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", inputs: { role: "host-role", policyArn: "arn:aws:iam::123456789012:policy/claw-host" } },
      { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", inputs: { role: "host-role", policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" } },
    ];
    expect(await messages(id, [role, ...attachments])).toEqual([]);
  });
  it("catches AdministratorAccess attached to a role", async () => {
    const attachment: Planned = {
      type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      name: "admin",
      inputs: { role: "host-role", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" },
    };
    expect(await messages(id, [role, attachment])).toEqual([expect.stringContaining("`AdministratorAccess` to role `host-role`")]);
  });
  it("catches PowerUserAccess attached to a user", async () => {
    const attachment: Planned = {
      type: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
      inputs: { user: "ci", policyArn: "arn:aws:iam::aws:policy/PowerUserAccess" },
    };
    expect(await messages(id, [attachment])).toEqual([expect.stringContaining("`PowerUserAccess` to `ci`")]);
  });
  it("catches IAMFullAccess in a role's managedPolicyArns", async () => {
    const withManaged: Planned = { ...role, inputs: { ...role.inputs, managedPolicyArns: ["arn:aws:iam::aws:policy/IAMFullAccess"] } };
    expect(await messages(id, [withManaged])).toEqual([expect.stringContaining("`IAMFullAccess`")]);
  });
  it("catches AdministratorAccess in the GovCloud partition", async () => {
    const attachment: Planned = {
      type: "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
      inputs: { group: "ops", policyArn: "arn:aws-us-gov:iam::aws:policy/AdministratorAccess" },
    };
    expect(await messages(id, [attachment])).toHaveLength(1);
  });
  it("fails closed on an attachment whose policy ARN is not known yet", async () => {
    const attachment: Planned = { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", inputs: { role: "host-role", policyArn: UNKNOWN } };
    expect(await messages(id, [role, attachment])).toEqual([expect.stringContaining("`policyArn` is not known")]);
  });
});

/** Issue 19, class 3: a condition that looks like a tag condition but scopes nothing. */
describe("aws-iam-no-unscoped-mutating-actions: the condition must bind ManagedBy to claw-cloud", () => {
  const id = "aws-iam-no-unscoped-mutating-actions";
  const terminate = (Condition: Record<string, unknown>) => rolePolicy({ Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "*", Condition });
  it("accepts StringEquals on aws:ResourceTag/ManagedBy, aws:RequestTag/ManagedBy or ec2:ResourceTag/ManagedBy = claw-cloud", async () => {
    const ok = [
      terminate({ StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" } }),
      terminate({ StringEquals: { "aws:RequestTag/ManagedBy": ["claw-cloud"] } }),
      terminate({ StringEquals: { "ec2:ResourceTag/ManagedBy": "claw-cloud" } }),
      // Another condition beside the binding one only narrows further (conditions are ANDed).
      terminate({ StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" }, Null: { "aws:ResourceTag/Team": "false" } }),
    ];
    expect(await messages(id, ok)).toEqual([]);
  });
  it.each([
    ["another tag key", { StringEquals: { "aws:ResourceTag/Team": "claw-cloud" } }],
    ["ManagedBy with another value", { StringEquals: { "aws:ResourceTag/ManagedBy": "someone-else" } }],
    ["ManagedBy with claw-cloud or another value", { StringEquals: { "aws:ResourceTag/ManagedBy": ["claw-cloud", "ops"] } }],
    ["ManagedBy StringLike \"*\" (any value)", { StringLike: { "aws:ResourceTag/ManagedBy": "*" } }],
    ["ManagedBy StringLike with a wildcard", { StringLike: { "aws:ResourceTag/ManagedBy": "claw-*" } }],
    ["ManagedBy only required to exist (Null false)", { Null: { "aws:ResourceTag/ManagedBy": "false" } }],
    ["StringEqualsIfExists (a missing tag matches)", { StringEqualsIfExists: { "aws:ResourceTag/ManagedBy": "claw-cloud" } }],
    ["ForAllValues:StringEquals (an empty set matches)", { "ForAllValues:StringEquals": { "aws:RequestTag/ManagedBy": "claw-cloud" } }],
    ["StringNotEquals (everything else)", { StringNotEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" } }],
    ["aws:TagKeys naming ManagedBy", { "ForAnyValue:StringEquals": { "aws:TagKeys": ["ManagedBy"] } }],
    ["ec2:CreateAction with a wildcard", { StringLike: { "ec2:CreateAction": "*" } }],
  ])("catches %s", async (_what, condition) => {
    expect(await messages(id, [terminate(condition)])).toEqual([expect.stringContaining('"ec2:TerminateInstances" on every resource without a `StringEquals` condition')]);
  });
});
