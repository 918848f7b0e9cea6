/**
 * `npm run bench -- policies`: the engine-free review of 10,000 synthetic
 * resources (a mix of what the host, access and firmware components register
 * on the three clouds, compliant, so every rule walks its full path), in µs per
 * resource, next to the same walk with an empty pack (building the proxied
 * props and the stack-validation view, no rules) measured in the same run.
 * Targets from the issue: ≤ 50 µs per resource and ≤ 3 × the empty walk.
 */
import { performance } from "node:perf_hooks";
import { reviewResources, type ReviewResource } from "../policies/review";
import { policies } from "../policies/policies";

const RESOURCES = 10_000;
const RUNS = 9;
const TAGS = { ManagedBy: "claw-cloud", Name: "openclaw" };
const EXTERNAL_ID = "ckHPaJy1PvXibxuNFboa7RfZPQG1xuOmC9EmY62j6JlTpqP9";
const USER_DATA = `#cloud-config\nwrite_files:\n  - path: /etc/openclaw/env\n    content: |\n      OPENCLAW_GATEWAY_PORT=18789\nruncmd:\n  - [sh, -c, 'TOKEN=$(openssl rand -hex 32) > /run/openclaw/token']\n`;

/** One group of related resources (a host, a bucket with its split resources...), named after `n`. */
const GROUPS: ReadonlyArray<(n: number) => ReviewResource[]> = [
  (n) => [
    {
      type: "aws:ec2/instance:Instance",
      name: `host-${n}`,
      inputs: { userData: USER_DATA, metadataOptions: { httpTokens: "required" }, rootBlockDevice: { encrypted: true }, tags: TAGS },
    },
    { type: "aws:ebs/volume:Volume", name: `state-${n}`, inputs: { encrypted: true, tags: { ...TAGS, "clawstack-snapshots": `h${n}` } } },
    {
      type: "aws:dlm/lifecyclePolicy:LifecyclePolicy",
      name: `snapshots-${n}`,
      inputs: { state: "ENABLED", policyDetails: { resourceTypes: ["VOLUME"], targetTags: { "clawstack-snapshots": `h${n}` }, schedules: [{ name: "daily" }] }, tags: TAGS },
    },
    {
      type: "aws:ec2/securityGroup:SecurityGroup",
      name: `sg-${n}`,
      inputs: { ingress: [{ protocol: "tcp", fromPort: 3000, toPort: 3000, cidrBlocks: ["203.0.113.0/24"] }], tags: TAGS },
    },
  ],
  (n) => [
    {
      type: "aws:iam/role:Role",
      name: `role-${n}`,
      inputs: {
        name: `role-${n}`,
        assumeRolePolicy: JSON.stringify({
          Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:role/p" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID } } }],
        }),
        maxSessionDuration: 3600,
        tags: TAGS,
      },
    },
    {
      type: "aws:iam/rolePolicy:RolePolicy",
      name: `permissions-${n}`,
      inputs: {
        role: `role-${n}`,
        policy: JSON.stringify({
          Statement: [
            { Effect: "Allow", Action: ["ec2:Describe*"], Resource: "*" },
            { Effect: "Allow", Action: ["ec2:TerminateInstances"], Resource: "*", Condition: { StringEquals: { "aws:ResourceTag/ManagedBy": "claw-cloud" } } },
            { Effect: "Allow", Action: "iam:PassRole", Resource: "arn:aws:iam::1:role/x", Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } },
          ],
        }),
      },
    },
  ],
  (n) => {
    const bucket = `artifacts-${n}`;
    return [
      { type: "aws:s3/bucketV2:BucketV2", name: bucket, inputs: { bucket, objectLockEnabled: true, tags: TAGS } },
      { type: "aws:s3/bucketVersioningV2:BucketVersioningV2", name: `${bucket}-v`, inputs: { bucket, versioningConfiguration: { status: "Enabled" } } },
      {
        type: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        name: `${bucket}-sse`,
        inputs: { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-west-1:1:key/k" } }] },
      },
      {
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        name: `${bucket}-pab`,
        inputs: { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      },
      {
        type: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
        name: `${bucket}-lock`,
        inputs: { bucket, rule: { defaultRetention: { mode: "COMPLIANCE", days: 365 } } },
      },
      {
        type: "aws:s3/bucketPolicy:BucketPolicy",
        name: `${bucket}-tls`,
        inputs: {
          bucket,
          policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }),
        },
      },
    ];
  },
  (n) => [
    {
      type: "digitalocean:index/droplet:Droplet",
      name: `droplet-${n}`,
      inputs: { userData: USER_DATA, backups: true, tags: ["ManagedBy:claw-cloud"] },
    },
    { type: "digitalocean:index/volume:Volume", name: `do-state-${n}`, inputs: { tags: ["ManagedBy:claw-cloud", "clawstack-snapshots"] } },
    {
      type: "digitalocean:index/firewall:Firewall",
      name: `do-fw-${n}`,
      inputs: { inboundRules: [{ protocol: "tcp", portRange: "3000", sourceAddresses: ["203.0.113.0/24"] }] },
    },
  ],
  (n) => [
    {
      type: "gcp:compute/instance:Instance",
      name: `gce-${n}`,
      inputs: {
        metadata: { "user-data": USER_DATA, "block-project-ssh-keys": "true" },
        shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
        labels: { "managed-by": "claw-cloud" },
      },
    },
    { type: "gcp:compute/disk:Disk", name: `gce-state-${n}`, inputs: { name: `gce-state-${n}`, labels: { "managed-by": "claw-cloud" } } },
    { type: "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", name: `gce-snap-${n}`, inputs: { disk: `gce-state-${n}`, name: "daily" } },
    { type: "gcp:compute/firewall:Firewall", name: `gce-fw-${n}`, inputs: { direction: "INGRESS", allows: [{ protocol: "tcp", ports: ["3000"] }], sourceRanges: ["203.0.113.0/24"] } },
  ],
];

