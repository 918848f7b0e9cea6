/**
 * The engine-free reviewer: exemptions, unknown values, and reading both plan
 * formats (the synth JSON and `pulumi preview --json`).
 */
import { describe, expect, it } from "vitest";
import { ReviewInputError, reviewResources, ruleConfigFromStackConfig, type ReviewResource } from "../../policies/review";
import { parseReviewDocument } from "../../policies/lib/plan-input";
import { UNKNOWN, nextYear, rule, violations } from "./support";
import type { StackValidationArgs } from "@pulumi/policy";

const UNENCRYPTED: ReviewResource = { type: "aws:ebs/volume:Volume", name: "scratch", urn: "urn:pulumi:test::clawstack::aws:ebs/volume:Volume::scratch", inputs: { encrypted: false } };
const OTHER: ReviewResource = { type: "aws:ebs/volume:Volume", name: "other", inputs: { encrypted: false } };
const exemption = { policy: "aws-ebs-encrypted", resource: "scratch", reason: "Scratch volume holding only public build caches.", expires: nextYear() };

describe("exemptions", () => {
  it("a valid exemption silences its rule on the named resource only", async () => {
    const report = await reviewResources([UNENCRYPTED, OTHER], { config: { policyExemptions: [exemption] } });
    const ebs = report.violations.filter((v) => v.policy === "aws-ebs-encrypted");
    expect(ebs.map((v) => v.resourceName)).toEqual(["other"]);
    expect(report.violations.filter((v) => v.policy === "stack-exemptions-valid")).toEqual([]);
  });
  it("may name the resource by URN", async () => {
    const found = await violations("aws-ebs-encrypted", [UNENCRYPTED], { policyExemptions: [{ ...exemption, resource: UNENCRYPTED.urn }] });
    expect(found).toEqual([]);
  });
  it("does not silence another rule on the same resource", async () => {
    const found = await violations("aws-managed-by-tag", [UNENCRYPTED], { policyExemptions: [exemption] });
    expect(found).toHaveLength(1);
  });
  it("silences a stack rule's violation on the named resource", async () => {
    const disk = { type: "gcp:compute/disk:Disk", name: "scratch-disk", inputs: {} };
    const config = { policyExemptions: [{ ...exemption, policy: "stack-state-disk-snapshot-schedule", resource: "scratch-disk" }] };
    expect(await violations("stack-state-disk-snapshot-schedule", [disk], config)).toEqual([]);
  });
  it("a reason under 20 characters silences nothing and is itself a mandatory violation", async () => {
    const report = await reviewResources([UNENCRYPTED], { config: { policyExemptions: [{ ...exemption, reason: "temporary" }] } });
    const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy);
    expect(mandatory.sort()).toEqual(["aws-ebs-encrypted", "aws-managed-by-tag", "stack-exemptions-valid", "stack-state-disk-snapshot-schedule"]);
    expect(report.summary.mandatory).toBe(4);
  });
  it("an expired exemption silences nothing and is itself a violation", async () => {
    const report = await reviewResources([UNENCRYPTED], { config: { policyExemptions: [{ ...exemption, expires: "2021-06-30" }] } });
    expect(report.violations.map((v) => v.policy)).toContain("aws-ebs-encrypted");
    expect(report.violations.find((v) => v.policy === "stack-exemptions-valid")?.message).toContain("is in the past");
  });
  it("an exemption naming an unknown rule is unusable input for the reviewer", () => {
    expect(() => ruleConfigFromStackConfig({ policyExemptions: [{ ...exemption, policy: "aws-no-such-rule" }] })).toThrow(ReviewInputError);
    expect(() => ruleConfigFromStackConfig({ policyExemptions: [{ ...exemption, policy: "aws-no-such-rule" }] })).toThrow(
      /`clawstack:policyExemptions\[0\]\.policy` must name a rule of the pack.*"aws-no-such-rule"/,
    );
  });
  it("exemptions that are not a list are unusable input", () => {
    expect(() => ruleConfigFromStackConfig({ policyExemptions: { policy: "x" } })).toThrow(/must be a list/);
  });
  it("under the engine (no reviewer in front), stack-exemptions-valid reports an unknown rule itself", async () => {
    const stackRule = rule("stack-exemptions-valid");
    if (!("validateStack" in stackRule)) throw new Error("stack-exemptions-valid must be a stack rule");
    const reported: string[] = [];
    const args: StackValidationArgs = {
      resources: [],
      stackTags: new Map(),
      getConfig: <T extends object>() => ({ exemptions: [{ ...exemption, policy: "aws-no-such-rule" }] }) as unknown as T,
      notApplicable: () => {
        throw new Error("not applicable");
      },
    };
    await stackRule.validateStack(args, (message) => reported.push(message));
    expect(reported).toEqual([expect.stringContaining("`policy` names no rule of this pack")]);
  });
});

