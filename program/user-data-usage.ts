import { USER_DATA_LIMITS } from "../cloud-init/encode.js";
import type { PlannedResource, SynthResult } from "./synth-types.js";
import { SECRET_PLACEHOLDER } from "./synth-types.js";

/**
 * How much of its cloud's user-data limit each instance of a plan uses,
 * measured the way the cloud measures it (`USER_DATA_LIMITS`): DigitalOcean
 * the plain text, AWS the raw bytes (the gzip bytes when sent through
 * `userDataBase64`), GCP the `user-data` metadata value. The synth's text
 * output prints one line per instance: `user data: N of LIMIT bytes`.
 */
export interface UserDataUsage {
  resource: string;
  type: string;
  limit: number;
  /** `undefined` when the user-data is a secret (it carries a registration token) and so cannot be measured here. */
  bytes: number | undefined;
}

function measure(resource: PlannedResource): { limit: number; value: unknown; decode: (text: string) => number } | undefined {
  const inputs = resource.inputs;
  switch (resource.type) {
    case "digitalocean:index/droplet:Droplet":
      return { limit: USER_DATA_LIMITS.digitalocean, value: inputs.userData, decode: (text) => Buffer.byteLength(text, "utf8") };
    case "aws:ec2/instance:Instance":
      return inputs.userDataBase64 !== undefined
        ? { limit: USER_DATA_LIMITS.aws, value: inputs.userDataBase64, decode: (text) => Buffer.from(text, "base64").length }
        : { limit: USER_DATA_LIMITS.aws, value: inputs.userData, decode: (text) => Buffer.byteLength(text, "utf8") };
    case "gcp:compute/instance:Instance":
      return {
        limit: USER_DATA_LIMITS.gcp,
        value: (inputs.metadata as Record<string, unknown> | undefined)?.["user-data"],
        decode: (text) => Buffer.byteLength(text, "utf8"),
      };
    default:
      return undefined;
  }
}

export function userDataUsage(result: SynthResult): UserDataUsage[] {
  const usage: UserDataUsage[] = [];
  for (const resource of result.resources) {
    const measured = measure(resource);
    if (!measured || measured.value === undefined) continue;
    const bytes = typeof measured.value === "string" && measured.value !== SECRET_PLACEHOLDER ? measured.decode(measured.value) : undefined;
    usage.push({ resource: resource.name, type: resource.type, limit: measured.limit, bytes });
  }
  return usage;
}

/** `user data: 41233 of 65536 bytes (openclaw-do)`, or why it was not measured. */
export function formatUserDataUsage(entry: UserDataUsage): string {
  return entry.bytes === undefined
    ? `user data: not measured, a secret (it carries the registration token), limit ${entry.limit} bytes (${entry.resource})`
    : `user data: ${entry.bytes} of ${entry.limit} bytes (${entry.resource})`;
}
