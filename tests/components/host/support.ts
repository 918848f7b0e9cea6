import { gunzipSync } from "node:zlib";
import { synthConfig } from "../../../program/synth.js";
import type { PlannedResource, SynthResult } from "../../../program/synth-types.js";

/** A real ed25519 public key (its blob encodes `ssh-ed25519`), for sshAccess cases. */
export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl owner@laptop";
export const GATEWAY = ["203.0.113.0/24", "2001:db8:1::/48"];
export const CLIENTS = ["198.51.100.0/24"];
export const VERSIONS = { openclaw: "2026.1.29", node: "24.15.0" };

/** The smallest valid host config per cloud: everything optional left to its default. */
export const BASE: Record<"digitalocean" | "aws" | "gcp", Record<string, unknown>> = {
  digitalocean: { cloud: "digitalocean", name: "claw", region: "fra1", gatewayCidrs: GATEWAY, versions: VERSIONS },
  aws: { cloud: "aws", name: "claw", region: "eu-west-1", gatewayCidrs: GATEWAY, versions: VERSIONS },
  gcp: { cloud: "gcp", name: "claw", region: "europe-west1", gcpProject: "claw-test-project", gatewayCidrs: GATEWAY, versions: VERSIONS },
};

export async function synthHost(cloud: keyof typeof BASE, overrides: Record<string, unknown> = {}): Promise<SynthResult> {
  return synthConfig(`host-${cloud}`, { ...BASE[cloud], ...overrides });
}

export function allOfType(result: SynthResult, type: string): PlannedResource[] {
  return result.resources.filter((resource) => resource.type === type);
}

export function oneOfType(result: SynthResult, type: string): PlannedResource {
  const found = allOfType(result, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** The #cloud-config text from any of the three encodings the host components use. */
export function cloudConfigOf(value: unknown): string {
  const text = String(value);
  if (text.startsWith("#cloud-config")) return text;
  return gunzipSync(Buffer.from(text, "base64")).toString("utf8");
}
