/** What the API shows of instances and jobs (never a token hash, a credential or a secret). */
import { z } from "zod";
import { JOB_OPERATIONS } from "../engine/types";
import { healthView } from "../health/view";
import type { Cloud, Instance, Job } from "../db/schema";
import { stateDiskIdOf } from "../engine/state-snapshots";

export const jobViewSchema = z.object({
  id: z.string(),
  instanceId: z.string(),
  operation: z.enum(JOB_OPERATIONS as unknown as ["preview", "up", "refresh", "destroy", "stop", "start", "reboot", "support-open", "support-close", "snapshots"]),
  state: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  cancelRequested: z.boolean(),
  error: z
    .object({ code: z.string(), message: z.string(), field: z.string().optional() })
    .nullable()
    .describe("Why the job failed (or, while queued for a retry, why the last attempt failed)"),
  result: z.unknown().describe("preview: `{ plan, violations, mandatoryViolations }`; up/refresh/destroy: `{ outputs, changes }`"),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  eventsUrl: z.string().describe("Server-sent events of the job's progress, resumable with `Last-Event-ID`"),
});
export type JobView = z.infer<typeof jobViewSchema>;

export function jobView(job: Job): JobView {
  return {
    id: job.id,
    instanceId: job.instance_id,
    operation: job.operation,
    state: job.state,
    attempt: Number(job.attempt),
    maxAttempts: Number(job.max_attempts),
    cancelRequested: Number(job.cancel_requested) === 1,
    error:
      job.error_code !== null
        ? { code: job.error_code, message: job.error ?? "", ...(job.error_field ? { field: job.error_field } : {}) }
        : null,
    result: job.result === null ? null : (JSON.parse(job.result) as unknown),
    createdAt: job.created_at,
    startedAt: job.started_at,
    finishedAt: job.finished_at,
    eventsUrl: `/v1/jobs/${job.id}/events`,
  };
}

