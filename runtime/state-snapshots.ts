/**
 * The snapshots of a host's state disk, as each cloud lists them (issue 16:
 * "snapshots and their schedule" on the dashboard). Read only: nothing here
 * creates, changes or deletes a snapshot.
 *
 *   DigitalOcean  GET /v2/volumes/{id}/snapshots (scope `block_storage_snapshot:read`);
 *                 ClawStack's own job takes them (runtime/digitalocean-volume-job.ts)
 *   AWS           EC2 DescribeSnapshots, owner `self`, filter `volume-id` (`ec2:Describe*`);
 *                 the stack's DLM policy takes them
 *   GCP           Compute `snapshots.list` filtered by `sourceDisk` (`compute.snapshots.list`);
 *                 the stack's snapshot-schedule resource policy takes them
 *
 * Each snapshot says where it came from: `schedule` (ClawStack's DigitalOcean
 * job, the DLM policy's `aws:dlm:lifecycle-policy-id` tag, GCP's
 * `autoCreated`), `manual` (anything else the cloud says was made on
 * purpose), or `unknown` (the cloud does not say). `sizeGiB` is the size of
 * the disk a snapshot restores (DigitalOcean `min_disk_size`, EBS
 * `VolumeSize`, GCP `diskSizeGb`), `status` the cloud's own word for its state
 * in lower case (DigitalOcean lists only finished snapshots and has none).
 * Lists are newest first, at most `MAX_SNAPSHOTS` of them (`total` says how
 * many the disk has).
 */
import { DescribeSnapshotsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { isClawStackSnapshot } from "./digitalocean-volume-job.js";
import { DigitalOceanApiError, DigitalOceanToken, digitalOceanErrorMessage, digitalOceanRequest, type DigitalOceanApiOptions } from "./digitalocean-api.js";
import type { GcpRequest } from "./power.js";

export type SnapshotSource = "schedule" | "manual" | "unknown";

export interface StateSnapshot {
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly name?: string;
  readonly sizeGiB?: number;
  readonly status?: string;
  readonly source: SnapshotSource;
}

export interface StateSnapshotList {
  /** Newest first, at most `MAX_SNAPSHOTS`. */
  readonly snapshots: readonly StateSnapshot[];
  /** How many snapshots of the disk the cloud listed. */
  readonly total: number;
}

/** The most snapshots a list keeps (the newest); retention is at most 1000, so a disk rarely has more. */
export const MAX_SNAPSHOTS = 500;
/** Pages followed before giving up: far beyond any retention ClawStack configures. */
const MAX_PAGES = 50;

export class StateSnapshotsError extends Error {
  constructor(
    readonly code: "invalid-disk" | "not-found" | "cloud-error",
    message: string,
  ) {
    super(message);
    this.name = "StateSnapshotsError";
  }
}

function newestFirst(snapshots: StateSnapshot[]): StateSnapshotList {
  snapshots.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1));
  return { snapshots: snapshots.slice(0, MAX_SNAPSHOTS), total: snapshots.length };
}

function isoOrThrow(value: unknown, what: string): string {
  const parsed = typeof value === "string" || value instanceof Date ? new Date(value) : undefined;
  if (!parsed || Number.isNaN(parsed.getTime())) throw new StateSnapshotsError("cloud-error", `${what} has no valid creation time`);
  return parsed.toISOString();
}

function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === "string" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) && number > 0 ? number : undefined;
}

// ---------------------------------------------------------------------------
// DigitalOcean (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Block-Storage-Actions)

export interface DigitalOceanSnapshotsParams extends DigitalOceanApiOptions {
  readonly token: string | DigitalOceanToken;
  /** The state volume's id (the stack's `stateDiskId` output). */
  readonly volumeId: string;
}

interface DigitalOceanSnapshot {
  id?: unknown;
  name?: unknown;
  created_at?: unknown;
  min_disk_size?: unknown;
  tags?: unknown;
}

