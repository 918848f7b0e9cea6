import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { awsDlmSchedule } from "../../../components/snapshots/schedule.js";
import { preflight, type PreflightFinding } from "../../../program/preflight/check.js";
import { select, violation } from "../../../program/preflight/constraint.js";
import { PREFLIGHT_RULES } from "../../../program/preflight/rules.js";
import { synthConfig, synthStack } from "../../../program/synth.js";
import type { SynthResult } from "../../../program/synth-types.js";
import { readStackConfig } from "../../../program/stack-config.js";

/**
 * Preflight against the clouds' own API constraints: the example stacks and
 * a variant of each with every optional feature on pass with zero findings,
 * and a plan that breaks a real constraint (the DLM schedule name issue 14
 * found, and more than ten others, one per case) is caught, naming the
 * resource, the field, the value, the rule and its source.
 */

const EXAMPLES = ["aws-example", "do-example", "gcp-example"] as const;
const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl owner@laptop";
const TOKEN = "a-gateway-token-given-as-a-pulumi-secret-0123456789";
const BUNDLE_URL = "https://artifacts.example.com/clawchat/0.1.0/clawchat.js";

/** Every optional feature on, per cloud: SSH, ClawChat, networks, a KMS key, a gateway token, a boundary, restore, weekly snapshots. */
export const EVERYTHING_ON: Record<(typeof EXAMPLES)[number], Record<string, unknown>> = {
  "aws-example": {
    sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] },
    clawchatClientCidrs: ["198.51.100.0/24"],
    clawchat: { install: "fetch", bundleUrl: BUNDLE_URL },
    vpcId: "vpc-0123456789abcdef0",
    subnetId: "subnet-0123456789abcdef0",
    awsKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-4000-8000-000000000000",
    gatewayToken: TOKEN,
    awsPermissionsBoundaryArn: "arn:aws:iam::123456789012:policy/claw-cloud/claw-cloud-workload-boundary",
    restoreFromSnapshot: "snap-0123456789abcdef0",
    image: "ubuntu-24.04",
  },
  "do-example": {
    sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] },
    clawchat: { install: "embedded" },
    vpcUuid: "5a4981aa-9653-4bd1-bef5-d6bff52042e4",
    restoreFromSnapshot: "4f60fc64-85d1-11e6-a004-000f53315871",
    snapshots: { frequency: "weekly", weekday: "SAT", hourUtc: 20, retain: 4 },
  },
  "gcp-example": {
    sshAccess: { publicKey: SSH_KEY, cidrs: ["192.0.2.7/32"] },
    clawchatClientCidrs: ["198.51.100.0/24"],
    clawchat: { install: "embedded" },
    network: "projects/example-openclaw-project/global/networks/claw-vpc",
    subnetwork: "projects/example-openclaw-project/regions/europe-west1/subnetworks/claw-subnet",
    gatewayToken: TOKEN,
    restoreFromSnapshot: "openclaw-state-20260101",
    snapshots: { frequency: "weekly", weekday: "SAT", hourUtc: 20, retain: 4 },
  },
};

function describeFindings(findings: PreflightFinding[]): string {
  return findings.map((finding) => `${finding.resource} ${finding.field}=${JSON.stringify(finding.value)}: ${finding.problem}`).join("\n");
}

