/**
 * The cloud-neutral rules (`all-*`) and the stack rules (`stack-*`). Secret
 * fixtures are generated at run time, so the repository holds no
 * secret-shaped strings for scanners to flag.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { UNKNOWN, messages, nextYear, violations, withPath, type Planned } from "./support";

const upperAlnum = (length: number): string =>
  Array.from(randomBytes(length), (byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte % 32]).join("");
const awsAccessKeyId = (): string => `AKIA${upperAlnum(16)}`;
/** 48 hex characters with 3.87 bits of entropy per character: fixed, so the 3.5-bit threshold is never a coin toss (a random hex string falls below it now and then). */
const HIGH_ENTROPY_HEX = "c2466a8067a352e9c10b2ef86b95bb1d4e10f46ea686370f";
const doToken = (): string => `dop_v1_${randomBytes(32).toString("hex")}`;
const jwt = (): string =>
  [{ alg: "HS256", typ: "JWT" }, { sub: "gateway", iat: 1 }].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") +
  `.${randomBytes(32).toString("base64url")}`;
const privateKeyBlock = (): string => `-----BEGIN ${"OPENSSH"} PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----`;

const CLOUD_CONFIG = `#cloud-config
write_files:
  - path: /etc/openclaw/env
    content: |
      OPENCLAW_GATEWAY_PORT=18789
      GATEWAY_TOKEN_FILE=/run/openclaw/token
runcmd:
  - [sh, -c, 'TOKEN=$(openssl rand -hex 32) && echo "$TOKEN" > /run/openclaw/token']
`;

function droplet(userData: string): Planned {
  return { type: "digitalocean:index/droplet:Droplet", name: "openclaw-droplet", inputs: { userData, tags: ["ManagedBy:claw-cloud"] } };
}

describe("all-no-plaintext-secrets", () => {
  const id = "all-no-plaintext-secrets";
  it("accepts cloud-config that generates its token on the host, and ordinary tags", async () => {
    const resources: Planned[] = [
      droplet(CLOUD_CONFIG),
      { type: "aws:ec2/instance:Instance", inputs: { userData: CLOUD_CONFIG, tags: { ManagedBy: "claw-cloud", Name: "openclaw", TokenRotation: "daily" } } },
      { type: "gcp:compute/instance:Instance", inputs: { metadata: { "user-data": CLOUD_CONFIG, "block-project-ssh-keys": "true" }, labels: { "managed-by": "claw-cloud" } } },
    ];
    expect(await messages(id, resources)).toEqual([]);
  });
  it("catches a private key block in user-data", async () => {
    expect(await messages(id, [droplet(`${CLOUD_CONFIG}\n${privateKeyBlock()}`)])).toEqual(["`userData` contains a private key block"]);
  });
  it("catches a DigitalOcean token in user-data", async () => {
    expect(await messages(id, [droplet(`${CLOUD_CONFIG}\n# ${doToken()}`)])).toEqual(["`userData` contains a DigitalOcean token"]);
  });
  it("catches an AWS access key ID in a tag", async () => {
    const instance: Planned = { type: "aws:ec2/instance:Instance", inputs: { tags: { ManagedBy: "claw-cloud", Deployer: awsAccessKeyId() } } };
    expect(await messages(id, [instance])).toEqual(["`tags.Deployer` contains an AWS access key ID"]);
  });
  it("catches a secret used as a tag key, without printing it", async () => {
    const key = awsAccessKeyId();
    const found = await messages(id, [{ type: "aws:ec2/instance:Instance", inputs: { tags: { ManagedBy: "claw-cloud", [key]: "x" } } }]);
    expect(found).toEqual(["`tags key 2` contains an AWS access key ID"]);
    expect(found.join("\n")).not.toContain(key);
  });
  it("catches a JWT in GCP metadata", async () => {
    const instance: Planned = { type: "gcp:compute/instance:Instance", inputs: { metadata: { "gateway-token": jwt() } } };
    expect(await messages(id, [instance])).toEqual(['`metadata["gateway-token"]` contains a JSON Web Token']);
  });
  it("catches a high-entropy TOKEN= assignment in user-data", async () => {
    const found = await messages(id, [droplet(`${CLOUD_CONFIG}\nGATEWAY_TOKEN=${randomBytes(24).toString("base64url")}\n`)]);
    expect(found).toEqual(["`userData` contains a high-entropy value assigned to `GATEWAY_TOKEN`"]);
  });
  it("catches a high-entropy PASSWORD: assignment in a label value", async () => {
    const instance: Planned = { type: "gcp:compute/instance:Instance", inputs: { labels: { "db-password": HIGH_ENTROPY_HEX } } };
    expect(await messages(id, [instance])).toEqual([expect.stringContaining("`labels.db-password` contains a high-entropy value")]);
  });
  it("catches a secret inside gzipped base64 user-data (userDataBase64)", async () => {
    const encoded = gzipSync(Buffer.from(`${CLOUD_CONFIG}\n${privateKeyBlock()}`)).toString("base64");
    const instance: Planned = { type: "aws:ec2/instance:Instance", inputs: { userDataBase64: encoded, tags: { ManagedBy: "claw-cloud" } } };
    expect(await messages(id, [instance])).toEqual(["`userDataBase64` contains a private key block"]);
  });
  it("catches a Pulumi secret templated into instance metadata (readable in plaintext there)", async () => {
    const instance: Planned = { type: "gcp:compute/instance:Instance", inputs: { metadata: { "gateway-token": "[secret]" } } };
    expect(await messages(id, [instance])).toEqual([expect.stringContaining("is a Pulumi secret")]);
  });
  it("never repeats the secret value in its message", async () => {
    const token = doToken();
    const found = await messages(id, [droplet(`# ${token}`)]);
    expect(found.join("\n")).not.toContain(token);
  });
  it("leaves low-entropy and referenced values alone (documented limit: short secrets are not detected)", async () => {
    expect(await messages(id, [droplet("PASSWORD=changeme\nTOKEN=$GATEWAY_TOKEN\nAPI_KEY=${API_KEY}\n")])).toEqual([]);
  });
  it("leaves a shell-escaped reference alone (an unquoted heredoc writing `\\${VAR}` for the reading program to expand)", async () => {
    const heredoc = 'cat >"$config" <<JSON\n{ "auth": { "mode": "token", "token": "\\${OPENCLAW_GATEWAY_TOKEN}" } }\nJSON\n';
    expect(await messages(id, [droplet(`${CLOUD_CONFIG}\n${heredoc}`)])).toEqual([]);
    const literal = `"token": "\\${randomBytes(24).toString("base64url")}"`;
    expect(await messages(id, [droplet(`${CLOUD_CONFIG}\n${literal}`)])).toEqual([expect.stringContaining("high-entropy value assigned to `token`")]);
  });
  it("fails closed when user-data is not known yet", async () => {
    expect(await messages(id, [droplet(UNKNOWN)])).toEqual([expect.stringContaining("`userData` is not known")]);
  });
});

