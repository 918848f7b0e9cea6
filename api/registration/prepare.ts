/**
 * The worker side of registration: before an `up` runs, a fresh single-use
 * registration token is issued and added to the stack's config as
 * `registration: { apiUrl, instanceId, token }` for the host's cloud-init to
 * put in user-data. The token lives only in this job's memory, in the
 * user-data and, hashed, in `registration_tokens`; it is redacted from every
 * job event. Enabled when the deployment has a public URL
 * (`CLAWSTACK_PUBLIC_URL`) the hosts can reach over TLS. The same `up` carries
 * `supportAccess` (the device keys the instance pinned at creation and the API
 * URL its support agent polls) when the instance pins any.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import type { ConfigPreparer } from "../engine/preparer";
import type { ProxyDevicePublic } from "../proxy/device-identity";
import { supportAccessFor } from "../support/pinning";
import { findInstance } from "../support/repo";
import { issueRegistrationToken } from "./tokens";

export function registrationPreparer(db: Kysely<Database>, publicUrl: string | undefined, proxyDevice?: ProxyDevicePublic): ConfigPreparer {
  return async (job, instance, config) => {
    if (job.operation !== "up" || !publicUrl) return { config, secrets: [] };
    const { token, expiresAt } = await issueRegistrationToken(db, { instanceId: instance.id, jobId: job.id });
    // The device keys pinned at creation (docs/zero-access.md): absent when none, and then the host runs no support agent.
    const pinned = await findInstance(db, instance.id);
    const supportAccess = pinned ? supportAccessFor(pinned, publicUrl) : undefined;
    // Only the pinned keys: a `supportAccess` from anywhere else (a stored request) never reaches the host.
    // Likewise the proxy's device: only this deployment's (docs/proxy.md "Device identity").
    const { supportAccess: _unpinned, proxyDevice: _foreign, ...rest } = config;
    void _unpinned;
    void _foreign;
    return {
      config: { ...rest, registration: { apiUrl: `${publicUrl}/v1/instances/${instance.id}/register`, instanceId: instance.id, token }, ...(supportAccess ? { supportAccess } : {}), ...(proxyDevice ? { proxyDevice: { ...proxyDevice } } : {}) },
      secrets: [token],
      note: `registration token issued for first boot (single use, valid until ${expiresAt})`,
    };
  };
}
