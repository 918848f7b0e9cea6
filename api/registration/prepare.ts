/**
 * The worker side of registration: before an `up` runs, a fresh single-use
 * registration token is issued and added to the stack's config as
 * `registration: { apiUrl, instanceId, token }` for the host's cloud-init to
 * put in user-data. The token lives only in this job's memory, in the
 * user-data and, hashed, in `registration_tokens`; it is redacted from every
 * job event. Enabled when the deployment has a public URL
 * (`CLAWSTACK_PUBLIC_URL`) the hosts can reach over TLS.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import type { ConfigPreparer } from "../jobs/worker";
import { issueRegistrationToken } from "./tokens";

export function registrationPreparer(db: Kysely<Database>, publicUrl: string | undefined): ConfigPreparer {
  return async (job, instance, config) => {
    if (job.operation !== "up" || !publicUrl) return { config, secrets: [] };
    const { token, expiresAt } = await issueRegistrationToken(db, { instanceId: instance.id, jobId: job.id });
    return {
      config: { ...config, registration: { apiUrl: `${publicUrl}/v1/instances/${instance.id}/register`, instanceId: instance.id, token } },
      secrets: [token],
      note: `registration token issued for first boot (single use, valid until ${expiresAt})`,
    };
  };
}
