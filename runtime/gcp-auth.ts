/**
 * An authorized JSON request to Google APIs with the customer's Workload
 * Identity Federation configuration (the vault's `gcp` credential, an
 * `external_account` JSON: no service-account key exists). google-auth-library
 * exchanges the external token for a short-lived access token and refreshes
 * it; the token never leaves the client object.
 */
import { ExternalAccountClient } from "google-auth-library";
import type { GcpRequest } from "./power.js";

export const GCP_COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute";

export function gcpAuthorizedRequest(externalAccount: Record<string, unknown>, scopes: string[] = [GCP_COMPUTE_SCOPE]): GcpRequest {
  const client = ExternalAccountClient.fromJSON({ ...(externalAccount as object), scopes } as Parameters<typeof ExternalAccountClient.fromJSON>[0]);
  if (!client) throw new TypeError("the GCP credential is not an external_account configuration");
  return async (method, url, body) => {
    const answer = await client.request({ url, method, ...(body === undefined ? {} : { data: body }), validateStatus: () => true, timeout: 30_000 });
    return { status: answer.status, body: answer.data };
  };
}
