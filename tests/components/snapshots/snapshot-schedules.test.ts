import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../core/errors";
import { synthConfig } from "../../../program/synth";
import type { SynthResult } from "../../../program/synth-types";
import { awsDlmSchedule, digitalOceanBackupPolicy, gcpSnapshotSchedulePolicy, stateSnapshotTag } from "../../../components/snapshots/schedule";
import { DEFAULT_SNAPSHOTS } from "../../../core/host-config";
import { awsCoverage, digitalOceanCoverage, gcpCoverage, ofType } from "./coverage";

// The real host program (program/host-program.ts) under the synth's mocks, from config given as data.
const BASE = { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "2026.1.29", node: "24.15.0" } };
const CLOUDS = {
  aws: { cloud: "aws", region: "eu-west-1", name: "claw", ...BASE },
  gcp: { cloud: "gcp", region: "europe-west1", zone: "europe-west1-b", gcpProject: "example-project-1", name: "claw", ...BASE },
  digitalocean: { cloud: "digitalocean", region: "fra1", name: "claw", ...BASE },
} as const;

const synth = (config: Record<string, unknown>): Promise<SynthResult> => synthConfig("snap-test", config);

describe("default schedule: daily at 04:00 UTC, 7 kept, covering the state disk", () => {
  const results: Record<string, SynthResult> = {};
  beforeAll(async () => {
    for (const [cloud, config] of Object.entries(CLOUDS)) results[cloud] = await synth(config);
  });

  it("AWS: a DLM policy targets the state volume's own tag, run by a role only dlm.amazonaws.com may assume", () => {
    const coverage = awsCoverage(results.aws!);
    expect(coverage.schedule).toEqual({ interval: 24, intervalUnit: "HOURS", times: "04:00" });
    expect(coverage.retain).toBe(7);
    const policy = ofType(results.aws!, "aws:dlm/lifecyclePolicy:LifecyclePolicy")[0]!.inputs as { policyDetails: { targetTags: Record<string, string> } };
    expect(policy.policyDetails.targetTags).toEqual({ ClawStackStateSnapshots: "snap-test-claw" });
  });

  it("GCP: a snapshot-schedule resource policy attached to the state disk, snapshots kept after the disk goes", () => {
    const coverage = gcpCoverage(results.gcp!);
    expect(coverage.schedule).toEqual({ dailySchedule: { daysInCycle: 1, startTime: "04:00" } });
    expect(coverage.retain).toBe(7);
  });

  it("DigitalOcean: droplet backups with a daily backup policy, and the state volume on the volume snapshot job with retain 7", () => {
    const coverage = digitalOceanCoverage(results.digitalocean!);
    expect(coverage.schedule).toEqual({ plan: "daily", hour: 4 });
    expect(coverage.retain).toBe(7);
  });

  it("every host stack reports its schedule in its outputs", () => {
    for (const result of Object.values(results)) expect(result.outputs.snapshots).toBe("daily at 04:00 UTC, keep 7");
  });
});

describe("configurable schedule and retention", () => {
  const weekly = { snapshots: { frequency: "weekly", weekday: "SAT", hourUtc: 20, retain: 4 } };

  it("AWS: weekly becomes a DLM cron schedule, retain a count", async () => {
    const coverage = awsCoverage(await synth({ ...CLOUDS.aws, ...weekly }));
    expect(coverage.schedule).toEqual({ cronExpression: "cron(0 20 ? * SAT *)" });
    expect(coverage.retain).toBe(4);
  });

  it("GCP: weekly becomes a weekly schedule, retain 4 weeks of days", async () => {
    const coverage = gcpCoverage(await synth({ ...CLOUDS.gcp, ...weekly }));
    expect(coverage.schedule).toEqual({ weeklySchedule: { dayOfWeeks: [{ day: "SATURDAY", startTime: "20:00" }] } });
    expect(coverage.retain).toBe(28);
  });

  it("DigitalOcean: weekly backup policy on the weekday, retain and plan on the volume's tags", async () => {
    const result = await synth({ ...CLOUDS.digitalocean, ...weekly });
    const coverage = digitalOceanCoverage(result);
    expect(coverage.schedule).toEqual({ plan: "weekly", hour: 20, weekday: "SAT" });
    expect(coverage.retain).toBe(4);
    const volume = ofType(result, "digitalocean:index/volume:Volume")[0]!.inputs as { tags: string[] };
    expect(volume.tags).toContain("clawstack-snapshots-plan:weekly");
  });

  it("daily with another hour and retention", async () => {
    const coverage = awsCoverage(await synth({ ...CLOUDS.aws, snapshots: { hourUtc: 0, retain: 30 } }));
    expect(coverage.schedule).toEqual({ interval: 24, intervalUnit: "HOURS", times: "00:00" });
    expect(coverage.retain).toBe(30);
  });
});

