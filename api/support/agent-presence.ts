/**
 * Whether an instance's host runs the support agent, as far as the API can know (docs/zero-access.md,
 * "The agent on AWS: fetched at first boot"). A host with support access creates its host credential in its
 * support setup and sends it when it registers; a host that fetches its agent runs that setup only once the
 * agent it fetched matched the SHA-256 pinned in its user-data. So the registration says it:
 *
 *   present   a host credential is on record: the agent is there.
 *   absent    the host registered without one: it was built without the agent (support access off, or an
 *             AWS host built before the agent could be fetched), or its fetch failed. No grant can reach it.
 *   unknown   the host has not registered yet.
 *
 * Hosts the API builds take the default `supportAccess.agent.install: auto`: DigitalOcean and GCP embed the
 * agent in user-data, so it arrives with the host and a grant made before registration waits for it; AWS
 * fetches it at first boot, so until the host registers nobody knows whether it got it, and a grant is refused.
 */
import type { ZeroAccessInstance } from "./repo";

export type SupportAgentState = "present" | "absent" | "unknown";

export function supportAgentState(instance: Pick<ZeroAccessInstance, "host_token_hash" | "registered_at">): SupportAgentState {
  if (instance.host_token_hash !== null) return "present";
  return instance.registered_at === null ? "unknown" : "absent";
}

/** Why a grant for this instance would never reach its host, or undefined when it can. */
export function agentGrantRefusal(instance: Pick<ZeroAccessInstance, "cloud" | "host_token_hash" | "registered_at">): string | undefined {
  switch (supportAgentState(instance)) {
    case "present":
      return undefined;
    case "absent":
      return "`id`: this host registered without the support agent (built without support access, or the agent could not be fetched at its first boot: see the host's cloud-init log), so it cannot take a grant; re-create it to get the agent";
    case "unknown":
      return instance.cloud === "aws"
        ? "`id`: this AWS host has not registered yet; it fetches its support agent at first boot, so a grant is accepted once it has registered with the agent in place"
        : undefined;
  }
}
