/** What the API shows of instances and jobs (never a token hash, a credential or a secret). */
import { z } from "zod";
import { JOB_OPERATIONS } from "../engine/types";
import { healthView } from "../health/view";
import type { Instance, Job } from "../db/schema";

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
