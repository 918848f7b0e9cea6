import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../core/errors.js";
import { MACHINE_SIZES } from "../../../core/presets.js";
import { resolveAwsProvisionerRoleArgs } from "../../../components/access/aws-args.js";
import {
  ACCESS_PROFILES,
  AWS_PROVISIONER_PERMISSIONS,
  awsPermissionsForProfile,
} from "../../../components/access/aws-permissions.js";
import { allowedActions, DEFAULT_IMAGE_OWNERS, type PolicyDocument, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import { awsAccessKind } from "../../../components/access/kinds.js";
import { reviewResources } from "../../../policies/review.js";
import { synthConfig } from "../../../program/synth.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { synthHost } from "../host/support.js";
import { type AuthorizationRequest, policyAllows } from "./permissions-eval.js";
import { unscopedMutations } from "./policy-shape.js";

/**
 * The `aws-access` stack's `accessProfile`: `standard` renders exactly the
 * policy it always did; `strict` allows `ec2:ModifyInstanceAttribute` only as a
 * resize to a host instance type (no user-data change in place) and lets
 * `ec2:AttachVolume` take only volumes named `<host>-state`, which is what the
 * AWS host names its state volume (checked against a synthesized host below).
 */

const ACCOUNT = "123456789012";
const render = (table = AWS_PROVISIONER_PERMISSIONS): PolicyDocument =>
  renderPermissionsPolicy({ partition: "aws", accountId: ACCOUNT, imageOwners: DEFAULT_IMAGE_OWNERS, table });
const standard = render(awsPermissionsForProfile("standard"));
const strict = render(awsPermissionsForProfile("strict"));

const VOLUME = `arn:aws:ec2:eu-west-1:${ACCOUNT}:volume/vol-0123456789abcdef0`;
const INSTANCE = `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0123456789abcdef0`;
const tagged = (tags: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value]));
const request = (action: string, resource: string, tags: Record<string, string>): AuthorizationRequest => ({
  action,
  resource,
  context: tagged(tags),
});

const VALID = {
  provisionerRoleArn: "arn:aws:iam::111122223333:role/claw-cloud-provisioner",
  externalId: "a".repeat(48),
  accountId: ACCOUNT,
};

describe("accessProfile: standard", () => {
  it("is the unchanged policy (the table itself, rendered the same)", () => {
    expect(awsPermissionsForProfile("standard")).toBe(AWS_PROVISIONER_PERMISSIONS);
    expect(standard).toEqual(render());
    expect(allowedActions(standard)).toContain("ec2:ModifyInstanceAttribute");
  });
});

