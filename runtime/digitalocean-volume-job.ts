import {
  DigitalOceanApiError,
  DigitalOceanToken,
  digitalOceanErrorMessage,
  digitalOceanRequest,
  type DigitalOceanApiOptions,
} from "./digitalocean-api.js";
import { DIGITALOCEAN_SNAPSHOTS_TAG, readDigitalOceanVolumeSnapshotTags } from "../components/snapshots/schedule.js";

/**
 * The ClawStack snapshot job for a DigitalOcean state volume (issue 5 item 1).
 *
 * DigitalOcean backs up droplets on a schedule but has no schedule for block
 * storage volumes, so the provisioning API's scheduler calls
 * `runDigitalOceanVolumeSnapshotSweep` (every volume of one customer's token
 * that is on the job) or `runDigitalOceanVolumeSnapshotJob` (one volume) at
 * least once per slot; running more often is harmless. One run on a volume:
 * 1. finds the volume (by ID, or by a tag exactly one volume carries) and checks
 *    it is ClawStack's (`ManagedBy:claw-cloud`) and on the job (the host put
 *    `clawstack-snapshots` on it; a stack with `snapshots.enabled: false` did not);
 * 2. takes a snapshot named for the slot, tagged `ManagedBy:claw-cloud`, unless
 *    one for this slot already exists (a retried or doubled run changes nothing);
 * 3. deletes ClawStack's snapshots of that volume beyond the retention, oldest
 *    first. Snapshots someone else made are never touched.
 * Retention and period come from the volume's tags (`clawstack-snapshots-retain:N`,
 * `clawstack-snapshots-plan:daily|weekly`, written from the stack's `snapshots`
 * config) unless the caller overrides them.
 */

export const MANAGED_BY_TAG = "ManagedBy:claw-cloud";
export const SNAPSHOT_KIND_TAG = "clawstack-snapshot:state";
/** The tag the DigitalOcean host puts on a state volume whose stack keeps snapshots on. */
export const STATE_VOLUME_TAG = DIGITALOCEAN_SNAPSHOTS_TAG;
const SNAPSHOT_NAME_PREFIX = "clawstack-state-";

export interface VolumeSnapshotJobParams extends DigitalOceanApiOptions {
  /** The customer's DigitalOcean token (needs the `block_storage*` scopes). Never logged. */
  readonly token: string | DigitalOceanToken;
  /** Which volume: its ID, or a tag that exactly one ClawStack volume carries. */
  readonly volume: { readonly id: string } | { readonly tag: string };
  /** How many ClawStack snapshots to keep. Defaults to the volume's `clawstack-snapshots-retain:N` tag. */
  readonly retention?: number;
  /**
   * The schedule's period in hours (a divisor of 24 or a multiple of it).
   * Defaults to the volume's `clawstack-snapshots-plan` tag: 24 (daily) or 168 (weekly).
   */
  readonly intervalHours?: number;
  /** The time the scheduler fired; the slot is derived from it. Defaults to now. */
  readonly now?: Date;
}

