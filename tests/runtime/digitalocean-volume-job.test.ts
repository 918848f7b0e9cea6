import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MANAGED_BY_TAG,
  runDigitalOceanVolumeSnapshotJob,
  runDigitalOceanVolumeSnapshotSweep,
  snapshotNameFor,
  VolumeSnapshotJobError,
} from "../../runtime/digitalocean-volume-job.js";
import { DEFAULT_SNAPSHOTS } from "../../core/host-config.js";
import { digitalOceanVolumeSnapshotTags } from "../../components/snapshots/schedule.js";
import { type FakeDigitalOcean, startFakeDigitalOcean } from "../components/snapshots/fake-digitalocean.js";

const TOKEN = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const VOLUME_ID = "506f78a4-e098-11e5-ad9f-000f53306ae1";
const DAY = 24 * 3600 * 1000;

/** The tags the DigitalOcean host component puts on a state volume (snapshots on, `retain` kept). */
function hostVolumeTags(retain: number): string[] {
  return [MANAGED_BY_TAG, "env:test", ...digitalOceanVolumeSnapshotTags({ ...DEFAULT_SNAPSHOTS, retain })];
}

let fake: FakeDigitalOcean;
beforeEach(async () => {
  fake = await startFakeDigitalOcean(TOKEN);
});
afterEach(async () => {
  await fake.close();
});

/** Runs the job once a day for `days` days starting at `start`, each snapshot created at the run's time. */
async function runDaily(start: Date, days: number, extra: { retention?: number } = {}) {
  const results = [];
  for (let day = 0; day < days; day++) {
    const now = new Date(start.getTime() + day * DAY);
    fake.clock = () => now;
    results.push(await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now, ...extra }));
  }
  return results;
}

