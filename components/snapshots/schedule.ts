import type { ActiveSnapshotSchedule, SnapshotSchedule, Weekday } from "../../core/host-config.js";

/**
 * Pure translations of ClawStack's one snapshot schedule (daily or weekly, a
 * start hour, a retention count) into each cloud's native schedule. Tests call
 * these directly; the components only wrap them in resources.
 */

/** `04:00`: the HH:MM form AWS DLM and GCP snapshot schedules take. */
export function startTime(hourUtc: number): string {
  return `${String(hourUtc).padStart(2, "0")}:00`;
}

/**
 * The tag that makes an EBS volume a target of its stack's DLM policy. One
 * value per stack and host: AWS refuses two policies with the same target tags.
 */
export function stateSnapshotTag(stack: string, hostName: string): { key: string; value: string } {
  return { key: "ClawStackStateSnapshots", value: `${stack}-${hostName}` };
}

export interface DlmSchedule {
  name: string;
  createRule: { interval: number; intervalUnit: "HOURS"; times: string } | { cronExpression: string };
  retainRule: { count: number };
  copyTags: boolean;
  tagsToAdd: Record<string, string>;
}

/**
 * DLM's `ScheduleName` (botocore `dlm/2018-01-12/service-2.json`): letters, digits, spaces, `_` and `-`,
 * at most 120 characters. The name is built from those only: `weekly SUN 0400 UTC keep 8`.
 */
export function dlmScheduleName(schedule: ActiveSnapshotSchedule): string {
  const day = schedule.frequency === "weekly" ? ` ${schedule.weekday}` : "";
  return `${schedule.frequency}${day} ${String(schedule.hourUtc).padStart(2, "0")}00 UTC keep ${schedule.retain}`;
}

/** One AWS DLM schedule: `retain` snapshots kept, created daily (every 24 h) or weekly (cron). */
export function awsDlmSchedule(schedule: ActiveSnapshotSchedule): DlmSchedule {
  const createRule =
    schedule.frequency === "daily"
      ? { interval: 24, intervalUnit: "HOURS" as const, times: startTime(schedule.hourUtc) }
      : { cronExpression: `cron(0 ${schedule.hourUtc} ? * ${schedule.weekday} *)` };
  return {
    name: dlmScheduleName(schedule),
    createRule,
    retainRule: { count: schedule.retain },
    copyTags: true,
    tagsToAdd: { SnapshotCreator: "clawstack-dlm" },
  };
}

const GCP_WEEKDAYS: Record<Weekday, string> = {
  SUN: "SUNDAY", MON: "MONDAY", TUE: "TUESDAY", WED: "WEDNESDAY", THU: "THURSDAY", FRI: "FRIDAY", SAT: "SATURDAY",
};

export interface GcpSnapshotSchedulePolicy {
  schedule:
    | { dailySchedule: { daysInCycle: number; startTime: string } }
    | { weeklySchedule: { dayOfWeeks: { day: string; startTime: string }[] } };
  retentionPolicy: { maxRetentionDays: number; onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS" };
  snapshotProperties: { labels: Record<string, string>; guestFlush: boolean };
}

/**
 * A GCP snapshot schedule. GCP retains by age, so `retain` snapshots become
 * `retain` days (daily) or `retain` weeks (weekly). Snapshots outlive the disk
 * (`KEEP_AUTO_SNAPSHOTS`): they are what a restore starts from.
 */
export function gcpSnapshotSchedulePolicy(schedule: ActiveSnapshotSchedule, labels: Record<string, string>): GcpSnapshotSchedulePolicy {
  const time = startTime(schedule.hourUtc);
  return {
    schedule:
      schedule.frequency === "daily"
        ? { dailySchedule: { daysInCycle: 1, startTime: time } }
        : { weeklySchedule: { dayOfWeeks: [{ day: GCP_WEEKDAYS[schedule.weekday], startTime: time }] } },
    retentionPolicy: {
      maxRetentionDays: schedule.frequency === "daily" ? schedule.retain : schedule.retain * 7,
      onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS",
    },
    snapshotProperties: { labels, guestFlush: false },
  };
}

export interface DigitalOceanBackupPolicy {
  plan: "daily" | "weekly";
  hour: number;
  weekday?: Weekday;
}

/**
 * DigitalOcean droplet backups (the boot disk). DigitalOcean fixes retention
 * per plan (daily: 7 days, weekly: 4 weeks); `retain` governs the state
 * volume's snapshots, which ClawStack's volume snapshot job takes
 * (`runtime/digitalocean-volume-job.ts`).
 */
export function digitalOceanBackupPolicy(schedule: ActiveSnapshotSchedule): DigitalOceanBackupPolicy {
  return schedule.frequency === "daily"
    ? { plan: "daily", hour: schedule.hourUtc }
    : { plan: "weekly", hour: schedule.hourUtc, weekday: schedule.weekday };
}

/** The DigitalOcean tag that puts a volume on ClawStack's volume snapshot job. */
export const DIGITALOCEAN_SNAPSHOTS_TAG = "clawstack-snapshots";
const RETAIN_TAG_PREFIX = `${DIGITALOCEAN_SNAPSHOTS_TAG}-retain:`;
const PLAN_TAG_PREFIX = `${DIGITALOCEAN_SNAPSHOTS_TAG}-plan:`;

/**
 * DigitalOcean tags on the state volume that the volume snapshot job reads:
 * which volumes to snapshot, and how many snapshots to keep. None when
 * snapshots are off, so an opted-out volume is never snapshotted.
 */
export function digitalOceanVolumeSnapshotTags(schedule: SnapshotSchedule): string[] {
  if (!schedule.enabled) return [];
  return [DIGITALOCEAN_SNAPSHOTS_TAG, `${RETAIN_TAG_PREFIX}${schedule.retain}`, `${PLAN_TAG_PREFIX}${schedule.frequency}`];
}

/**
 * Reads back what `digitalOceanVolumeSnapshotTags` wrote: `undefined` when the
 * volume is not on the job (no `clawstack-snapshots` tag); otherwise the
 * retention (default 7 when the tag is missing or unreadable) and the period.
 */
export function readDigitalOceanVolumeSnapshotTags(
  tags: readonly string[],
): { retain: number; frequency: ActiveSnapshotSchedule["frequency"] } | undefined {
  if (!tags.includes(DIGITALOCEAN_SNAPSHOTS_TAG)) return undefined;
  const retainText = tags.find((tag) => tag.startsWith(RETAIN_TAG_PREFIX))?.slice(RETAIN_TAG_PREFIX.length);
  const retainValue = retainText !== undefined && /^\d{1,4}$/.test(retainText) ? Number(retainText) : Number.NaN;
  const plan = tags.find((tag) => tag.startsWith(PLAN_TAG_PREFIX))?.slice(PLAN_TAG_PREFIX.length);
  return {
    retain: retainValue >= 1 && retainValue <= 1000 ? retainValue : 7,
    frequency: plan === "weekly" ? "weekly" : "daily",
  };
}
