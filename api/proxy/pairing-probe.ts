/**
 * The proxy device's pairing probe (docs/proxy.md "Device identity"): one
 * signed `connect` to an instance's gateway, over the same pinned TLS, then
 * closed. On a host that has not paired the proxy's device yet it leaves the
 * pending request that the host's approve-proxy-device.sh timer approves,
 * so a user's first chat does not meet `NOT_PAIRED`. The health checker runs
 * it when an instance's gateway comes up. Nothing of the exchange is kept or
 * logged but the outcome.
 */
import type { Kysely } from "kysely";
import WebSocket from "ws";
import type { Database } from "../db/schema";
import { getInstance } from "../jobs/instances-repo";
import type { KeyWrapper } from "../vault/key-wrapper";
import type { ProxyDeviceIdentity } from "./device-identity";
import { injectGatewayToken, openUpstream, readChallenge } from "./gateway-bridge";
import { connectPinned } from "./pinned-tls";
import { PROXY_DEFAULTS } from "./settings";
import { type GatewayTarget, resolveTarget } from "./target";

/** `paired`: operator scopes granted; `pending`: the gateway recorded a pairing request; `failed`: anything else. */
export type PairingOutcome = "paired" | "pending" | "failed";

/** The scopes the probe asks for: what Claw Cloud's clients ask (the host approves these). */
export const PROBE_SCOPES = ["operator.read", "operator.write"];

export async function probeProxyPairing(target: GatewayTarget, device: ProxyDeviceIdentity, timeoutMs: number): Promise<PairingOutcome> {
  let socket;
  try {
    socket = await connectPinned(target, timeoutMs);
  } catch {
    return "failed";
  }
  const upstream = openUpstream(socket, target, { ...PROXY_DEFAULTS, connectTimeoutMs: timeoutMs });
  return new Promise<PairingOutcome>((resolve) => {
    const done = (outcome: PairingOutcome) => {
      clearTimeout(timer);
      upstream.removeAllListeners("message");
      if (upstream.readyState === WebSocket.OPEN) upstream.close(1000);
      else upstream.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => done("failed"), timeoutMs);
    upstream.on("error", () => done("failed"));
    upstream.on("close", () => done("failed"));
    upstream.on("message", (data) => {
      const challenge = readChallenge(data);
      if (challenge) {
        const connect = {
          type: "req",
          id: "pairing-probe",
          method: "connect",
          params: { minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "clawstack-proxy", platform: "linux", mode: "cli" }, role: "operator", scopes: PROBE_SCOPES, caps: [] },
        };
        const checked = injectGatewayToken(Buffer.from(JSON.stringify(connect)), target.token, { device, challenge });
        if (!checked.ok) return done("failed");
        upstream.send(checked.frame);
        return;
      }
      let frame: { type?: string; id?: string; ok?: boolean; error?: { code?: string } };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return;
      }
      if (frame.type !== "res" || frame.id !== "pairing-probe") return;
      done(frame.ok === true ? "paired" : frame.error?.code === "NOT_PAIRED" ? "pending" : "failed");
    });
  });
}

/** The health checker's hook: probes the instance's gateway with the deployment's device (its token from the vault). */
export function proxyPairingProbe(db: Kysely<Database>, wrapper: KeyWrapper, device: ProxyDeviceIdentity, timeoutMs = 5_000): (instanceId: string) => Promise<PairingOutcome> {
  return async (instanceId) => {
    const instance = await getInstance(db, instanceId);
    if (!instance) return "failed";
    const target = await resolveTarget(db, wrapper, instance);
    return target ? probeProxyPairing(target, device, timeoutMs) : "failed";
  };
}