describe("DigitalOcean volume snapshot job against a loopback stand-in for the API", () => {
  it("takes a snapshot named for the slot, tagged ManagedBy:claw-cloud, with the token only in the Authorization header", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(7) });
    const now = new Date("2026-11-23T04:07:00Z");
    const result = await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now });

    expect(result.created?.name).toBe("clawstack-state-openclaw-do-state-20261123t0000z");
    expect(result.slot).toBe("2026-11-23T00:00:00.000Z");
    expect(result.retention).toBe(7);
    expect(fake.snapshots).toHaveLength(1);
    expect(fake.snapshots[0]!.tags).toEqual([MANAGED_BY_TAG, "clawstack-snapshot:state"]);
    const post = fake.requests.find((request) => request.method === "POST");
    expect(post?.path).toBe(`/v2/volumes/${VOLUME_ID}/snapshots`);
    for (const request of fake.requests) {
      expect(request.authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.path).not.toContain(TOKEN);
      expect(JSON.stringify(request.body ?? null)).not.toContain(TOKEN);
    }
  });

  it("is idempotent within a slot: a second run the same day takes no second snapshot", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(7) });
    const first = await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now: new Date("2026-11-23T04:00:00Z") });
    const second = await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now: new Date("2026-11-23T19:30:00Z") });
    expect(second.created).toBeUndefined();
    expect(second.existing?.id).toBe(first.created?.id);
    expect(fake.snapshots).toHaveLength(1);
  });

  it("prunes beyond the retention read from the volume's tags, oldest first, and keeps the newest", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(3) });
    const results = await runDaily(new Date("2026-11-01T04:00:00Z"), 5);
    expect(fake.snapshots.map((snapshot) => snapshot.name)).toEqual([
      snapshotNameFor("openclaw-do-state", new Date("2026-11-03T00:00:00Z")),
      snapshotNameFor("openclaw-do-state", new Date("2026-11-04T00:00:00Z")),
      snapshotNameFor("openclaw-do-state", new Date("2026-11-05T00:00:00Z")),
    ]);
    expect(results[3]!.deleted.map((snapshot) => snapshot.name)).toEqual([snapshotNameFor("openclaw-do-state", new Date("2026-11-01T00:00:00Z"))]);
    expect(results[4]!.kept).toHaveLength(3);
    expect(fake.requests.filter((request) => request.method === "DELETE")).toHaveLength(2);
  });

  it("an explicit retention overrides the tag", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(7) });
    await runDaily(new Date("2026-11-01T04:00:00Z"), 4, { retention: 2 });
    expect(fake.snapshots).toHaveLength(2);
  });

  it("never touches snapshots someone else made, even beyond the retention", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(1) });
    fake.snapshots.push(
      { id: "manual-1", name: "before-upgrade", created_at: "2026-01-01T00:00:00Z", resource_id: VOLUME_ID, tags: [] },
      // Our name prefix but not our tag: someone copied the naming; still not ours.
      { id: "manual-2", name: "clawstack-state-openclaw-do-state-20250101t0000z", created_at: "2025-01-01T00:00:00Z", resource_id: VOLUME_ID, tags: [] },
    );
    await runDaily(new Date("2026-11-01T04:00:00Z"), 3);
    expect(fake.snapshots.map((snapshot) => snapshot.id)).toEqual(expect.arrayContaining(["manual-1", "manual-2"]));
    expect(fake.snapshots).toHaveLength(3);
  });

  it("follows pagination when listing snapshots (more than one page)", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: hostVolumeTags(2) });
    for (let index = 0; index < 150; index++) {
      fake.snapshots.push({
        id: `old-${index}`,
        name: `clawstack-state-openclaw-do-state-old${index}`,
        created_at: new Date(Date.parse("2026-01-01T00:00:00Z") + index * DAY).toISOString(),
        resource_id: VOLUME_ID,
        tags: [MANAGED_BY_TAG],
      });
    }
    fake.clock = () => new Date("2026-11-23T04:00:00Z");
    const result = await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now: new Date("2026-11-23T04:00:00Z") });
    expect(result.deleted).toHaveLength(149);
    expect(fake.snapshots.map((snapshot) => snapshot.id)).toEqual(["old-149", expect.stringMatching(/^8fa70202/)]);
    expect(fake.requests.some((request) => request.path.includes("snapshots?page=2"))).toBe(true);
  });

  it("finds the volume by a tag exactly one volume carries, and refuses an ambiguous tag", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "openclaw-do-state", tags: [...hostVolumeTags(7), "host:alpha"] });
    const result = await runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { tag: "host:alpha" }, now: new Date("2026-11-23T04:00:00Z") });
    expect(result.volumeId).toBe(VOLUME_ID);
    fake.volumes.push({ id: "606f78a4-e098-11e5-ad9f-000f53306ae1", name: "other-state", tags: [...hostVolumeTags(7), "host:alpha"] });
    await expect(
      runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { tag: "host:alpha" } }),
    ).rejects.toThrow(/expected exactly one volume tagged `host:alpha`; found 2/);
  });

  it("the sweep snapshots every volume on the job and skips opted-out and foreign volumes", async () => {
    const optedOut = "706f78a4-e098-11e5-ad9f-000f53306ae1";
    const foreign = "806f78a4-e098-11e5-ad9f-000f53306ae1";
    fake.volumes.push(
      { id: VOLUME_ID, name: "a-state", tags: hostVolumeTags(7) },
      { id: optedOut, name: "b-state", tags: [MANAGED_BY_TAG] },
      { id: foreign, name: "c-data", tags: ["clawstack-snapshots"] },
    );
    const sweep = await runDigitalOceanVolumeSnapshotSweep({ token: TOKEN, baseUrl: fake.baseUrl, now: new Date("2026-11-23T04:00:00Z") });
    expect(sweep.results.map((result) => result.volumeName)).toEqual(["a-state"]);
    expect(sweep.failures).toEqual([]);
    expect(fake.snapshots.map((snapshot) => snapshot.resource_id)).toEqual([VOLUME_ID]);
  });

  it("the sweep reports a failing volume and still runs the others", async () => {
    const second = "906f78a4-e098-11e5-ad9f-000f53306ae1";
    fake.volumes.push({ id: VOLUME_ID, name: "a-state", tags: hostVolumeTags(7) }, { id: second, name: "b-state", tags: hostVolumeTags(7) });
    fake.failNext("POST", `/v2/volumes/${VOLUME_ID}/snapshots`, 422, { id: "unprocessable_entity", message: "volume is busy" });
    const sweep = await runDigitalOceanVolumeSnapshotSweep({ token: TOKEN, baseUrl: fake.baseUrl, now: new Date("2026-11-23T04:00:00Z") });
    expect(sweep.results.map((result) => result.volumeName)).toEqual(["b-state"]);
    expect(sweep.failures).toHaveLength(1);
    expect(sweep.failures[0]!.error.step).toBe("create-snapshot");
    expect(sweep.failures[0]!.error.message).toMatch(/HTTP 422: volume is busy/);
  });
});