export interface SnapshotSummary {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface VolumeSnapshotJobResult {
  readonly volumeId: string;
  readonly volumeName: string;
  /** The retention applied. */
  readonly retention: number;
  /** The slot's start, ISO 8601 UTC. */
  readonly slot: string;
  /** The snapshot taken by this run, or `undefined` when this slot already had one. */
  readonly created?: SnapshotSummary;
  /** The slot's snapshot when this run did not need to take it. */
  readonly existing?: SnapshotSummary;
  readonly deleted: readonly SnapshotSummary[];
  readonly kept: readonly SnapshotSummary[];
}

/** A job failure with a message that says which step failed and why. Never carries the token. */
export class VolumeSnapshotJobError extends Error {
  constructor(
    readonly step: "input" | "find-volume" | "create-snapshot" | "list-snapshots" | "delete-snapshot",
    message: string,
  ) {
    super(message);
    this.name = "VolumeSnapshotJobError";
  }
}

interface ApiSnapshot {
  id: string;
  name: string;
  created_at: string;
  tags?: string[] | null;
}

interface ApiVolume {
  id: string;
  name: string;
  tags?: string[] | null;
}

/** The start of the schedule slot `now` falls in, for a period of `intervalHours`. */
export function scheduleSlot(now: Date, intervalHours: number): Date {
  const period = intervalHours * 3600 * 1000;
  return new Date(Math.floor(now.getTime() / period) * period);
}

/** `2026-11-23T04:00:00Z` → `clawstack-state-<volume>-20261123t0400z` (DigitalOcean names: letters, digits, `-`, `.`). */
export function snapshotNameFor(volumeName: string, slot: Date): string {
  const stamp = slot.toISOString().replace(/[-:]/g, "").replace(/\d\d\.\d+Z$/, "z").toLowerCase();
  return `${SNAPSHOT_NAME_PREFIX}${volumeName}-${stamp}`;
}

/** Whether ClawStack's job made this snapshot: its tag and its name prefix, both. */
export function isClawStackSnapshot(snapshot: { name: string; tags?: readonly string[] | null }): boolean {
  return (snapshot.tags ?? []).includes(MANAGED_BY_TAG) && snapshot.name.startsWith(SNAPSHOT_NAME_PREFIX);
}

/**
 * Of ClawStack's snapshots, those to delete so that `retention` remain:
 * newest kept, by creation time (ties by name, which carries the slot).
 */
export function snapshotsBeyondRetention<T extends { name: string; created_at: string; tags?: readonly string[] | null }>(
  snapshots: readonly T[],
  retention: number,
): { keep: T[]; remove: T[] } {
  const ours = snapshots.filter(isClawStackSnapshot);
  ours.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.name.localeCompare(a.name));
  return { keep: ours.slice(0, retention), remove: ours.slice(retention) };
}

function validate(params: VolumeSnapshotJobParams): { retention: number | undefined; intervalHours: number | undefined; now: Date } {
  const retention = params.retention;
  if (retention !== undefined && (!Number.isInteger(retention) || retention < 1 || retention > 1000)) {
    throw new VolumeSnapshotJobError("input", `\`retention\` must be a whole number from 1 to 1000; got ${String(retention)}`);
  }
  const intervalHours = params.intervalHours;
  const validInterval =
    intervalHours === undefined ||
    (Number.isInteger(intervalHours) && intervalHours >= 1 && (24 % intervalHours === 0 || intervalHours % 24 === 0));
  if (!validInterval) {
    throw new VolumeSnapshotJobError(
      "input",
      `\`intervalHours\` must divide 24 (1, 2, 3, 4, 6, 8, 12) or be a multiple of 24; got ${String(intervalHours)}`,
    );
  }
  const now = params.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new VolumeSnapshotJobError("input", "`now` must be a valid date");
  if ("id" in params.volume) {
    if (!/^[0-9a-f-]{36}$/.test(params.volume.id)) {
      throw new VolumeSnapshotJobError("input", `\`volume.id\` must be a DigitalOcean volume UUID; got ${JSON.stringify(params.volume.id)}`);
    }
  } else if (!/^[A-Za-z0-9_:-]{1,255}$/.test(params.volume.tag)) {
    throw new VolumeSnapshotJobError("input", `\`volume.tag\` must be a DigitalOcean tag name; got ${JSON.stringify(params.volume.tag)}`);
  }
  return { retention, intervalHours, now };
}

