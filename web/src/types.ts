/** The API's answer shapes, as the API's own view schemas declare them (types only: nothing of the server is bundled). */
import type { z } from "zod";
import type { InstanceView, JobView } from "../../api/jobs/views";
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