describe("accessProfile: strict", () => {
  it("grants ec2:ModifyInstanceAttribute only as a resize to a host instance type, never a user-data change", () => {
    const managed = { ManagedBy: "claw-cloud" };
    // A user-data change carries no ec2:Attribute/InstanceType: refused (standard allows it).
    expect(policyAllows(standard, request("ec2:ModifyInstanceAttribute", INSTANCE, managed))).toBe(true);
    expect(policyAllows(strict, request("ec2:ModifyInstanceAttribute", INSTANCE, managed))).toBe(false);
    const resize = (type: string, tags: Record<string, string>): AuthorizationRequest => ({
      action: "ec2:ModifyInstanceAttribute",
      resource: INSTANCE,
      context: { ...tagged(tags), "ec2:Attribute/InstanceType": type },
    });
    for (const size of Object.values(MACHINE_SIZES.aws)) expect(policyAllows(strict, resize(size.machineType, managed))).toBe(true);
    expect(policyAllows(strict, resize("p5.48xlarge", managed))).toBe(false);
    expect(policyAllows(strict, resize("t3.small", {}))).toBe(false);
    const statement = strict.Statement.filter((s) => [s.Action].flat().includes("ec2:ModifyInstanceAttribute"));
    expect(statement).toEqual([
      {
        Sid: "ModifyInstanceOnlyToResize",
        Effect: "Allow",
        Action: ["ec2:ModifyInstanceAttribute"],
        Resource: [`arn:aws:ec2:*:${ACCOUNT}:instance/*`],
        Condition: { StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud", "ec2:Attribute/InstanceType": ["t3.large", "t3.medium", "t3.small"] } },
      },
    ]);
  });

  it("keeps every action of the standard profile (the two narrowed ones under tighter conditions)", () => {
    expect([...new Set(allowedActions(strict))].sort()).toEqual([...new Set(allowedActions(standard))].sort());
  });

  it("changes no IAM, SSM or DLM statement, so the IAM create checks (provisioner-creates.test.ts) hold for it unchanged", () => {
    // Compared without Sids: those are numbered per scope, and strict has one ec2 statement fewer in one scope.
    const nonEc2 = (policy: PolicyDocument) =>
      policy.Statement.filter((statement) => [statement.Action].flat().every((action) => !String(action).startsWith("ec2:"))).map(
        ({ Sid: _sid, ...rest }) => rest,
      );
    expect(nonEc2(strict)).toEqual(nonEc2(standard));
    expect(nonEc2(strict).length).toBeGreaterThan(5);
  });

  it("puts ec2:AttachVolume and ec2:DetachVolume on volumes in one statement, conditioned on ManagedBy and a -state Name", () => {
    const onVolumes = strict.Statement.filter(
      (statement) =>
        [statement.Action].flat().some((action) => action === "ec2:AttachVolume" || action === "ec2:DetachVolume") &&
        [statement.Resource].flat().some((resource) => String(resource).includes(":volume/")),
    );
    expect(onVolumes).toEqual([
      {
        Sid: "AttachOnlyStateVolumes",
        Effect: "Allow",
        Action: ["ec2:AttachVolume", "ec2:DetachVolume"],
        Resource: [`arn:aws:ec2:*:${ACCOUNT}:volume/*`],
        Condition: { StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" }, StringLike: { "aws:ResourceTag/Name": "*-state" } },
      },
    ]);
    expect(unscopedMutations(strict)).toEqual([]);
  });

  it("attaches a ClawStack state volume to a ClawStack instance, and refuses a root volume or an untagged one", () => {
    const state = { ManagedBy: "claw-cloud", Name: "claw-state" };
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, state))).toBe(true);
    expect(policyAllows(strict, request("ec2:AttachVolume", INSTANCE, { ManagedBy: "claw-cloud", Name: "claw" }))).toBe(true);
    // Another host's root volume: standard allows the attach, strict does not.
    const root = { ManagedBy: "claw-cloud", Name: "claw-root" };
    expect(policyAllows(standard, request("ec2:AttachVolume", VOLUME, root))).toBe(true);
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, root))).toBe(false);
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, { Name: "claw-state" }))).toBe(false);
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, { ManagedBy: "claw-cloud" }))).toBe(false);
    expect(policyAllows(strict, request("ec2:AttachVolume", INSTANCE, {}))).toBe(false);
    // Detaching: the state volume (a replacement moves it to the new instance), never a root volume.
    expect(policyAllows(strict, request("ec2:DetachVolume", VOLUME, state))).toBe(true);
    expect(policyAllows(strict, request("ec2:DetachVolume", INSTANCE, { ManagedBy: "claw-cloud", Name: "claw" }))).toBe(true);
    expect(policyAllows(standard, request("ec2:DetachVolume", VOLUME, root))).toBe(true);
    expect(policyAllows(strict, request("ec2:DetachVolume", VOLUME, root))).toBe(false);
  });
});

describe("accessProfile: strict against the AWS host it must still deploy", () => {
  let stack: SynthResult;
  beforeAll(async () => {
    stack = await synthHost("aws");
  });

  it("allows attaching the state volume the host registers, to the host's instance, by their own tags", () => {
    const attachment = stack.resources.find((resource) => resource.type === "aws:ec2/volumeAttachment:VolumeAttachment");
    const volume = stack.resources.find((resource) => resource.type === "aws:ebs/volume:Volume");
    const instance = stack.resources.find((resource) => resource.type === "aws:ec2/instance:Instance");
    expect(attachment && volume && instance).toBeTruthy();
    const volumeTags = volume!.inputs.tags as Record<string, string>;
    const instanceTags = instance!.inputs.tags as Record<string, string>;
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, volumeTags))).toBe(true);
    expect(policyAllows(strict, request("ec2:AttachVolume", INSTANCE, instanceTags))).toBe(true);
    // The root volume's tags (the instance's volumeTags) do not pass.
    expect(policyAllows(strict, request("ec2:AttachVolume", VOLUME, instance!.inputs.volumeTags as Record<string, string>))).toBe(false);
  });

  it("never needs ModifyInstanceAttribute for boot-code changes: user data is ignored on update, the fingerprint replaces", () => {
    const instance = stack.resources.find((resource) => resource.type === "aws:ec2/instance:Instance")!;
    expect(instance.inputs.userDataReplaceOnChange).toBe(false);
  });
});