function apiCaller(params: DigitalOceanApiOptions & { token: string | DigitalOceanToken }): Call {
  const token = params.token instanceof DigitalOceanToken ? params.token : new DigitalOceanToken(params.token);
  const api = { ...(params.baseUrl ? { baseUrl: params.baseUrl } : {}), ...(params.timeoutMs ? { timeoutMs: params.timeoutMs } : {}) };
  return async (step, method, path, body) => {
    try {
      return await digitalOceanRequest(token, method, path, { ...api, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      if (error instanceof DigitalOceanApiError) throw new VolumeSnapshotJobError(step, error.message);
      throw error;
    }
  };
}

/** Snapshots one volume and prunes its ClawStack snapshots beyond the retention (see the file comment). */
export async function runDigitalOceanVolumeSnapshotJob(params: VolumeSnapshotJobParams): Promise<VolumeSnapshotJobResult> {
  const validated = validate(params);
  const call = apiCaller(params);
  const volume = await findVolume(params.volume, call);
  return snapshotVolume(volume, validated, call);
}

export interface VolumeSnapshotSweepResult {
  /** One result per volume on the job that succeeded. */
  readonly results: readonly VolumeSnapshotJobResult[];
  /** Volumes whose run failed; the others still ran. */
  readonly failures: readonly { volumeId: string; volumeName: string; error: VolumeSnapshotJobError }[];
}

/**
 * Runs the job on every volume of the token's account that ClawStack manages
 * and that is on the job (tagged `clawstack-snapshots`), one after another.
 * A failing volume does not stop the others; failing to list volumes throws.
 */
export async function runDigitalOceanVolumeSnapshotSweep(
  params: DigitalOceanApiOptions & { token: string | DigitalOceanToken; now?: Date },
): Promise<VolumeSnapshotSweepResult> {
  const validated = validate({ ...params, volume: { tag: STATE_VOLUME_TAG } });
  const call = apiCaller(params);
  const volumes = (await listAll<ApiVolume>("/v2/volumes", "volumes", "find-volume", call)).filter((volume) => {
    const tags = volume.tags ?? [];
    return tags.includes(MANAGED_BY_TAG) && tags.includes(STATE_VOLUME_TAG);
  });
  const results: VolumeSnapshotJobResult[] = [];
  const failures: { volumeId: string; volumeName: string; error: VolumeSnapshotJobError }[] = [];
  for (const volume of volumes) {
    try {
      results.push(await snapshotVolume(volume, validated, call));
    } catch (error) {
      if (!(error instanceof VolumeSnapshotJobError)) throw error;
      failures.push({ volumeId: volume.id, volumeName: volume.name, error });
    }
  }
  return { results, failures };
}

async function snapshotVolume(
  volume: ApiVolume,
  options: { retention: number | undefined; intervalHours: number | undefined; now: Date },
  call: Call,
): Promise<VolumeSnapshotJobResult> {
  const planned = readDigitalOceanVolumeSnapshotTags(volume.tags ?? []);
  if (!planned) {
    throw new VolumeSnapshotJobError(
      "find-volume",
      `volume \`${volume.name}\` is not tagged \`${STATE_VOLUME_TAG}\`: its stack turned snapshots off (\`snapshots.enabled: false\`), so the job leaves it alone`,
    );
  }
  const retention = options.retention ?? planned.retain;
  const intervalHours = options.intervalHours ?? (planned.frequency === "weekly" ? 168 : 24);
  const now = options.now;
  const slot = scheduleSlot(now, intervalHours);
  const name = snapshotNameFor(volume.name, slot);

  const before = await listVolumeSnapshots(volume.id, call);
  const existing = before.find((snapshot) => snapshot.name === name && isClawStackSnapshot(snapshot));
  let created: ApiSnapshot | undefined;
  if (!existing) {
    const response = await call("create-snapshot", "POST", `/v2/volumes/${volume.id}/snapshots`, {
      name,
      tags: [MANAGED_BY_TAG, SNAPSHOT_KIND_TAG],
    });
    if (response.status !== 201 && response.status !== 200) {
      throw new VolumeSnapshotJobError("create-snapshot", failure(`taking snapshot \`${name}\` of volume \`${volume.name}\``, response));
    }
    created = (response.body as { snapshot?: ApiSnapshot } | undefined)?.snapshot;
    if (!created?.id) {
      throw new VolumeSnapshotJobError("create-snapshot", `DigitalOcean returned no snapshot for \`${name}\``);
    }
  }

  const all = created ? [...before.filter((snapshot) => snapshot.id !== created.id), created] : before;
  const { keep, remove } = snapshotsBeyondRetention(all, retention);
  const deleted: SnapshotSummary[] = [];
  for (const snapshot of remove) {
    const response = await call("delete-snapshot", "DELETE", `/v2/snapshots/${snapshot.id}`);
    // 404: already gone (another run pruned it); the goal is reached either way.
    if (response.status !== 204 && response.status !== 200 && response.status !== 404) {
      throw new VolumeSnapshotJobError(
        "delete-snapshot",
        failure(`deleting old snapshot \`${snapshot.name}\``, response) +
          (deleted.length > 0 ? ` (already deleted this run: ${deleted.map((s) => `\`${s.name}\``).join(", ")})` : ""),
      );
    }
    deleted.push(summary(snapshot));
  }

  return {
    volumeId: volume.id,
    volumeName: volume.name,
    retention,
    slot: slot.toISOString(),
    ...(created ? { created: summary(created) } : {}),
    ...(existing ? { existing: summary(existing) } : {}),
    deleted,
    kept: keep.map(summary),
  };
}

type Call = (
  step: VolumeSnapshotJobError["step"],
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: unknown }>;

async function findVolume(selector: VolumeSnapshotJobParams["volume"], call: Call): Promise<ApiVolume> {
  let volume: ApiVolume | undefined;
  if ("id" in selector) {
    const response = await call("find-volume", "GET", `/v2/volumes/${selector.id}`);
    if (response.status === 404) {
      throw new VolumeSnapshotJobError("find-volume", `volume \`${selector.id}\` does not exist (was the host removed?)`);
    }
    if (response.status !== 200) throw new VolumeSnapshotJobError("find-volume", failure(`reading volume \`${selector.id}\``, response));
    volume = (response.body as { volume?: ApiVolume } | undefined)?.volume;
  } else {
    const volumes = await listAll<ApiVolume>("/v2/volumes", "volumes", "find-volume", call);
    const matches = volumes.filter((candidate) => (candidate.tags ?? []).includes(selector.tag));
    if (matches.length !== 1) {
      throw new VolumeSnapshotJobError(
        "find-volume",
        `expected exactly one volume tagged \`${selector.tag}\`; found ${matches.length}` +
          (matches.length > 1 ? ` (${matches.map((m) => `\`${m.name}\``).join(", ")}): give \`volume.id\` instead` : ""),
      );
    }
    volume = matches[0];
  }
  if (!volume?.id) throw new VolumeSnapshotJobError("find-volume", "DigitalOcean returned no volume");
  if (!(volume.tags ?? []).includes(MANAGED_BY_TAG)) {
    throw new VolumeSnapshotJobError(
      "find-volume",
      `volume \`${volume.name}\` is not tagged \`${MANAGED_BY_TAG}\`; ClawStack only snapshots volumes it manages`,
    );
  }
  return volume;
}