describe("unknown values", () => {
  it("a mandatory rule reports an unknown value it needs as a violation naming the property", async () => {
    const found = await violations("aws-ebs-encrypted", [{ type: "aws:ebs/volume:Volume", name: "v", inputs: { encrypted: UNKNOWN } }]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["mandatory", expect.stringMatching(/^`encrypted` is not known until the update runs; this rule fails closed/)],
    ]);
  });
  it("the synth's \"[unknown]\" counts the same as the engine's sentinel", async () => {
    const found = await violations("aws-ebs-encrypted", [{ type: "aws:ebs/volume:Volume", name: "v", inputs: { encrypted: "[unknown]" } }]);
    expect(found).toHaveLength(1);
  });
  it("an advisory rule marked `skip` ignores an unknown value", async () => {
    expect(await violations("stack-ownership-tags", [{ type: "aws:kms/key:Key", name: "k", inputs: { tags: UNKNOWN } }])).toEqual([]);
  });
  it("a value the rule does not read may stay unknown", async () => {
    const volume = { type: "aws:ebs/volume:Volume", name: "v", inputs: { encrypted: true, kmsKeyId: UNKNOWN } };
    expect(await violations("aws-ebs-encrypted", [volume])).toEqual([]);
  });
});

describe("reading plans", () => {
  it("reads the synth JSON", () => {
    const input = parseReviewDocument(
      JSON.stringify({
        stack: "do-example",
        resources: [{ type: "digitalocean:index/droplet:Droplet", name: "d", parent: "urn:pulumi:do-example::clawstack::pulumi:pulumi:Stack::clawstack-do-example", urn: "urn:x", inputs: { backups: true } }],
        outputs: {},
      }),
      "plan.json",
    );
    expect(input).toEqual({
      format: "synth",
      stack: "do-example",
      config: {},
      resources: [{ type: "digitalocean:index/droplet:Droplet", name: "d", parent: "urn:pulumi:do-example::clawstack::pulumi:pulumi:Stack::clawstack-do-example", urn: "urn:x", inputs: { backups: true } }],
    });
  });

  const stackUrn = "urn:pulumi:prod::clawstack::pulumi:pulumi:Stack::clawstack-prod";
  const volumeUrn = "urn:pulumi:prod::clawstack::aws:ebs/volume:Volume::state";
  const preview = {
    config: { "aws:region": "eu-west-1", "clawstack:gatewayCidrs": '["203.0.113.0/24"]', "clawstack:cloud": "aws", "clawstack:gatewayToken": "[secret]" },
    steps: [
      { op: "create", urn: stackUrn, newState: { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", inputs: {}, outputs: {} } },
      { op: "create", urn: "urn:pulumi:prod::clawstack::pulumi:providers:aws::default_7_0_0", newState: { urn: "urn:pulumi:prod::clawstack::pulumi:providers:aws::default_7_0_0", custom: true, type: "pulumi:providers:aws", inputs: { region: "eu-west-1" } } },
      {
        op: "create",
        urn: volumeUrn,
        provider: "urn:pulumi:prod::clawstack::pulumi:providers:aws::default_7_0_0::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        newState: { urn: volumeUrn, custom: true, type: "aws:ebs/volume:Volume", inputs: { encrypted: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", size: 20 }, parent: stackUrn, dependencies: [], propertyDependencies: { encrypted: [] } },
        detailedDiff: null,
      },
      { op: "same", urn: "urn:pulumi:prod::clawstack::aws:kms/key:Key::k", newState: { urn: "urn:pulumi:prod::clawstack::aws:kms/key:Key::k", type: "aws:kms/key:Key", inputs: { tags: { ManagedBy: "claw-cloud" } }, parent: stackUrn } },
      { op: "delete", urn: "urn:pulumi:prod::clawstack::aws:ec2/keyPair:KeyPair::old", oldState: { urn: "urn:pulumi:prod::clawstack::aws:ec2/keyPair:KeyPair::old", type: "aws:ec2/keyPair:KeyPair", inputs: {} } },
    ],
    diagnostics: [],
    duration: 1200000000,
    changeSummary: { create: 3, same: 1, delete: 1 },
  };

  it("reads `pulumi preview --json`: the new state of every step that keeps a resource, without engine resources", () => {
    const input = parseReviewDocument(JSON.stringify(preview), "preview.json");
    expect(input.format).toBe("preview");
    expect(input.stack).toBe("prod");
    expect(input.resources.map((r) => [r.type, r.name])).toEqual([
      ["aws:ebs/volume:Volume", "state"],
      ["aws:kms/key:Key", "k"],
    ]);
    expect(input.resources[0]!.propertyDependencies).toEqual({ encrypted: [] });
  });
  it("takes the stack's clawstack config from the preview, decoding JSON values", () => {
    const input = parseReviewDocument(JSON.stringify(preview), "preview.json");
    expect(input.config).toEqual({ gatewayCidrs: ["203.0.113.0/24"], cloud: "aws", gatewayToken: "[secret]" });
  });
  it("reviews a preview: the engine's unknown sentinel fails closed", async () => {
    const input = parseReviewDocument(JSON.stringify(preview), "preview.json");
    const report = await reviewResources(input.resources, { stack: input.stack, config: input.config });
    const ebs = report.violations.find((v) => v.policy === "aws-ebs-encrypted");
    expect(ebs).toMatchObject({ resourceName: "state", resourceType: "aws:ebs/volume:Volume", message: expect.stringContaining("`encrypted` is not known") });
  });

  it.each([
    ["not JSON", "{", /plan\.json is not valid JSON/],
    ["a list", "[]", /must hold a JSON object/],
    ["neither format", '{"foo": 1}', /neither `resources` nor `steps`/],
    ["resources not a list", '{"resources": {}}', /`resources` must be a list/],
    ["a resource without a type", '{"resources": [{"name": "a", "inputs": {}}]}', /`resources\[0\]\.type` must be a Pulumi type token/],
    ["a resource without a name", '{"resources": [{"type": "aws:kms/key:Key", "inputs": {}}]}', /`resources\[0\]\.name`/],
    ["inputs that are not an object", '{"resources": [{"type": "aws:kms/key:Key", "name": "k", "inputs": "x"}]}', /`resources\[0\]\.inputs` must be an object/],
    ["a create step without newState", '{"steps": [{"op": "create", "urn": "urn:pulumi:s::p::t::n"}]}', /`steps\[0\]\.newState` must be the planned resource state/],
    ["a step without op", '{"steps": [{"urn": "u"}]}', /`steps\[0\]\.op`/],
  ])("rejects %s with a message naming the field", (_what, text, message) => {
    expect(() => parseReviewDocument(text, "plan.json")).toThrow(ReviewInputError);
    expect(() => parseReviewDocument(text, "plan.json")).toThrow(message);
  });
});

describe("the stack config the rules see", () => {
  it("turns snapshots off only for snapshots: {enabled: false} written out", () => {
    expect(ruleConfigFromStackConfig({ snapshots: { enabled: false } }).snapshotsEnabled).toBe(false);
    for (const config of [{}, { snapshots: { enabled: true } }, { snapshots: {} }, { snapshots: false }, { snapshots: { enabled: "false" } }]) {
      expect(ruleConfigFromStackConfig(config).snapshotsEnabled, JSON.stringify(config)).toBe(true);
    }
  });
  it("takes the firmware publisher from publisherRoleArn (AWS) or publisherMember (GCP); none by default", () => {
    expect(ruleConfigFromStackConfig({ publisherRoleArn: "arn:aws:iam::123456789012:role/p" }).firmwarePublishers).toEqual(["arn:aws:iam::123456789012:role/p"]);
    expect(ruleConfigFromStackConfig({ publisherMember: "serviceAccount:p@x.iam.gserviceaccount.com" }).firmwarePublishers).toEqual([
      "serviceAccount:p@x.iam.gserviceaccount.com",
    ]);
    expect(ruleConfigFromStackConfig({}).firmwarePublishers).toEqual([]);
  });
});
