/**
 * The `snapshots` job (issue 16): what the worker runs to list the snapshots
 * of an instance's state disk. The disk is the stack's `stateDiskId` output;
 * the cloud call goes through runtime/state-snapshots.ts with the job's
 * short-lived credentials (a DigitalOcean token, an assumed AWS role session,
 * a GCP external-account configuration), as a power job's does. Read only.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { gcpAuthorizedRequest } from "../../runtime/gcp-auth";
import {
  type StateSnapshotList,
  StateSnapshotsError,
  listAwsVolumeSnapshots,
  listDigitalOceanVolumeSnapshots,
  listGcpDiskSnapshots,
} from "../../runtime/state-snapshots";
import { type PowerOptions, type PowerTarget, standInGcpRequest } from "./power";

export { StateSnapshotsError, type StateSnapshot, type StateSnapshotList } from "../../runtime/state-snapshots";

/** The state disk's id from the stack's outputs, or undefined when the stack exports none (never deployed, or older). */
export function stateDiskIdOf(outputs: Record<string, unknown>): string | undefined {
  const value = outputs.stateDiskId;
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Why an instance's snapshots cannot be listed, in the words the API answers with. */
export const NO_STATE_DISK =
  "the instance has no `stateDiskId` output (its state disk) yet: run `up` so the stack exports it, then list its snapshots";

/** Lists the state disk's snapshots with the job's credential environment (`DIGITALOCEAN_TOKEN`, `AWS_*`, `GOOGLE_CREDENTIALS`). */
export async function listStateSnapshots(target: Omit<PowerTarget, "config">, env: Record<string, string>, options: PowerOptions = {}): Promise<StateSnapshotList & { stateDiskId: string }> {
  const stateDiskId = stateDiskIdOf(target.outputs);
  if (!stateDiskId) throw new StateSnapshotsError("not-found", NO_STATE_DISK);
  switch (target.cloud) {
    case "digitalocean": {
      const token = env.DIGITALOCEAN_TOKEN;
      if (!token) throw new StateSnapshotsError("cloud-error", "the job has no DigitalOcean token");
      const list = await listDigitalOceanVolumeSnapshots({ token, volumeId: stateDiskId, ...(options.endpoints?.digitalocean ? { baseUrl: options.endpoints.digitalocean } : {}) });
      return { ...list, stateDiskId };
    }
    case "aws": {
      const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
      if (!accessKeyId || !secretAccessKey) throw new StateSnapshotsError("cloud-error", "the job has no AWS session");
      const ec2 = new EC2Client({
        region: target.region,
        credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
        ...(options.endpoints?.ec2 ? { endpoint: options.endpoints.ec2 } : {}),
      });
      try {
        return { ...(await listAwsVolumeSnapshots({ ec2, volumeId: stateDiskId })), stateDiskId };
      } finally {
        ec2.destroy();
      }
    }
    case "gcp": {
      const json = env.GOOGLE_CREDENTIALS;
      if (!json) throw new StateSnapshotsError("cloud-error", "the job has no GCP credential configuration");
      const request = options.endpoints?.compute ? standInGcpRequest : gcpAuthorizedRequest(JSON.parse(json) as Record<string, unknown>);
      const list = await listGcpDiskSnapshots({ request, diskId: stateDiskId, ...(options.endpoints?.compute ? { baseUrl: options.endpoints.compute } : {}) });
      return { ...list, stateDiskId };
    }
    default: {
      const unknown: never = target.cloud;
      throw new StateSnapshotsError("cloud-error", `unknown cloud ${String(unknown)}`);
    }
  }
}