export function syntheticResources(count: number): ReviewResource[] {
  const resources: ReviewResource[] = [];
  for (let n = 0; resources.length < count; n++) resources.push(...GROUPS[n % GROUPS.length]!(n));
  return resources.slice(0, count);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export default async function bench(): Promise<void> {
  const resources = syntheticResources(RESOURCES);
  const config = { gatewayCidrs: ["203.0.113.0/24"] };
  const once = async (pack: typeof policies): Promise<{ micros: number; violations: number }> => {
    const start = performance.now();
    const report = await reviewResources(resources, { stack: "bench", config, policies: pack });
    return { micros: ((performance.now() - start) * 1000) / resources.length, violations: report.violations.length };
  };
  await once([]); // warm-up
  await once(policies);
  // Empty and full runs alternate, so both see the same load on a shared machine; the ratio is taken per pair.
  const empty: number[] = [];
  const full: number[] = [];
  const ratios: number[] = [];
  let violations = 0;
  for (let run = 0; run < RUNS; run++) {
    const baseline = await once([]);
    const withPack = await once(policies);
    empty.push(baseline.micros);
    full.push(withPack.micros);
    ratios.push(withPack.micros / baseline.micros);
    violations = withPack.violations;
  }
  console.log(`resources reviewed:        ${resources.length} (${new Set(resources.map((r) => r.type)).size} types), ${RUNS} alternating runs after a warm-up`);
  console.log(`                           median µs/resource   best µs/resource`);
  console.log(`empty pack (walk only):    ${median(empty).toFixed(2).padStart(8)}             ${Math.min(...empty).toFixed(2).padStart(8)}`);
  console.log(`full pack (${policies.length} rules):     ${median(full).toFixed(2).padStart(8)}             ${Math.min(...full).toFixed(2).padStart(8)}   (${violations} violations)`);
  console.log(`ratio full / empty:        ${median(ratios).toFixed(2).padStart(8)} × (median of per-pair ratios)`);
  console.log(`targets: ≤ 50 µs/resource and ≤ 3 × the empty walk`);
}
