/**
 * `npm run policy:review`: exit codes (0 clean, 1 mandatory violation, 2
 * unusable input), both input formats, the exact `--json` shape and the
 * human table. Most cases call the CLI's `main` in-process; two spawn the real
 * command to prove the exit status reaches the shell.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../policies/review-cli";
import { policyIds } from "../../policies/policies";
import { nextYear } from "./support";

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "clawstack-policy-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const TAGS = { ManagedBy: "claw-cloud" };
const CLEAN = { stack: "cli", resources: [{ type: "aws:kms/key:Key", name: "key", parent: "urn:pulumi:cli::clawstack::pulumi:pulumi:Stack::clawstack-cli", inputs: { enableKeyRotation: true, tags: TAGS } }] };
const VIOLATING = {
  stack: "cli",
  resources: [
    { type: "aws:ebs/volume:Volume", name: "state", inputs: { encrypted: false, tags: TAGS } },
    { type: "aws:ec2/securityGroup:SecurityGroup", name: "sg", inputs: { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }], tags: TAGS } },
  ],
};
const ADVISORY_ONLY = { stack: "cli", resources: [{ type: "aws:kms/key:Key", name: "untagged-key", inputs: { enableKeyRotation: true, tags: {} } }] };
const PREVIEW = {
  config: { "clawstack:gatewayCidrs": '["203.0.113.0/24"]' },
  steps: [
    {
      op: "create",
      urn: "urn:pulumi:prod::clawstack::aws:ec2/securityGroup:SecurityGroup::sg",
      newState: {
        urn: "urn:pulumi:prod::clawstack::aws:ec2/securityGroup:SecurityGroup::sg",
        custom: true,
        type: "aws:ec2/securityGroup:SecurityGroup",
        inputs: { ingress: [{ protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["203.0.113.0/24"] }], tags: TAGS },
      },
    },
  ],
  changeSummary: { create: 1 },
};

let out = "";
let err = "";
beforeEach(() => {
  out = "";
  err = "";
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void (out += `${args.join(" ")}\n`));
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void (err += `${args.join(" ")}\n`));
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

describe("exit status", () => {
  it("0 when nothing mandatory is violated", async () => {
    expect(await main(["--resources", file("clean.json", CLEAN)])).toBe(0);
    expect(out).toContain("1 resources reviewed, 0 mandatory and 0 advisory violations");
  });
  it("0 with advisory violations only", async () => {
    expect(await main(["--resources", file("advisory.json", ADVISORY_ONLY)])).toBe(0);
    expect(out).toContain("stack-ownership-tags");
  });
  it("1 when a mandatory violation remains", async () => {
    expect(await main(["--resources", file("violating.json", VIOLATING)])).toBe(1);
  });
  it("0 once the violation carries a valid exemption (given with --config)", async () => {
    const config = file(
      "Pulumi.cli.yaml",
      `config:\n  clawstack:policyExemptions:\n    - policy: aws-ebs-encrypted\n      resource: state\n      reason: Holds only public build caches, rebuilt nightly.\n      expires: "${nextYear()}"\n    - policy: aws-security-group-no-world-admin-ports\n      resource: sg\n      reason: Bastion for the incident drill, removed after it.\n      expires: "${nextYear()}"\n    - policy: stack-state-disk-snapshot-schedule\n      resource: state\n      reason: Holds only public build caches, rebuilt nightly.\n      expires: "${nextYear()}"\n`,
    );
    expect(await main(["--resources", file("violating.json", VIOLATING), "--config", config])).toBe(0);
  });
  it.each([
    ["an unreadable file", () => ["--resources", join(dir, "missing.json")], /cannot read `--resources` file .*ENOENT/],
    ["malformed JSON", () => ["--resources", file("bad.json", "{ nope")], /is not valid JSON/],
    ["a document in neither format", () => ["--resources", file("other.json", { hello: 1 })], /neither `resources` nor `steps`/],
    ["an unknown stack", () => ["--stack", "no-such-stack"], /no stacks\/Pulumi\.no-such-stack\.yaml/],
    ["a bad stack name", () => ["--stack", "Bad_Name"], /`stack` must be 1 to 63 characters/],
    [
      "an exemption naming an unknown rule",
      () => ["--resources", file("clean.json", CLEAN), "--config", file("Pulumi.x.yaml", `config:\n  clawstack:policyExemptions:\n    - policy: aws-made-up\n      resource: state\n      reason: a long enough reason for the test\n      expires: "${nextYear()}"\n`)],
      /`clawstack:policyExemptions\[0\]\.policy` must name a rule of the pack/,
    ],
    ["no mode", () => [], /give exactly one of `--stack`, `--resources`, `--all-stacks`/],
    ["two modes", () => ["--stack", "do-example", "--resources", "x.json"], /exactly one of/],
    ["an unknown option", () => ["--resource", "x.json"], /Unknown option '--resource'/],
  ])("2 on %s, with a message", async (_what, args, message) => {
    expect(await main(args())).toBe(2);
    expect(err).toMatch(message);
  });
});

describe("output", () => {
  it("--json prints exactly {violations: [{policy, severity, enforcementLevel, resourceType, resourceName, message}], summary}", async () => {
    expect(await main(["--resources", file("violating.json", VIOLATING), "--json"])).toBe(1);
    const report = JSON.parse(out) as { violations: Array<Record<string, unknown>>; summary: Record<string, unknown> };
    expect(Object.keys(report)).toEqual(["violations", "summary"]);
    expect(Object.keys(report.summary)).toEqual(["mandatory", "advisory", "resources"]);
    // The third: no DLM snapshot policy covers the volume (mandatory since snapshots are).
    expect(report.summary).toEqual({ mandatory: 3, advisory: 0, resources: 2 });
    for (const violation of report.violations) {
      expect(Object.keys(violation)).toEqual(["policy", "severity", "enforcementLevel", "resourceType", "resourceName", "message"]);
    }
    expect(report.violations).toContainEqual({
      policy: "aws-ebs-encrypted",
      severity: "high",
      enforcementLevel: "mandatory",
      resourceType: "aws:ebs/volume:Volume",
      resourceName: "state",
      message: "`encrypted` must be true; got false",
    });
  });
  it("the human table has policy, severity, enforcement, resource, message and fix", async () => {
    await main(["--resources", file("violating.json", VIOLATING)]);
    const lines = out.trim().split("\n");
    expect(lines[0]).toBe("| policy | severity | enforcement | resource | message | fix |");
    const row = lines.find((line) => line.startsWith("| aws-ebs-encrypted |"));
    expect(row).toContain("| high | mandatory | state (aws:ebs/volume:Volume) | `encrypted` must be true; got false | Set `encrypted: true`");
    expect(lines.at(-1)).toContain("2 resources reviewed, 3 mandatory and 0 advisory violations");
  });
  it("accepts `pulumi preview --json` output and uses the config it carries", async () => {
    expect(await main(["--resources", file("preview.json", PREVIEW), "--json"])).toBe(0);
    expect(JSON.parse(out)).toEqual({ violations: [], summary: { mandatory: 0, advisory: 0, resources: 1 } });
  });
  it("--config overrides the preview's config (closed default: no gateway CIDRs)", async () => {
    const empty = file("Pulumi.empty.yaml", "config:\n  clawstack:cloud: aws\n");
    expect(await main(["--resources", file("preview.json", PREVIEW), "--config", empty])).toBe(1);
    expect(out).toContain("aws-security-group-gateway-port-restricted");
  });
  it("--pack-config prints a --policy-pack-config file: one entry per rule with the stack's policy config", async () => {
    expect(await main(["--stack", "do-example", "--pack-config"])).toBe(0);
    const packConfig = JSON.parse(out) as Record<string, { gatewayCidrs: string[]; sshAccess: boolean; exemptions: unknown[] }>;
    expect(Object.keys(packConfig)).toEqual(policyIds());
    const doExample = readFileSync(join(ROOT, "stacks", "Pulumi.do-example.yaml"), "utf8");
    for (const cidr of packConfig["digitalocean-firewall-gateway-port-restricted"]!.gatewayCidrs) expect(doExample).toContain(cidr);
    expect(packConfig["digitalocean-firewall-gateway-port-restricted"]!.gatewayCidrs.length).toBeGreaterThan(0);
  });
});

describe("--config carries the stack's publisher into the firmware rules", () => {
  const publisher = "arn:aws:iam::123456789012:role/firmware-publisher";
  const reader = "arn:aws:iam::123456789012:role/energy-core-update-service";
  const plan = (readerActions: string[]) => ({
    stack: "cli",
    resources: [
      {
        type: "aws:s3/bucketPolicy:BucketPolicy",
        name: "firmware-policy",
        inputs: {
          bucket: "example-energy-core-firmware",
          policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { AWS: publisher }, Action: ["s3:PutObject"], Resource: "arn:aws:s3:::example-energy-core-firmware/*" },
              { Effect: "Allow", Principal: { AWS: reader }, Action: readerActions, Resource: "arn:aws:s3:::example-energy-core-firmware/*" },
            ],
          }),
        },
      },
    ],
  });
  const stackFile = join(ROOT, "stacks", "Pulumi.aws-firmware-example.yaml");
  it("passes the publisher's writes with the firmware stack's config", async () => {
    expect(await main(["--resources", file("firmware-ok.json", plan(["s3:GetObject"])), "--config", stackFile, "--json"])).toBe(0);
  });
  it("catches a reader that can also write", async () => {
    expect(await main(["--resources", file("firmware-bad.json", plan(["s3:GetObject", "s3:PutObject"])), "--config", stackFile, "--json"])).toBe(1);
    const report = JSON.parse(out) as { violations: Array<{ policy: string; message: string }> };
    expect(report.violations.map((v) => v.policy)).toEqual(["aws-s3-bucket-policy-writes-publisher-only"]);
    expect(report.violations[0]!.message).toContain(reader);
  });
  it("--pack-config hands the engine the same publisher and snapshot settings", async () => {
    expect(await main(["--stack", "gcp-firmware-example", "--pack-config"])).toBe(0);
    const packConfig = JSON.parse(out) as Record<string, { firmwarePublishers: string[]; snapshotsEnabled: boolean }>;
    expect(packConfig["gcp-storage-bucket-writes-publisher-only"]!.firmwarePublishers).toEqual([
      "serviceAccount:firmware-publisher@example-firmware-project.iam.gserviceaccount.com",
    ]);
    expect(packConfig["stack-state-disk-snapshot-schedule"]!.snapshotsEnabled).toBe(true);
  });
});

describe("the real command", () => {
  it("`npm run policy:review -- --resources <file> --json` exits 1 on a mandatory violation", () => {
    const run = spawnSync("npm", ["run", "-s", "policy:review", "--", "--resources", file("violating.json", VIOLATING), "--json"], { cwd: ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(1);
    expect((JSON.parse(run.stdout) as { summary: { mandatory: number } }).summary.mandatory).toBe(3);
  });
  it("an unknown stack exits 2 from the shell too", () => {
    const bad = spawnSync(process.execPath, ["--import", "tsx", "policies/review-cli.ts", "--stack", "nope-nope"], { cwd: ROOT, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("no stacks/Pulumi.nope-nope.yaml");
  });
});