describe("stack-ownership-tags (advisory)", () => {
  const id = "stack-ownership-tags";
  const tagged: Planned[] = [
    { type: "aws:kms/key:Key", inputs: { tags: { ManagedBy: "claw-cloud" } } },
    { type: "gcp:storage/bucket:Bucket", inputs: { labels: { "managed-by": "claw-cloud" } } },
    { type: "digitalocean:index/volume:Volume", inputs: { tags: ["ManagedBy:claw-cloud"] } },
    { type: "aws:iam/rolePolicy:RolePolicy", inputs: {} }, // not taggable: ignored
  ];
  it("accepts every taggable resource carrying its cloud's ownership tag", async () => {
    expect(await messages(id, tagged)).toEqual([]);
  });
  it("catches an AWS resource without ManagedBy", async () => {
    const found = await violations(id, [{ type: "aws:ssm/parameter:Parameter", name: "token-param", inputs: { tags: {} } }]);
    expect(found.map((v) => [v.resourceName, v.enforcementLevel, v.message])).toEqual([["token-param", "advisory", '`tags.ManagedBy` must be "claw-cloud"']]);
  });
  it("catches a GCP resource without the managed-by label", async () => {
    expect(await messages(id, [{ type: "gcp:compute/disk:Disk", inputs: { labels: { team: "x" } } }])).toEqual([
      '`labels.managed-by` must be "claw-cloud"',
    ]);
  });
  it("catches a DigitalOcean droplet without the ownership tag", async () => {
    expect(await messages(id, [{ type: "digitalocean:index/droplet:Droplet", inputs: { tags: [] } }])).toHaveLength(1);
  });
});