describe("the example stacks pass preflight", () => {
  for (const stack of EXAMPLES) {
    it(`${stack}: zero findings, and values were really checked`, async () => {
      const report = preflight(await synthStack(stack));
      expect(report.findings, describeFindings(report.findings)).toEqual([]);
      expect(report.checked).toBeGreaterThan(15);
    });

    it(`${stack} with every optional feature on: zero findings, and no default network assumed`, async () => {
      const result = await synthConfig(stack, { ...readStackConfig(stack), ...EVERYTHING_ON[stack] });
      const report = preflight(result);
      expect(report.findings, describeFindings(report.findings)).toEqual([]);
      expect(report.notes).toEqual([]);
    });
  }

  // The access and firmware examples already set each of their options; the one they leave out is turned on here.
  const OTHER_EXAMPLES: Record<string, Record<string, unknown>> = {
    "aws-access-example": {},
    "gcp-access-example": {},
    "aws-firmware-example": {},
    "gcp-firmware-example": {},
    "do-firmware-example": { noncurrentVersionExpirationDays: 730 },
  };
  it("every other example stack in stacks/ (access, firmware), as given and with its options on: zero findings", async () => {
    const stacks = readdirSync(join(__dirname, "../../../stacks")).map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1]).filter((name) => name !== undefined);
    expect(stacks.sort()).toEqual([...EXAMPLES, ...Object.keys(OTHER_EXAMPLES)].sort());
    for (const [stack, options] of Object.entries(OTHER_EXAMPLES)) {
      for (const config of [readStackConfig(stack), { ...readStackConfig(stack), ...options }]) {
        const report = preflight(await synthConfig(stack, config));
        expect(report.findings, `${stack}: ${describeFindings(report.findings)}`).toEqual([]);
        if (stack !== "do-firmware-example") expect(report.checked, stack).toBeGreaterThan(0);
      }
    }
  });

  it("says which default network a plan assumes when no network is given", async () => {
    for (const stack of EXAMPLES) {
      const { notes } = preflight(await synthStack(stack));
      expect(notes, stack).toHaveLength(1);
      expect(notes[0], stack).toMatch(/default`? (VPC|network)/);
    }
  });
});

/** A copy of `result` with one input of one resource type replaced. */
function mutate(result: SynthResult, type: string, change: (inputs: Record<string, unknown>) => void): SynthResult {
  let changed = false;
  const resources = result.resources.map((resource) => {
    if (resource.type !== type || changed) return resource;
    changed = true;
    const inputs = structuredClone(resource.inputs);
    change(inputs);
    return { ...resource, inputs };
  });
  if (!changed) throw new Error(`no ${type} in the plan`);
  return { ...result, resources };
}

describe("preflight catches what the clouds' APIs refuse", () => {
  const plans: Record<string, SynthResult> = {};
  beforeAll(async () => {
    for (const stack of EXAMPLES) plans[stack] = await synthConfig(stack, { ...readStackConfig(stack), ...EVERYTHING_ON[stack] });
  });

  it("the DLM schedule name issue 14 found (`weekly at 04:00 UTC, keep 8`), naming resource, field, value, rule and source", () => {
    const broken = mutate(plans["aws-example"]!, "aws:dlm/lifecyclePolicy:LifecyclePolicy", (inputs) => {
      (inputs.policyDetails as { schedules: { name: string }[] }).schedules[0]!.name = "weekly at 04:00 UTC, keep 8";
    });
    expect(preflight(broken).findings).toEqual([
      {
        resource: "aws:dlm/lifecyclePolicy:LifecyclePolicy openclaw-aws-snapshots-state",
        field: "policyDetails.schedules[0].name",
        value: "weekly at 04:00 UTC, keep 8",
        rule: "aws.dlm.ScheduleName",
        problem: "must match [0-9A-Za-z _-]+",
        source: expect.stringMatching(/^botocore dlm\/2018-01-12\/service-2\.json shape ScheduleName \(python3-botocore /),
      },
    ]);
    // And the names the component builds now pass the same rule.
    const rule = PREFLIGHT_RULES.find((entry) => entry.id === "aws.dlm.ScheduleName")!;
    expect(violation(rule.constraint, awsDlmSchedule({ enabled: true, frequency: "weekly", weekday: "SUN", hourUtc: 4, retain: 8 }).name)).toBeUndefined();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case changes provider inputs of a different resource type
  type Case = [what: string, stack: (typeof EXAMPLES)[number], type: string, change: (inputs: Record<string, any>) => void, rule: string, field: string];
  const cases: Case[] = [
    ["an IAM role path without its slashes", "aws-example", "aws:iam/role:Role", (i) => (i.path = "claw-cloud/host"), "aws.iam.pathType", "path"],
    ["an IAM tag value with a semicolon", "aws-example", "aws:iam/role:Role", (i) => (i.tags.env = "a;b"), "aws.iam.tagValueType", "tags.env"],
    ["an IAM role description with a control character", "aws-example", "aws:iam/role:Role", (i) => (i.description = "bell\u0007"), "aws.iam.roleDescriptionType", "description"],
    ["an SSM parameter type that does not exist", "aws-example", "aws:ssm/parameter:Parameter", (i) => (i.type = "Secure"), "aws.ssm.ParameterType", "type"],
    ["an empty SSM tag value", "aws-example", "aws:ssm/parameter:Parameter", (i) => (i.tags.env = ""), "aws.ssm.TagValue", "tags.env"],
    ["an EC2 instance type that does not exist", "aws-example", "aws:ec2/instance:Instance", (i) => (i.instanceType = "t3.tiny"), "aws.ec2.InstanceType", "instanceType"],
    ["an EBS volume type that does not exist", "aws-example", "aws:ebs/volume:Volume", (i) => (i.type = "gp4"), "aws.ec2.VolumeType", "type"],
    ["a DLM retention over 1000", "aws-example", "aws:dlm/lifecyclePolicy:LifecyclePolicy", (i) => (i.policyDetails.schedules[0].retainRule.count = 1001), "aws.dlm.StandardTierRetainRuleCount", "policyDetails.schedules[0].retainRule.count"],
    ["a DLM target tag key in the aws: namespace", "aws-example", "aws:dlm/lifecyclePolicy:LifecyclePolicy", (i) => (i.policyDetails.targetTags = { "aws:x": "y" }), "aws.dlm.TagKey", "policyDetails.targetTags{aws:x}"],
    ["an EC2 tag key of 129 characters", "aws-example", "aws:ec2/eip:Eip", (i) => (i.tags["k".repeat(129)] = "v"), "aws.resourcegroupstaggingapi.TagKey", `tags{${"k".repeat(129)}}`],
    ["an Elastic IP domain that does not exist", "aws-example", "aws:ec2/eip:Eip", (i) => (i.domain = "classic"), "aws.ec2.DomainType", "domain"],
    ["an IAM role session longer than 12 hours", "aws-example", "aws:iam/role:Role", (i) => (i.maxSessionDuration = 43201), "aws.iam.roleMaxSessionDurationType", "maxSessionDuration"],
    ["a security group rule description with a character EC2 refuses", "aws-example", "aws:ec2/securityGroup:SecurityGroup", (i) => (i.ingress[0].description = "gateway → TLS"), "aws.ec2.SecurityGroupRuleDescription", "ingress[0].description"],
    ["an uppercase GCP label value", "gcp-example", "gcp:compute/disk:Disk", (i) => (i.labels.env = "Example"), "gcp.labels.value", "labels.env"],
    ["a GCP instance name that is not RFC 1035", "gcp-example", "gcp:compute/instance:Instance", (i) => (i.name = "OpenClaw"), "gcp.Instance.name", "name"],
    ["a GCP service account id of 5 characters", "gcp-example", "gcp:serviceaccount/account:Account", (i) => (i.accountId = "claws"), "gcp.ServiceAccount.accountId", "accountId"],
    ["a GCP snapshot start time off the 4-hour windows", "gcp-example", "gcp:compute/resourcePolicy:ResourcePolicy", (i) => (i.snapshotSchedulePolicy.schedule.weeklySchedule.dayOfWeeks[0].startTime = "05:00"), "gcp.ResourcePolicy.weeklyStartTime", "snapshotSchedulePolicy.schedule.weeklySchedule.dayOfWeeks[0].startTime"],
    ["a GCP secret id with a slash", "gcp-example", "gcp:secretmanager/secret:Secret", (i) => (i.secretId = "claw/token"), "gcp.Secret.secretId", "secretId"],
    ["a DigitalOcean droplet name with an underscore", "do-example", "digitalocean:index/droplet:Droplet", (i) => (i.name = "claw_1"), "digitalocean.droplet.name", "name"],
    ["a DigitalOcean tag with a space", "do-example", "digitalocean:index/volume:Volume", (i) => i.tags.push("ManagedBy claw"), "digitalocean.tag", "tags[6]"],
    ["a DigitalOcean volume name with capitals", "do-example", "digitalocean:index/volume:Volume", (i) => (i.name = "Claw-state"), "digitalocean.volume.name", "name"],
    ["a DigitalOcean backup hour off its windows", "do-example", "digitalocean:index/droplet:Droplet", (i) => (i.backupPolicy.hour = 5), "digitalocean.backupPolicy.hour", "backupPolicy.hour"],
    ["DigitalOcean user data over 64 KiB", "do-example", "digitalocean:index/droplet:Droplet", (i) => (i.userData = `#cloud-config\n${"#".repeat(65536)}`), "digitalocean.droplet.userData", "userData"],
    ["a DigitalOcean firewall name starting with a dash", "do-example", "digitalocean:index/firewall:Firewall", (i) => (i.name = "-fw"), "digitalocean.firewall.name", "name"],
  ];

  it.each(cases)("%s", (_what, stack, type, change, rule, field) => {
    const plan = plans[stack]!;
    expect(preflight(plan).findings).toEqual([]);
    const { findings } = preflight(mutate(plan, type, change));
    expect(findings.map((finding) => [finding.rule, finding.field]), describeFindings(findings)).toEqual([[rule, field]]);
    expect(findings[0]!.resource.startsWith(`${type} `)).toBe(true);
    expect(findings[0]!.source.length).toBeGreaterThan(20);
  });

  it("shows long values by their length, never in full (user data, policy documents)", () => {
    const broken = mutate(plans["do-example"]!, "digitalocean:index/droplet:Droplet", (inputs) => (inputs.userData = "#".repeat(70000)));
    expect(preflight(broken).findings[0]!.value).toBe("(70000 characters)");
  });
});

describe("select and violation", () => {
  it("selects map keys, map values and list entries with their paths", () => {
    const inputs = { tags: { a: "1", b: "2" }, rules: [{ p: "tcp" }, { p: "udp" }] };
    expect(select(inputs, "tags{}")).toEqual([{ path: "tags{a}", value: "a" }, { path: "tags{b}", value: "b" }]);
    expect(select(inputs, "tags.*")).toEqual([{ path: "tags.a", value: "1" }, { path: "tags.b", value: "2" }]);
    expect(select(inputs, "rules[].p")).toEqual([{ path: "rules[0].p", value: "tcp" }, { path: "rules[1].p", value: "udp" }]);
  });

  it("leaves unknown and secret values alone, and matches patterns against the whole value", () => {
    expect(violation({ type: "string", max: 1 }, "[unknown]")).toBeUndefined();
    expect(violation({ type: "string", max: 1 }, "[secret]")).toBeUndefined();
    expect(violation({ type: "string", pattern: "[a-z]+" }, "abc1")).toBe("must match [a-z]+");
    expect(violation({ type: "string", pattern: "^[a-zA-Z0-9_\\-\\:]+$" }, "ManagedBy:claw-cloud")).toBeUndefined();
  });
});
