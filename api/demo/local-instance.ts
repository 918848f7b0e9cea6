/**
 * An instance record for a host that was not provisioned by a job (the demo's
 * loopback host, the proxy tests' host): the row a successful `up` leaves
 * (status `ready`, the `gatewayUrl` output) and a single-use registration
 * token, which the host then spends at the real
 * `POST /v1/instances/:id/register`, exactly as a cloud host does at first boot.
 * Never reachable over HTTP: only local tools and tests call it.
 */
import type { Kysely } from "kysely";
import { nowIso } from "../db/ids";
import type { Database } from "../db/schema";
import { issueRegistrationToken } from "../registration/tokens";
import { newInstanceId, stackNameFor } from "../stacks/naming";

export async function createLocalInstance(
  db: Kysely<Database>,
  request: { userId: string; gatewayUrl: string; name?: string },
): Promise<{ instanceId: string; registrationToken: string }> {
  const id = newInstanceId();
  const at = nowIso();
  await db
    .insertInto("instances")
    .values({
      id,
      user_id: request.userId,
      // The column allows the three clouds only; `region: local` and the config say what this is.
      cloud: "digitalocean",
      region: "local",
      size: "small",
      credential_id: null,
      config: JSON.stringify({ local: true, name: request.name ?? "local-openclaw" }),
      stack_name: stackNameFor(request.userId, id),
      status: "ready",
      outputs: JSON.stringify({ gatewayUrl: request.gatewayUrl }),
      last_job_id: null,
      idempotency_key: null,
      request_hash: null,
      gateway_token_ref: null,
      tls_fingerprint: null,
      registered_at: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  const { token } = await issueRegistrationToken(db, { instanceId: id, jobId: null });
  return { instanceId: id, registrationToken: token };
}

/** What the host's `register.sh` does: spend the registration token with the gateway token and the certificate fingerprint. */
export async function registerHost(
  apiUrl: string,
  request: { instanceId: string; registrationToken: string; gatewayToken: string; tlsCertSha256: string },
): Promise<void> {
  const response = await fetch(`${apiUrl}/v1/instances/${request.instanceId}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registrationToken: request.registrationToken, gatewayToken: request.gatewayToken, tlsCertSha256: request.tlsCertSha256 }),
  });
  if (response.status !== 204) throw new Error(`registration answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
}