describe("stack-state-disk-snapshot-schedule (mandatory)", () => {
  const id = "stack-state-disk-snapshot-schedule";
  const ebs: Planned = { type: "aws:ebs/volume:Volume", name: "state", inputs: { encrypted: true, tags: { ManagedBy: "claw-cloud", "clawstack-snapshots": "openclaw" } } };
  const dlm: Planned = {
    type: "aws:dlm/lifecyclePolicy:LifecyclePolicy",
    inputs: { state: "ENABLED", policyDetails: { resourceTypes: ["VOLUME"], targetTags: { "clawstack-snapshots": "openclaw" }, schedules: [{ name: "daily" }] } },
  };
  const gcpDisk: Planned = { type: "gcp:compute/disk:Disk", name: "state-disk", inputs: { name: "openclaw-state" } };
  const gcpAttachment: Planned = { type: "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", inputs: { disk: "openclaw-state", name: "daily" } };
  const doVolume: Planned = { type: "digitalocean:index/volume:Volume", name: "do-state", inputs: { tags: ["ManagedBy:claw-cloud", "clawstack-snapshots"] } };

  it("accepts each cloud's schedule covering its state disk", async () => {
    expect(await messages(id, [ebs, dlm, gcpDisk, gcpAttachment, doVolume])).toEqual([]);
  });
  it("catches an EBS volume no DLM policy targets", async () => {
    expect(await messages(id, [ebs])).toEqual([expect.stringContaining("no ENABLED DLM snapshot policy")]);
  });
  it("catches a DLM policy that is disabled", async () => {
    expect(await messages(id, [ebs, { ...dlm, inputs: { ...dlm.inputs, state: "DISABLED" } }])).toHaveLength(1);
  });
  it("catches a DLM policy targeting other tags", async () => {
    const other = structuredClone(dlm);
    (other.inputs.policyDetails as Record<string, unknown>).targetTags = { "clawstack-snapshots": "another-host" };
    expect(await messages(id, [ebs, other])).toHaveLength(1);
  });
  it("catches a GCP disk without a snapshot resource policy", async () => {
    expect(await messages(id, [gcpDisk])).toEqual([expect.stringContaining("no snapshot-schedule resource policy is attached to this disk")]);
  });
  it("catches a DigitalOcean volume without the snapshot-job tag", async () => {
    expect(await messages(id, [{ ...doVolume, inputs: { tags: ["ManagedBy:claw-cloud"] } }])).toEqual([expect.stringContaining("`clawstack-snapshots` tag")]);
  });
});

describe("stack-exemptions-valid", () => {
  const id = "stack-exemptions-valid";
  const valid = { policy: "digitalocean-droplet-backups", resource: "openclaw-droplet", reason: "Scratch host, rebuilt from config every night.", expires: nextYear() };
  it("accepts a named, reasoned, unexpired exemption", async () => {
    expect(await messages(id, [], { policyExemptions: [valid] })).toEqual([]);
  });
  it("catches a reason shorter than 20 characters", async () => {
    expect(await messages(id, [], { policyExemptions: [{ ...valid, reason: "not needed" }] })).toEqual([
      expect.stringContaining("at least 20 characters; got 10"),
    ]);
  });
  it("catches an expired exemption", async () => {
    expect(await messages(id, [], { policyExemptions: [{ ...valid, expires: "2020-01-01" }] })).toEqual([expect.stringContaining("is in the past")]);
  });
  it("catches an expiry that is not a date", async () => {
    expect(await messages(id, [], { policyExemptions: [{ ...valid, expires: "someday" }] })).toEqual([expect.stringContaining("ISO 8601")]);
  });
  it("catches an exemption naming no resource", async () => {
    expect(await messages(id, [], { policyExemptions: [{ ...valid, resource: "" }] })).toEqual([expect.stringContaining("`resource` must name a resource")]);
  });
  it("reports against the stack itself", async () => {
    const found = await violations(id, [], { policyExemptions: [{ ...valid, reason: "" }] });
    expect(found.map((v) => [v.resourceType, v.resourceName])).toEqual([["pulumi:pulumi:Stack", "test"]]);
  });
});