describe("accessProfile validation", () => {
  it("accepts both profiles and defaults to standard", () => {
    for (const accessProfile of ACCESS_PROFILES) expect(resolveAwsProvisionerRoleArgs({ ...VALID, accessProfile }).accessProfile).toBe(accessProfile);
    expect(resolveAwsProvisionerRoleArgs(VALID).accessProfile).toBe("standard");
  });

  it("refuses another value, naming the field and the allowed values", () => {
    const bad = () => resolveAwsProvisionerRoleArgs({ ...VALID, accessProfile: "paranoid" as never });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/`accessProfile` must be one of `standard`, `strict`; got "paranoid"/);
  });

  it("is a key of the aws-access stack config, checked there too", () => {
    expect(awsAccessKind.parse({ kind: "aws-access", ...VALID, accessProfile: "strict" }).accessProfile).toBe("strict");
    expect(() => awsAccessKind.parse({ kind: "aws-access", ...VALID, accessProfile: "lax" })).toThrow(/accessProfile/);
    expect(() => awsAccessKind.parse({ kind: "aws-access", ...VALID, accessProfile: 1 })).toThrow(/`accessProfile` must be a string/);
  });
});

describe("accessProfile through the aws-access stack kind (synthesized under mocks)", () => {
  async function inlinePolicy(overrides: Record<string, unknown>): Promise<PolicyDocument> {
    const result = await synthConfig("access-profile-test", { kind: "aws-access", ...VALID, ...overrides });
    const inline = result.resources.find((resource) => resource.type === "aws:iam/rolePolicy:RolePolicy");
    if (!inline) throw new Error("the aws-access kind registered no inline policy");
    return JSON.parse(String(inline.inputs.policy)) as PolicyDocument;
  }

  it("deploys the strict policy with accessProfile: strict, and the standard one without the key", async () => {
    expect(await inlinePolicy({ accessProfile: "strict" })).toEqual(strict);
    expect(await inlinePolicy({})).toEqual(standard);
    expect(await inlinePolicy({ accessProfile: "standard" })).toEqual(standard);
  });

  it("refuses a bad value before anything is registered, naming the key", async () => {
    const error = await synthConfig("access-profile-test", { kind: "aws-access", ...VALID, accessProfile: "Strict" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("accessProfile");
    expect((error as ConfigError).message).toMatch(/one of `standard`, `strict`/);
  });

  it("still fits AWS's 10,240-character inline policy limit (longest partition, no whitespace)", () => {
    const policy = renderPermissionsPolicy({
      partition: "aws-us-gov",
      accountId: ACCOUNT,
      imageOwners: DEFAULT_IMAGE_OWNERS,
      table: awsPermissionsForProfile("strict"),
    });
    expect(JSON.stringify(policy).length).toBeLessThan(10_240);
  });
});

describe("accessProfile and the CrossGuard policy pack", () => {
  it.each(ACCESS_PROFILES)("the aws-access stack with accessProfile: %s has no mandatory violation", async (accessProfile) => {
    const config = { kind: "aws-access", ...VALID, accessProfile };
    const { resources } = await synthConfig("access-profile-review", config);
    const report = await reviewResources(resources, { stack: "access-profile-review", config });
    expect(report.summary.resources).toBeGreaterThan(0);
    const mandatory = report.violations.filter((violation) => violation.enforcementLevel === "mandatory");
    expect(mandatory.map((violation) => `${violation.policy}: ${violation.message}`)).toEqual([]);
  });
});