describe("opting out is explicit and removes every schedule", () => {
  const off = { snapshots: { enabled: false } };

  it("AWS: no DLM policy and no DLM role", async () => {
    const result = await synth({ ...CLOUDS.aws, ...off });
    expect(ofType(result, "aws:dlm/lifecyclePolicy:LifecyclePolicy")).toEqual([]);
    expect(ofType(result, "aws:iam/role:Role").filter((role) => role.name.includes("dlm"))).toEqual([]);
    expect(result.outputs.snapshots).toBe("disabled by the stack (snapshots.enabled: false)");
  });

  it("GCP: no resource policy, no attachment", async () => {
    const result = await synth({ ...CLOUDS.gcp, ...off });
    expect(ofType(result, "gcp:compute/resourcePolicy:ResourcePolicy")).toEqual([]);
    expect(ofType(result, "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment")).toEqual([]);
  });

  it("DigitalOcean: backups off, no backup policy, the volume off the snapshot job", async () => {
    const result = await synth({ ...CLOUDS.digitalocean, ...off });
    const droplet = ofType(result, "digitalocean:index/droplet:Droplet")[0]!.inputs as Record<string, unknown>;
    expect(droplet.backups).toBe(false);
    expect(droplet.backupPolicy).toBeUndefined();
    const volume = ofType(result, "digitalocean:index/volume:Volume")[0]!.inputs as { tags: string[] };
    expect(volume.tags.filter((tag) => tag.startsWith("clawstack-snapshots"))).toEqual([]);
  });

  it("leaving the key out is not opting out", async () => {
    const result = await synth(CLOUDS.aws);
    expect(ofType(result, "aws:dlm/lifecyclePolicy:LifecyclePolicy")).toHaveLength(1);
  });
});

describe("bad snapshot settings are refused naming the key", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["retain 0", { retain: 0 }, "snapshots.retain", /`snapshots.retain`/],
    ["retain above 90", { retain: 91 }, "snapshots.retain", /`snapshots.retain`/],
    ["an hour no cloud accepts", { hourUtc: 5 }, "snapshots.hourUtc", /`snapshots.hourUtc`/],
    ["an unknown frequency", { frequency: "hourly" }, "snapshots.frequency", /`snapshots.frequency`/],
    ["a weekday on a daily schedule", { weekday: "MON" }, "snapshots.weekday", /applies to `snapshots.frequency: weekly` only/],
    ["settings next to enabled: false", { enabled: false, retain: 3 }, "snapshots.retain", /has no effect when `snapshots.enabled` is false/],
    ["enabled not a boolean", { enabled: "no" }, "snapshots.enabled", /`snapshots.enabled`/],
    ["an unknown key", { keep: 3 }, "snapshots.keep", /`snapshots.keep` is not a known key/],
  ];
  it.each(cases)("%s", async (_name, snapshots, key, message) => {
    const error = await synth({ ...CLOUDS.aws, snapshots }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).message).toMatch(message);
  });
});