export async function listDigitalOceanVolumeSnapshots(params: DigitalOceanSnapshotsParams): Promise<StateSnapshotList> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(params.volumeId)) {
    throw new StateSnapshotsError("invalid-disk", `\`stateDiskId\` must be a DigitalOcean volume UUID; got ${JSON.stringify(params.volumeId).slice(0, 60)}`);
  }
  const token = params.token instanceof DigitalOceanToken ? params.token : new DigitalOceanToken(params.token);
  const options = { ...(params.baseUrl ? { baseUrl: params.baseUrl } : {}), ...(params.timeoutMs ? { timeoutMs: params.timeoutMs } : {}) };
  const perPage = 200;
  const found: StateSnapshot[] = [];
  for (let page = 1; ; page += 1) {
    if (page > MAX_PAGES) throw new StateSnapshotsError("cloud-error", `volume ${params.volumeId} has more than ${MAX_PAGES * perPage} snapshots; refusing to list on`);
    let response;
    try {
      response = await digitalOceanRequest(token, "GET", `/v2/volumes/${params.volumeId}/snapshots?page=${page}&per_page=${perPage}`, options);
    } catch (error) {
      if (error instanceof DigitalOceanApiError) throw new StateSnapshotsError("cloud-error", error.message);
      throw error;
    }
    if (response.status === 404) throw new StateSnapshotsError("not-found", `volume ${params.volumeId} does not exist (was the host removed?)`);
    if (response.status !== 200) {
      const hint = response.status === 401 ? " (the token was refused: revoked or expired)" : response.status === 403 ? " (the token lacks the `block_storage_snapshot:read` scope)" : "";
      const detail = digitalOceanErrorMessage(response.body);
      throw new StateSnapshotsError("cloud-error", `listing the snapshots of volume ${params.volumeId} failed with HTTP ${response.status}${hint}${detail ? `: ${detail}` : ""}`);
    }
    const batch = (response.body as { snapshots?: unknown } | undefined)?.snapshots;
    if (!Array.isArray(batch)) throw new StateSnapshotsError("cloud-error", "DigitalOcean's answer had no `snapshots` list");
    for (const item of batch as DigitalOceanSnapshot[]) {
      if (typeof item.id !== "string" && typeof item.id !== "number") throw new StateSnapshotsError("cloud-error", "DigitalOcean listed a snapshot without an id");
      const name = typeof item.name === "string" ? item.name : "";
      const tags = Array.isArray(item.tags) ? item.tags.filter((tag): tag is string => typeof tag === "string") : [];
      const size = positiveNumber(item.min_disk_size);
      found.push({
        id: String(item.id),
        createdAt: isoOrThrow(item.created_at, `snapshot ${String(item.id)}`),
        ...(name ? { name } : {}),
        ...(size !== undefined ? { sizeGiB: size } : {}),
        source: isClawStackSnapshot({ name, tags }) ? "schedule" : "manual",
      });
    }
    if (batch.length < perPage) return newestFirst(found);
  }
}

// ---------------------------------------------------------------------------
// AWS: EC2 DescribeSnapshots (the client carries the customer's assumed-role session: runtime/aws-sts.ts)

export interface AwsSnapshotsParams {
  readonly ec2: EC2Client;
  /** The state volume's id (`vol-...`, the stack's `stateDiskId` output). */
  readonly volumeId: string;
}

/** The tag AWS Data Lifecycle Manager puts on every snapshot a lifecycle policy creates. */
export const DLM_POLICY_TAG = "aws:dlm:lifecycle-policy-id";

export async function listAwsVolumeSnapshots(params: AwsSnapshotsParams): Promise<StateSnapshotList> {
  if (!/^vol-([0-9a-f]{8}|[0-9a-f]{17})$/.test(params.volumeId)) {
    throw new StateSnapshotsError("invalid-disk", `\`stateDiskId\` must be an EBS volume id such as vol-0123456789abcdef0; got ${JSON.stringify(params.volumeId).slice(0, 60)}`);
  }
  const found: StateSnapshot[] = [];
  let nextToken: string | undefined;
  for (let page = 1; ; page += 1) {
    if (page > MAX_PAGES) throw new StateSnapshotsError("cloud-error", `volume ${params.volumeId} has more snapshots than ${MAX_PAGES} pages; refusing to list on`);
    let answer;
    try {
      answer = await params.ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ["self"],
          Filters: [{ Name: "volume-id", Values: [params.volumeId] }],
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
    } catch (error) {
      const name = (error as { name?: string }).name ?? "";
      const hint = name === "UnauthorizedOperation" ? " (the provisioner role may not call ec2:DescribeSnapshots)" : "";
      throw new StateSnapshotsError("cloud-error", `DescribeSnapshots failed (${name || "unknown error"})${hint}`);
    }
    for (const snapshot of answer.Snapshots ?? []) {
      // The filter already asks for this volume; a stand-in or a future API change must not widen the list.
      if (snapshot.VolumeId !== params.volumeId || !snapshot.SnapshotId) continue;
      const tags = snapshot.Tags ?? [];
      const name = tags.find((tag) => tag.Key === "Name")?.Value;
      const size = positiveNumber(snapshot.VolumeSize);
      found.push({
        id: snapshot.SnapshotId,
        createdAt: isoOrThrow(snapshot.StartTime, `snapshot ${snapshot.SnapshotId}`),
        ...(name ? { name } : {}),
        ...(size !== undefined ? { sizeGiB: size } : {}),
        ...(snapshot.State ? { status: snapshot.State.toLowerCase() } : {}),
        source: tags.some((tag) => tag.Key === DLM_POLICY_TAG) ? "schedule" : "manual",
      });
    }
    nextToken = answer.NextToken || undefined;
    if (!nextToken) return newestFirst(found);
  }
}

