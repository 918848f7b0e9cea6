/** The API's answer shapes, as the API's own view schemas declare them (types only: nothing of the server is bundled). */
import type { z } from "zod";
import type { InstanceView, JobView, instanceSnapshotsAnswer } from "../../api/jobs/views";
import type {
  apiKeyViewSchema,
  auditViewSchema,
  credentialViewSchema,
  inviteViewSchema,
  planViewSchema,
  userViewSchema,
} from "../../api/routes/views";

export type Me = z.infer<typeof userViewSchema>;
export type User = Me;
export type ApiKey = z.infer<typeof apiKeyViewSchema>;
export type Credential = z.infer<typeof credentialViewSchema>;
export type AuditEntry = z.infer<typeof auditViewSchema>;
export type Invite = z.infer<typeof inviteViewSchema>;
export type Plan = z.infer<typeof planViewSchema>;
export type { InstanceView, JobView };

/** `result` of a finished preview job (api/engine/types.ts PreviewOutcome, the parts shown here). */
export interface PreviewResult {
  plan: { resources: { type: string; name: string; urn: string }[]; outputs: Record<string, unknown> };
  violations: { policy: string; enforcement: string; message: string; urn?: string; resourceType?: string }[];
  mandatoryViolations: number;
  preflight?: { findings: number; notes: string[] };
}

/** `POST /v1/instances/plan`: the preview of a create request (api/routes/instance-extras.ts). */
export interface PlanAnswer {
  config: Record<string, unknown>;
  credentialId: string;
  summary: { resources: number; byType: { type: string; count: number }[] };
  preview: PreviewResult;
}

/** `GET /v1/instances/:id/jobs`: one page, newest first (each job without its result). */
export interface InstanceJobsPage {
  jobs: Omit<JobView, "result">[];
  next: string | null;
}

/** `GET /v1/instances/:id/health`. */
export interface HealthHistory {
  instanceStatus: InstanceView["status"];
  latest: InstanceView["health"];
  transitions: { id: number; at: string; status: string; latencyMs: number }[];
  next: number | null;
}

/** `GET /v1/instances/:id/snapshots`: the schedule, the state disk's snapshots as last listed, the newest listing job. */
export type InstanceSnapshots = z.infer<typeof instanceSnapshotsAnswer>;