describe("volume snapshot job errors name the step and never the token", () => {
  async function failure(run: () => Promise<unknown>): Promise<VolumeSnapshotJobError> {
    const error = await run().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(VolumeSnapshotJobError);
    const jobError = error as VolumeSnapshotJobError;
    expect(jobError.message).not.toContain(TOKEN);
    expect(inspect(jobError)).not.toContain(TOKEN);
    return jobError;
  }

  it("a refused token (401)", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "s", tags: hostVolumeTags(7) });
    const error = await failure(() => runDigitalOceanVolumeSnapshotJob({ token: "dop_v1_wrong", baseUrl: fake.baseUrl, volume: { id: VOLUME_ID } }));
    expect(error.step).toBe("find-volume");
    expect(error.message).toMatch(/HTTP 401 \(the token was refused: revoked or expired\)/);
  });

  it("a token without block storage scope (403) while deleting keeps what was already deleted in the message", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "s", tags: hostVolumeTags(1) });
    await runDaily(new Date("2026-11-01T04:00:00Z"), 2);
    fake.failNext("DELETE", "/v2/snapshots/", 403, { id: "forbidden", message: "You are not authorized to perform this operation" });
    fake.clock = () => new Date("2026-11-03T04:00:00Z");
    const error = await failure(() =>
      runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, now: new Date("2026-11-03T04:00:00Z") }),
    );
    expect(error.step).toBe("delete-snapshot");
    expect(error.message).toMatch(/HTTP 403 \(the token lacks a `block_storage_snapshot` or `block_storage` scope/);
  });

  it("a volume that does not exist (404)", async () => {
    const error = await failure(() => runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID } }));
    expect(error.message).toMatch(new RegExp(`volume \`${VOLUME_ID}\` does not exist`));
  });

  it("a volume ClawStack does not manage", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "someone-elses", tags: ["clawstack-snapshots"] });
    const error = await failure(() => runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID } }));
    expect(error.message).toMatch(/is not tagged `ManagedBy:claw-cloud`/);
    expect(fake.requests.some((request) => request.method !== "GET")).toBe(false);
  });

  it("a volume whose stack opted out of snapshots", async () => {
    fake.volumes.push({ id: VOLUME_ID, name: "opted-out", tags: [MANAGED_BY_TAG] });
    const error = await failure(() => runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID } }));
    expect(error.message).toMatch(/snapshots\.enabled: false/);
    expect(fake.snapshots).toHaveLength(0);
  });

  it("an API that cannot be reached", async () => {
    await fake.close();
    const error = await failure(() => runDigitalOceanVolumeSnapshotJob({ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, timeoutMs: 2000 }));
    expect(error.message).toMatch(/could not reach the DigitalOcean API/);
    fake = await startFakeDigitalOcean(TOKEN); // afterEach closes it
  });

  it("bad input is refused before any request", async () => {
    const cases: [Parameters<typeof runDigitalOceanVolumeSnapshotJob>[0], RegExp][] = [
      [{ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: "not-a-uuid" } }, /`volume.id` must be a DigitalOcean volume UUID/],
      [{ token: TOKEN, baseUrl: fake.baseUrl, volume: { tag: "bad tag!" } }, /`volume.tag` must be a DigitalOcean tag name/],
      [{ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, retention: 0 }, /`retention` must be a whole number from 1 to 1000; got 0/],
      [{ token: TOKEN, baseUrl: fake.baseUrl, volume: { id: VOLUME_ID }, intervalHours: 5 }, /`intervalHours` must divide 24/],
    ];
    for (const [params, message] of cases) {
      const error = await failure(() => runDigitalOceanVolumeSnapshotJob(params));
      expect(error.step).toBe("input");
      expect(error.message).toMatch(message);
    }
    expect(fake.requests).toHaveLength(0);
  });
});