// ---------------------------------------------------------------------------
// GCP: Compute Engine snapshots.list (https://cloud.google.com/compute/docs/reference/rest/v1/snapshots/list)

export interface GcpSnapshotsParams {
  readonly request: GcpRequest;
  /** The state disk's id, `projects/<project>/zones/<zone>/disks/<name>` (the stack's `stateDiskId` output). */
  readonly diskId: string;
  /** Default `https://compute.googleapis.com/compute/v1`. */
  readonly baseUrl?: string;
}

interface GcpSnapshot {
  id?: unknown;
  name?: unknown;
  creationTimestamp?: unknown;
  diskSizeGb?: unknown;
  status?: unknown;
  sourceDisk?: unknown;
  autoCreated?: unknown;
}

/** `projects/p/zones/z/disks/d` (or the same as a Compute URL) → its parts; undefined when it is not one. */
export function parseGcpDiskId(id: string): { project: string; zone: string; disk: string } | undefined {
  const match = /^(?:https:\/\/(?:www|compute)\.googleapis\.com\/compute\/v1\/)?projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/zones\/([a-z]+-[a-z]+\d+-[a-z])\/disks\/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/.exec(id);
  return match ? { project: match[1]!, zone: match[2]!, disk: match[3]! } : undefined;
}

export async function listGcpDiskSnapshots(params: GcpSnapshotsParams): Promise<StateSnapshotList> {
  const disk = parseGcpDiskId(params.diskId);
  if (!disk) {
    throw new StateSnapshotsError("invalid-disk", `\`stateDiskId\` must be a GCP disk id such as projects/<project>/zones/<zone>/disks/<name>; got ${JSON.stringify(params.diskId).slice(0, 120)}`);
  }
  const base = (params.baseUrl ?? "https://compute.googleapis.com/compute/v1").replace(/\/+$/, "");
  const diskPath = `projects/${disk.project}/zones/${disk.zone}/disks/${disk.disk}`;
  // Snapshots name their source disk by its full URL on www.googleapis.com (AIP-160 equality filter).
  const filter = `sourceDisk = "https://www.googleapis.com/compute/v1/${diskPath}"`;
  const found: StateSnapshot[] = [];
  let pageToken: string | undefined;
  for (let page = 1; ; page += 1) {
    if (page > MAX_PAGES) throw new StateSnapshotsError("cloud-error", `disk ${disk.disk} has more snapshots than ${MAX_PAGES} pages; refusing to list on`);
    const query = new URLSearchParams({ filter, maxResults: "500", ...(pageToken ? { pageToken } : {}) });
    let answer;
    try {
      answer = await params.request("GET", `${base}/projects/${disk.project}/global/snapshots?${query.toString()}`);
    } catch (error) {
      throw new StateSnapshotsError("cloud-error", `snapshots.list failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (answer.status !== 200) {
      const hint = answer.status === 403 ? " (the provisioner role lacks `compute.snapshots.list`)" : "";
      throw new StateSnapshotsError("cloud-error", `snapshots.list in project ${disk.project} failed (${answer.status})${hint}`);
    }
    const body = (answer.body ?? {}) as { items?: unknown; nextPageToken?: unknown };
    const items = body.items === undefined ? [] : body.items;
    if (!Array.isArray(items)) throw new StateSnapshotsError("cloud-error", "snapshots.list answered without an `items` list");
    for (const item of items as GcpSnapshot[]) {
      // The filter already asks for this disk; a stand-in or a filter the API ignored must not widen the list.
      if (typeof item.sourceDisk !== "string" || !item.sourceDisk.endsWith(`/${diskPath}`)) continue;
      const id = typeof item.name === "string" ? item.name : typeof item.id === "string" ? item.id : undefined;
      if (!id) throw new StateSnapshotsError("cloud-error", "snapshots.list listed a snapshot without a name");
      const size = positiveNumber(item.diskSizeGb);
      found.push({
        id,
        createdAt: isoOrThrow(item.creationTimestamp, `snapshot ${id}`),
        ...(size !== undefined ? { sizeGiB: size } : {}),
        ...(typeof item.status === "string" ? { status: item.status.toLowerCase() } : {}),
        source: item.autoCreated === true ? "schedule" : item.autoCreated === false ? "manual" : "unknown",
      });
    }
    pageToken = typeof body.nextPageToken === "string" && body.nextPageToken ? body.nextPageToken : undefined;
    if (!pageToken) return newestFirst(found);
  }
}