export const instanceViewSchema = z.object({
  id: z.string(),
  cloud: z.string(),
  region: z.string(),
  size: z.string(),
  status: z.enum(["pending", "provisioning", "ready", "failed", "refreshing", "destroying", "destroyed", "stopping", "stopped", "starting", "rebooting"]),
  stackName: z.string().describe("The instance's Pulumi stack: `u-<user hash>-i-<instance hex>`"),
  config: z.record(z.string(), z.unknown()).describe("The stack's `clawstack:*` config (no secrets)"),
  outputs: z.record(z.string(), z.unknown()).nullable().describe("Stack outputs after the last successful up/refresh; secrets as `[secret]`"),
  lastJob: jobViewSchema.nullable(),
  registration: z
    .object({ registeredAt: z.string(), tlsCertSha256: z.string() })
    .nullable()
    .describe("Set once the host registered at first boot (its gateway token is in the vault, never shown)"),
  health: z
    .object({
      status: z.enum(["unknown", "up", "down", "cert_mismatch", "stopped"]).describe("`stopped`: the instance is stopped (or stopping, starting, rebooting) on purpose, so it is not checked"),
      checkedAt: z.string().nullable(),
      lastSeenAt: z.string().nullable().describe("Last time the gateway answered ready over the pinned TLS"),
      latencyMs: z.number().nullable().describe("Round trip of that check (TLS handshake and `GET /readyz`)"),
      certificate: z.enum(["match", "mismatch"]).nullable().describe("`mismatch`: the gateway presents another certificate than the registered one (an alarm; never re-pinned)"),
    })
    .describe("The gateway's health as the workers' checker last saw it (docs/proxy.md)"),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type InstanceView = z.infer<typeof instanceViewSchema>;

export function instanceView(instance: Instance, lastJob: Job | undefined): InstanceView {
  return {
    id: instance.id,
    cloud: instance.cloud,
    region: instance.region,
    size: instance.size,
    status: instance.status,
    stackName: instance.stack_name,
    config: JSON.parse(instance.config) as Record<string, unknown>,
    outputs: instance.outputs === null ? null : (JSON.parse(instance.outputs) as Record<string, unknown>),
    lastJob: lastJob ? jobView(lastJob) : null,
    registration:
      instance.registered_at !== null && instance.tls_fingerprint !== null
        ? { registeredAt: instance.registered_at, tlsCertSha256: instance.tls_fingerprint }
        : null,
    health: healthView(instance),
    createdAt: instance.created_at,
    updatedAt: instance.updated_at,
  };
}

// ---------------------------------------------------------------------------
// An instance's snapshots (`GET /v1/instances/:id/snapshots`, api/routes/instance-snapshots.ts): the stack's
// schedule, and the state disk's snapshots as the newest successful `snapshots` job listed them.

const snapshotSchema = z.object({
  id: z.string().describe("The cloud's id of the snapshot (DigitalOcean snapshot id, `snap-...`, GCP snapshot name)"),
  createdAt: z.string().describe("When the cloud started it, ISO 8601 UTC"),
  name: z.string().optional(),
  sizeGiB: z.number().optional().describe("Size of the disk it restores, GiB"),
  status: z.string().optional().describe("The cloud's word for its state, lower case (`completed`, `pending`, `ready`...); DigitalOcean lists finished ones only"),
  source: z.enum(["schedule", "manual", "unknown"]).describe("`schedule`: taken by the stack's schedule; `manual`: anything else; `unknown`: the cloud does not say"),
});

const scheduleSchema = z
  .object({
    enabled: z.boolean(),
    frequency: z.enum(["daily", "weekly"]).optional(),
    hourUtc: z.number().int().optional(),
    weekday: z.string().optional(),
    retain: z.number().int().optional(),
  })
  .nullable()
  .describe("The stack's `snapshots` config; null for an instance created before it was stored (the default schedule)");

const TAKEN_BY: Record<Cloud, string> = {
  digitalocean: "ClawStack's snapshot sweep (DigitalOcean has no schedule for volumes)",
  aws: "AWS Data Lifecycle Manager (the stack's lifecycle policy)",
  gcp: "a GCP snapshot schedule (the stack's resource policy on the disk)",
};

/** The answer of `GET /v1/instances/:id/snapshots` (the dashboard takes its type from it). */
export const instanceSnapshotsAnswer = z.object({
  schedule: scheduleSchema,
  scheduleSummary: z.string().nullable().describe("The stack's `snapshots` output (the schedule as deployed), null before the first `up`"),
  takenBy: z.string().describe("What takes the scheduled snapshots on this cloud"),
  stateDiskId: z.string().nullable().describe("The stack's `stateDiskId` output; null: nothing to list yet (run `up`)"),
  listedAt: z.string().nullable().describe("When the snapshots below were listed in the cloud; null: never"),
  snapshots: z.array(snapshotSchema).describe("The state disk's snapshots at `listedAt`, newest first (at most 500)"),
  total: z.number().int().describe("How many snapshots the disk had at `listedAt`"),
  listing: jobViewSchema.omit({ result: true }).nullable().describe("The newest `snapshots` job (queued, running, or how it ended); null: never listed"),
});

type ListingResult = { listedAt: string; stateDiskId: string; snapshots: z.infer<typeof snapshotSchema>[]; total: number };

function listingOf(job: Job | undefined): ListingResult | undefined {
  if (!job?.result) return undefined;
  const parsed = JSON.parse(job.result) as Partial<ListingResult>;
  if (typeof parsed.listedAt !== "string" || !Array.isArray(parsed.snapshots)) return undefined;
  return { listedAt: parsed.listedAt, stateDiskId: String(parsed.stateDiskId ?? ""), snapshots: parsed.snapshots, total: Number(parsed.total ?? parsed.snapshots.length) };
}

function scheduleOf(config: Record<string, unknown>): z.infer<typeof scheduleSchema> {
  const schedule = config.snapshots as Record<string, unknown> | undefined;
  if (!schedule || typeof schedule.enabled !== "boolean") return null;
  return scheduleSchema.unwrap().parse({
    enabled: schedule.enabled,
    ...(schedule.frequency === "daily" || schedule.frequency === "weekly" ? { frequency: schedule.frequency } : {}),
    ...(typeof schedule.hourUtc === "number" ? { hourUtc: schedule.hourUtc } : {}),
    ...(typeof schedule.weekday === "string" ? { weekday: schedule.weekday } : {}),
    ...(typeof schedule.retain === "number" ? { retain: schedule.retain } : {}),
  });
}

/** The answer for `instance`, from its newest `snapshots` job (`latest`) and its newest successful one. */
export function instanceSnapshotsView(instance: Instance, jobs: { latest?: Job; succeeded?: Job }): z.infer<typeof instanceSnapshotsAnswer> {
  const config = JSON.parse(instance.config) as Record<string, unknown>;
  const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
  const listed = listingOf(jobs.succeeded);
  const stateDiskId = stateDiskIdOf(outputs) ?? null;
  // A list of another disk (the stack replaced it since) is not this disk's: it is not shown.
  const current = listed && stateDiskId !== null && listed.stateDiskId === stateDiskId ? listed : undefined;
  let listing = null;
  if (jobs.latest) {
    const { result: _result, ...view } = jobView(jobs.latest);
    void _result;
    listing = view;
  }
  return {
    schedule: scheduleOf(config),
    scheduleSummary: typeof outputs.snapshots === "string" ? outputs.snapshots : null,
    takenBy: TAKEN_BY[instance.cloud],
    stateDiskId,
    listedAt: current?.listedAt ?? null,
    snapshots: current?.snapshots ?? [],
    total: current?.total ?? 0,
    listing,
  };
}