async function listVolumeSnapshots(volumeId: string, call: Call): Promise<ApiSnapshot[]> {
  return listAll<ApiSnapshot>(`/v2/volumes/${volumeId}/snapshots`, "snapshots", "list-snapshots", call);
}

/** Follows DigitalOcean's `page`/`per_page` pagination until a page comes back short. */
async function listAll<T>(path: string, key: string, step: VolumeSnapshotJobError["step"], call: Call): Promise<T[]> {
  const perPage = 100;
  const items: T[] = [];
  for (let page = 1; page <= 100; page += 1) {
    const response = await call(step, "GET", `${path}?page=${page}&per_page=${perPage}`);
    if (response.status !== 200) throw new VolumeSnapshotJobError(step, failure(`listing ${path}`, response));
    const batch = (response.body as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(batch)) throw new VolumeSnapshotJobError(step, `DigitalOcean's answer to ${path} had no \`${key}\` list`);
    items.push(...(batch as T[]));
    if (batch.length < perPage) return items;
  }
  throw new VolumeSnapshotJobError(step, `${path} has more than 10,000 entries; refusing to go on`);
}

function failure(what: string, response: { status: number; body: unknown }): string {
  const detail = digitalOceanErrorMessage(response.body);
  const hint =
    response.status === 401
      ? " (the token was refused: revoked or expired)"
      : response.status === 403
        ? " (the token lacks a `block_storage_snapshot` or `block_storage` scope; see docs/connect-your-cloud.md)"
        : "";
  return `${what} failed with HTTP ${response.status}${hint}${detail ? `: ${detail}` : ""}`;
}

function summary(snapshot: ApiSnapshot): SnapshotSummary {
  return { id: snapshot.id, name: snapshot.name, createdAt: snapshot.created_at };
}