/** Issue 19, class 9 and issue 14, item 7: snapshots that exist but do not protect; the explicit opt-out. */
describe("stack-state-disk-snapshot-schedule: schedules that do not protect", () => {
  const id = "stack-state-disk-snapshot-schedule";
  const TAGS = { ManagedBy: "claw-cloud", ClawStackStateSnapshots: "openclaw" };
  const ebs: Planned = { type: "aws:ebs/volume:Volume", name: "state", inputs: { encrypted: true, tags: TAGS } };
  const dlm: Planned = {
    type: "aws:dlm/lifecyclePolicy:LifecyclePolicy",
    name: "snapshots",
    inputs: { state: "ENABLED", policyDetails: { resourceTypes: ["VOLUME"], targetTags: { ClawStackStateSnapshots: "openclaw" }, schedules: [{ name: "daily" }] } },
  };
  const gcpDisk: Planned = { type: "gcp:compute/disk:Disk", name: "state-disk", inputs: { name: "openclaw-state" } };
  const schedule: Planned = { type: "gcp:compute/resourcePolicy:ResourcePolicy", name: "schedule", inputs: { name: "openclaw-state-snapshots", snapshotSchedulePolicy: { schedule: { dailySchedule: { daysInCycle: 1, startTime: "04:00" } } } } };
  const attachment: Planned = { type: "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", name: "attach", inputs: { disk: "openclaw-state", name: "openclaw-state-snapshots" } };

  it("accepts an enabled DLM policy, and one whose state is left to the API default (ENABLED)", async () => {
    expect(await messages(id, [ebs, dlm])).toEqual([]);
    expect(await messages(id, [ebs, withPath(dlm, "inputs.state", undefined)])).toEqual([]);
  });
  it("accepts a GCP schedule attached to the disk, or named in its resourcePolicies", async () => {
    expect(await messages(id, [gcpDisk, schedule, attachment])).toEqual([]);
    expect(await messages(id, [withPath(gcpDisk, "inputs.resourcePolicies", ["projects/p/regions/r/resourcePolicies/openclaw-state-snapshots"]), schedule])).toEqual([]);
  });
  it("catches a DLM policy in lower-case \"disabled\" or any state but ENABLED", async () => {
    expect(await messages(id, [ebs, withPath(dlm, "inputs.state", "disabled")])).toHaveLength(1);
  });
  it("catches a DLM policy for AMIs (IMAGE_MANAGEMENT), not volumes", async () => {
    expect(await messages(id, [ebs, withPath(dlm, "inputs.policyDetails.policyType", "IMAGE_MANAGEMENT")])).toHaveLength(1);
  });
  it("catches, as mandatory, a DLM policy with a target tag the volume does not carry (DLM needs all of them)", async () => {
    const both = withPath(dlm, "inputs.policyDetails.targetTags", { ClawStackStateSnapshots: "openclaw", Tier: "gold" });
    expect((await violations(id, [ebs, both])).map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
  });
  it("catches a GCP schedule that exists but is attached to another disk", async () => {
    expect(await messages(id, [gcpDisk, schedule, withPath(attachment, "inputs.disk", "some-other-disk")])).toEqual([
      expect.stringContaining("no snapshot-schedule resource policy is attached to this disk"),
    ]);
  });
  it("catches, as mandatory, a GCP schedule that is never attached", async () => {
    expect((await violations(id, [gcpDisk, schedule])).map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
  });
  it("catches an attached resource policy that is not a snapshot schedule", async () => {
    const notSnapshots = { ...schedule, inputs: { name: "openclaw-state-snapshots", instanceSchedulePolicy: { timeZone: "UTC" } } };
    expect(await messages(id, [gcpDisk, notSnapshots, attachment])).toHaveLength(1);
  });
  it("is mandatory and fails closed on volume tags not known yet", async () => {
    const found = await violations(id, [withPath(ebs, "inputs.tags", UNKNOWN), dlm]);
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([["mandatory", expect.stringContaining("is not known until the update runs")]]);
  });
  it("stays silent when the stack says snapshots: {enabled: false}, which stack-snapshots-opted-out reports (advisory)", async () => {
    const optOut = { snapshots: { enabled: false } };
    expect(await messages(id, [ebs, gcpDisk], optOut)).toEqual([]);
    const reported = await violations("stack-snapshots-opted-out", [ebs, gcpDisk], optOut);
    expect(reported.map((v) => [v.resourceName, v.enforcementLevel])).toEqual([
      ["state", "advisory"],
      ["state-disk", "advisory"],
    ]);
    expect(reported[0]!.message).toContain("explicit opt-out: `clawstack:snapshots: {enabled: false}`");
  });
  it.each([
    ["no snapshots key", {}],
    ["snapshots: {enabled: true}", { snapshots: { enabled: true } }],
    ["snapshots without enabled", { snapshots: { frequency: "daily" } }],
    ["enabled: \"false\" as a string", { snapshots: { enabled: "false" } }],
  ])("%s is no opt-out", async (_what, config) => {
    expect(await messages(id, [ebs], config)).toHaveLength(1);
    expect(await messages("stack-snapshots-opted-out", [ebs], config)).toEqual([]);
  });
});
