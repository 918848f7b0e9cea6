/**
 * Power jobs (`stop`, `start`, `reboot`): what the worker runs instead of a
 * Pulumi operation for these three. The instance is found by the stack's last
 * outputs (`instanceId`) and its config (GCP project, zone, name); the cloud
 * call goes through runtime/power.ts with the job's credentials, the same
 * short-lived material a Pulumi job gets (a DigitalOcean token, an assumed
 * AWS role session, a GCP external-account configuration), never stored.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { gcpAuthorizedRequest } from "../../runtime/gcp-auth";
import { type GcpRequest, type PowerAction, PowerError, type PowerResult, awsPower, digitalOceanPower, gcpPower } from "../../runtime/power";
import type { Cloud } from "../db/schema";

export { POWER_ACTIONS, PowerError, type PowerAction, type PowerResult } from "../../runtime/power";

export interface PowerTarget {
  cloud: Cloud;
  region: string;
  /** The instance's stored host config (`name`, `zone`, `gcpProject` are read). */
  config: Record<string, unknown>;
  /** The stack's last outputs (`instanceId`). */
  outputs: Record<string, unknown>;
}

export interface PowerEndpoints {
  digitalocean?: string;
  ec2?: string;
  compute?: string;
}

export interface PowerOptions {
  /** Stand-in endpoints (tests); the clouds' own otherwise. */
  endpoints?: PowerEndpoints;
  pollMs?: number;
  waitMs?: number;
}

/** A stand-in Compute endpoint takes plain JSON requests (tests); the real one gets the authorized client. */
export const standInGcpRequest: GcpRequest = async (method, url, body) => {
  const answer = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
  return { status: answer.status, body: (await answer.json()) as unknown };
};

/** Runs one power action with the job's credential environment (`DIGITALOCEAN_TOKEN`, `AWS_*`, `GOOGLE_CREDENTIALS`). */
export async function runPowerAction(action: PowerAction, target: PowerTarget, env: Record<string, string>, options: PowerOptions = {}): Promise<PowerResult> {
  const instanceId = target.outputs.instanceId;
  if (typeof instanceId !== "string" && typeof instanceId !== "number") {
    throw new PowerError("not-found", "the instance has no `instanceId` output yet: run `up` first");
  }
  const wait = { ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}), ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}) };
  switch (target.cloud) {
    case "digitalocean": {
      const token = env.DIGITALOCEAN_TOKEN;
      if (!token) throw new PowerError("cloud-error", "the job has no DigitalOcean token");
      return digitalOceanPower({ token, dropletId: Number(instanceId), action, ...wait, ...(options.endpoints?.digitalocean ? { baseUrl: options.endpoints.digitalocean } : {}) });
    }
    case "aws": {
      const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
      if (!accessKeyId || !secretAccessKey) throw new PowerError("cloud-error", "the job has no AWS session");
      const ec2 = new EC2Client({
        region: target.region,
        credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
        ...(options.endpoints?.ec2 ? { endpoint: options.endpoints.ec2 } : {}),
      });
      try {
        return await awsPower({ ec2, instanceId: String(instanceId), action, ...wait });
      } finally {
        ec2.destroy();
      }
    }
    case "gcp": {
      const json = env.GOOGLE_CREDENTIALS;
      if (!json) throw new PowerError("cloud-error", "the job has no GCP credential configuration");
      const project = target.config.gcpProject;
      const zone = target.config.zone;
      const name = target.config.name;
      if (typeof project !== "string" || typeof zone !== "string" || typeof name !== "string") {
        throw new PowerError("not-found", "the instance's config names no GCP project, zone and name");
      }
      const request = options.endpoints?.compute ? standInGcpRequest : gcpAuthorizedRequest(JSON.parse(json) as Record<string, unknown>);
      return gcpPower({ request, project, zone, instance: name, action, ...wait, ...(options.endpoints?.compute ? { baseUrl: options.endpoints.compute } : {}) });
    }
    default: {
      const unknown: never = target.cloud;
      throw new PowerError("cloud-error", `unknown cloud ${String(unknown)}`);
    }
  }
}