describe("restore: the state disk is created from the given snapshot", () => {
  it("AWS: the EBS state volume takes snapshotId, and stays covered by the schedule", async () => {
    const result = await synth({ ...CLOUDS.aws, restoreFromSnapshot: "snap-0123456789abcdef0" });
    const state = ofType(result, "aws:ebs/volume:Volume").find((volume) => volume.name.endsWith("-state"))!;
    expect((state.inputs as Record<string, unknown>).snapshotId).toBe("snap-0123456789abcdef0");
    awsCoverage(result);
  });

  it("GCP: the state disk takes snapshot (a name or a full path)", async () => {
    for (const snapshot of ["claw-state-20261120", "projects/example-project-1/global/snapshots/claw-state-20261120"]) {
      const result = await synth({ ...CLOUDS.gcp, restoreFromSnapshot: snapshot });
      expect((ofType(result, "gcp:compute/disk:Disk")[0]!.inputs as Record<string, unknown>).snapshot).toBe(snapshot);
      gcpCoverage(result);
    }
  });

  it("DigitalOcean: the state volume takes snapshotId", async () => {
    const result = await synth({ ...CLOUDS.digitalocean, restoreFromSnapshot: "4f60fc64-85d1-11e6-a004-000f53315871" });
    expect((ofType(result, "digitalocean:index/volume:Volume")[0]!.inputs as Record<string, unknown>).snapshotId).toBe(
      "4f60fc64-85d1-11e6-a004-000f53315871",
    );
    digitalOceanCoverage(result);
  });

  it("restore in place on the same stack: the fixed-name GCP disk and DO volume are deleted before their replacement, the nameless EBS volume is not", async () => {
    const cases = [
      { cloud: "gcp", type: "gcp:compute/disk:Disk", snapshot: "claw-state-20261120", input: "snapshot", deleteFirst: true },
      { cloud: "digitalocean", type: "digitalocean:index/volume:Volume", snapshot: "4f60fc64-85d1-11e6-a004-000f53315871", input: "snapshotId", deleteFirst: true },
      { cloud: "aws", type: "aws:ebs/volume:Volume", snapshot: "snap-0123456789abcdef0", input: "snapshotId", deleteFirst: false },
    ] as const;
    for (const { cloud, type, snapshot, input, deleteFirst } of cases) {
      const stateOf = (result: Awaited<ReturnType<typeof synth>>) => ofType(result, type).find((disk) => disk.name.endsWith("-state"))!;
      const current = stateOf(await synth(CLOUDS[cloud]));
      const restored = stateOf(await synth({ ...CLOUDS[cloud], restoreFromSnapshot: snapshot }));
      // Same resource, same name, a new source snapshot: the provider replaces it.
      expect(restored.urn, cloud).toBe(current.urn);
      expect((restored.inputs as Record<string, unknown>).name, cloud).toBe((current.inputs as Record<string, unknown>).name);
      expect((restored.inputs as Record<string, unknown>)[input], cloud).toBe(snapshot);
      for (const disk of [current, restored]) expect(disk.options?.deleteBeforeReplace, cloud).toBe(deleteFirst);
    }
  });

  it("without the key the disks start empty", async () => {
    const result = await synth(CLOUDS.aws);
    const state = ofType(result, "aws:ebs/volume:Volume").find((volume) => volume.name.endsWith("-state"))!;
    expect((state.inputs as Record<string, unknown>).snapshotId).toBeUndefined();
  });

  it.each([
    ["aws", "snapshot-123"],
    ["aws", "ami-0123456789abcdef0"],
    ["gcp", "Projects/x/global/snapshots/y"],
    ["digitalocean", "snap-0123456789abcdef0"],
  ] as const)("%s refuses %s as a snapshot id, naming the key", async (cloud, snapshot) => {
    const error = await synth({ ...CLOUDS[cloud], restoreFromSnapshot: snapshot }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("restoreFromSnapshot");
    expect((error as ConfigError).message).toContain(JSON.stringify(snapshot));
  });
});

describe("schedule translations (pure)", () => {
  it("keeps one meaning across clouds for the default", () => {
    expect(awsDlmSchedule(DEFAULT_SNAPSHOTS).retainRule).toEqual({ count: 7 });
    expect(gcpSnapshotSchedulePolicy(DEFAULT_SNAPSHOTS, {}).retentionPolicy.maxRetentionDays).toBe(7);
    expect(digitalOceanBackupPolicy(DEFAULT_SNAPSHOTS)).toEqual({ plan: "daily", hour: 4 });
  });

  it("gives each stack and host its own DLM target tag (AWS refuses two policies with the same target tags)", () => {
    expect(stateSnapshotTag("prod", "claw")).not.toEqual(stateSnapshotTag("staging", "claw"));
    expect(stateSnapshotTag("prod", "claw")).not.toEqual(stateSnapshotTag("prod", "claw2"));
  });
});

describe("AWS DLM schedule names take only what DLM's API allows", () => {
  // botocore dlm/2018-01-12 `ScheduleName`: [0-9A-Za-z _-]+, at most 120 characters (AWS matches the whole value).
  const SCHEDULE_NAME = /^[0-9A-Za-z _-]{1,120}$/;
  const schedules = [
    DEFAULT_SNAPSHOTS,
    { enabled: true, frequency: "weekly", weekday: "SUN", hourUtc: 4, retain: 8 },
    { enabled: true, frequency: "weekly", weekday: "SAT", hourUtc: 20, retain: 90 },
    { enabled: true, frequency: "daily", hourUtc: 0, retain: 1 },
  ] as const;

  it.each(schedules.map((schedule) => [JSON.stringify(schedule), schedule] as const))("%s", (_label, schedule) => {
    const { name } = awsDlmSchedule(schedule);
    expect(name).toMatch(SCHEDULE_NAME);
  });

  it("the name still says what the schedule is", () => {
    expect(awsDlmSchedule({ enabled: true, frequency: "weekly", weekday: "SUN", hourUtc: 4, retain: 8 }).name).toBe("weekly SUN 0400 UTC keep 8");
    expect(awsDlmSchedule(DEFAULT_SNAPSHOTS).name).toBe("daily 0400 UTC keep 7");
  });
});
