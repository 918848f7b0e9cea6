/**
 * Where an instance's gateway is and how to trust it: the address from the
 * stack's `gatewayUrl` output (the cloud's, never the user's input), the
 * fingerprint and the gateway token the host registered. The token is
 * decrypted in memory for the connection only.
 */
import type { Kysely } from "kysely";
import type { Database, Instance } from "../db/schema";
import { readGatewayToken } from "../registration/gateway-tokens";
import type { KeyWrapper } from "../vault/key-wrapper";
import type { PinnedTarget } from "./pinned-tls";

export type TargetRefusal = "not_registered" | "no_address" | "deleted";

/** Why the proxy cannot reach this instance's gateway, or undefined. */
export function targetRefusal(instance: Pick<Instance, "status" | "registered_at" | "tls_fingerprint" | "outputs">): TargetRefusal | undefined {
  if (instance.status === "destroying" || instance.status === "destroyed") return "deleted";
  if (instance.registered_at === null || instance.tls_fingerprint === null) return "not_registered";
  return gatewayAddress(instance.outputs) ? undefined : "no_address";
}

export const TARGET_REFUSAL_MESSAGES: Record<TargetRefusal, string> = {
  not_registered: "the instance's host has not registered its gateway yet (it does at first boot)",
  no_address: "the instance has no gateway address yet (`gatewayUrl` appears in its outputs after a successful `up`)",
  deleted: "the instance is being deleted",
};

/** Host and port of the `gatewayUrl` output (`https://<address>:3000`), or undefined. */
export function gatewayAddress(outputs: string | null): { host: string; port: number } | undefined {
  if (outputs === null) return undefined;
  let url: URL;
  try {
    const value = (JSON.parse(outputs) as Record<string, unknown>).gatewayUrl;
    if (typeof value !== "string") return undefined;
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || url.hostname === "") return undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? 443 : Number(url.port) };
}

export interface GatewayTarget extends PinnedTarget {
  token: string;
}

/** The pinned target with its token, or undefined when the instance cannot be proxied (see `targetRefusal`). */
export async function resolveTarget(db: Kysely<Database>, wrapper: KeyWrapper, instance: Instance): Promise<GatewayTarget | undefined> {
  if (targetRefusal(instance) !== undefined) return undefined;
  const address = gatewayAddress(instance.outputs)!;
  const token = await readGatewayToken(db, wrapper, instance.id);
  if (token === undefined) return undefined;
  return { ...address, sha256: instance.tls_fingerprint!, token };
}
