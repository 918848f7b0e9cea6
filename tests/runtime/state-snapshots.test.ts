/**
 * Listing a state disk's snapshots against stand-ins of each cloud's API on
 * loopback: DigitalOcean's volume snapshots endpoint, EC2 DescribeSnapshots
 * (through the real AWS SDK client, XML answers as EC2 sends them) and Compute
 * Engine's snapshots.list. Each stand-in pages its answers and checks the
 * request names the disk (token, filter), so the code must follow pages, ask
 * for the right disk, sort newest first and say where each snapshot came from.
 */
import type { IncomingMessage } from "node:http";
import { EC2Client } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import type { GcpRequest } from "../../runtime/power.js";
import {
  StateSnapshotsError,
  listAwsVolumeSnapshots,
  listDigitalOceanVolumeSnapshots,
  listGcpDiskSnapshots,
  parseGcpDiskId,
} from "../../runtime/state-snapshots.js";
import { standInServers } from "./stand-in-server.js";

const serve = standInServers();

/** `n` days after 2026-11-01 04:00 UTC. */
const day = (n: number) => new Date(Date.UTC(2026, 10, 1 + n, 4)).toISOString();

describe("DigitalOcean volume snapshots", () => {
  const TOKEN = `dop_v1_${"a".repeat(64)}`;
  const VOLUME = "506f78a4-e098-11e5-ad9f-000f53306ae1";

  function volume(count: number) {
    // ClawStack's job names and tags its own; one was taken by hand in the control panel.
    const snapshots = Array.from({ length: count }, (_, i) => ({
      id: `snap-${String(i).padStart(4, "0")}`,
      name: `clawstack-state-claw-state-${day(i).slice(0, 10).replace(/-/g, "")}t0400z`,
      created_at: day(i),
      min_disk_size: 20,
      size_gigabytes: 0.4,
      resource_id: VOLUME,
      tags: ["ManagedBy:claw-cloud", "clawstack-snapshot:state"],
    }));
    snapshots.push({ id: "snap-manual", name: "before-upgrade", created_at: day(count + 3), min_disk_size: 20, size_gigabytes: 0.5, resource_id: VOLUME, tags: [] });
    // The tag without the name prefix is not enough to count as the schedule's.
    snapshots.push({ id: "snap-lookalike", name: "mine", created_at: day(-5), min_disk_size: 20, size_gigabytes: 0.1, resource_id: VOLUME, tags: ["ManagedBy:claw-cloud"] });
    const seen = { pages: [] as string[], authorized: true };
    const handler = (req: IncomingMessage) => {
      seen.authorized &&= req.headers.authorization === `Bearer ${TOKEN}`;
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname === `/v2/volumes/${VOLUME}/snapshots`) {
        const page = Number(url.searchParams.get("page"));
        const perPage = Number(url.searchParams.get("per_page"));
        seen.pages.push(`${page}/${perPage}`);
        return { status: 200, body: JSON.stringify({ snapshots: snapshots.slice((page - 1) * perPage, page * perPage), meta: { total: snapshots.length } }) };
      }
      if (url.pathname.startsWith("/v2/volumes/")) return { status: 404, body: JSON.stringify({ id: "not_found", message: "The resource you were accessing could not be found." }) };
      return { status: 403, body: JSON.stringify({ id: "forbidden", message: "You are not authorized to perform this operation" }) };
    };
    return { seen, handler };
  }

  it("follows every page, sorts newest first and tells the schedule's snapshots from the others", async () => {
    const cloud = volume(205);
    const baseUrl = await serve(cloud.handler);
    const list = await listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: VOLUME, baseUrl });
    expect(cloud.seen.pages).toEqual(["1/200", "2/200"]);
    expect(cloud.seen.authorized).toBe(true);
    expect(list.total).toBe(207);
    expect(list.snapshots[0]).toEqual({ id: "snap-manual", name: "before-upgrade", createdAt: day(208), sizeGiB: 20, source: "manual" });
    expect(list.snapshots[1]).toMatchObject({ id: "snap-0204", createdAt: day(204), source: "schedule" });
    expect(list.snapshots.at(-1)).toMatchObject({ id: "snap-lookalike", source: "manual" });
    const times = list.snapshots.map((snapshot) => Date.parse(snapshot.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(list.snapshots.some((snapshot) => "status" in snapshot)).toBe(false);
  });

  it("names a missing volume and a token without the scope, never echoing the token; refuses a malformed id before any call", async () => {
    const cloud = volume(1);
    const baseUrl = await serve(cloud.handler);
    const missing = await listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: "00000000-0000-0000-0000-000000000000", baseUrl }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StateSnapshotsError);
    expect(missing).toMatchObject({ code: "not-found" });
    const forbidden = await listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: VOLUME, baseUrl: `${baseUrl}/elsewhere` }).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: "cloud-error" });
    expect((forbidden as Error).message).toMatch(/HTTP 403 \(the token lacks the `block_storage_snapshot:read` scope\)/);
    for (const error of [missing, forbidden]) expect(String((error as Error).message)).not.toContain(TOKEN);
    const pagesBefore = cloud.seen.pages.length;
    await expect(listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: "../droplets", baseUrl })).rejects.toMatchObject({ code: "invalid-disk" });
    expect(cloud.seen.pages.length).toBe(pagesBefore);
  });
});

describe("EC2 DescribeSnapshots through the AWS SDK", () => {
  const VOLUME = "vol-0123456789abcdef0";
  const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';

  function ec2(options: { refuse?: boolean } = {}) {
    const snapshots = [
      { id: "snap-0aaaaaaaaaaaaaaa1", volume: VOLUME, start: day(1), state: "completed", size: 20, tags: { "aws:dlm:lifecycle-policy-id": "policy-0123", SnapshotCreator: "clawstack-dlm" } },
      { id: "snap-0aaaaaaaaaaaaaaa2", volume: VOLUME, start: day(3), state: "pending", size: 20, tags: { "aws:dlm:lifecycle-policy-id": "policy-0123" } },
      { id: "snap-0aaaaaaaaaaaaaaa3", volume: VOLUME, start: day(2), state: "completed", size: 20, tags: { Name: "before upgrade" } },
      { id: "snap-0bbbbbbbbbbbbbbb1", volume: "vol-0fffffffffffffff0", start: day(4), state: "completed", size: 8, tags: {} },
    ];
    const seen = { requests: [] as Record<string, string>[] };
    const handler = (_req: IncomingMessage, body: string) => {
      const form = Object.fromEntries(new URLSearchParams(body));
      seen.requests.push(form);
      if (options.refuse) {
        return { status: 403, type: "text/xml", body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>` };
      }
      const wanted = form["Filter.1.Name"] === "volume-id" ? form["Filter.1.Value.1"] : undefined;
      const matching = snapshots.filter((snapshot) => wanted === undefined || snapshot.volume === wanted);
      // Two per page, so the client must follow nextToken.
      const start = Number(form.NextToken ?? "0");
      const page = matching.slice(start, start + 2);
      const next = start + 2 < matching.length ? `<nextToken>${start + 2}</nextToken>` : "";
      const items = page
        .map(
          (s) =>
            `<item><snapshotId>${s.id}</snapshotId><volumeId>${s.volume}</volumeId><status>${s.state}</status><startTime>${s.start}</startTime><progress>100%</progress><ownerId>123456789012</ownerId><volumeSize>${s.size}</volumeSize><encrypted>true</encrypted><tagSet>${Object.entries(s.tags)
              .map(([key, value]) => `<item><key>${key}</key><value>${value}</value></item>`)
              .join("")}</tagSet></item>`,
        )
        .join("");
      return { status: 200, type: "text/xml;charset=UTF-8", body: `<?xml version="1.0" encoding="UTF-8"?><DescribeSnapshotsResponse ${ns}><requestId>r</requestId><snapshotSet>${items}</snapshotSet>${next}</DescribeSnapshotsResponse>` };
    };
    return { seen, handler };
  }

  const client = (endpoint: string) =>
    new EC2Client({ region: "eu-west-1", endpoint, credentials: { accessKeyId: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: "x".repeat(40) }, maxAttempts: 1 });

  it("asks for the volume's own snapshots, follows nextToken, and marks DLM's as the schedule's", async () => {
    const cloud = ec2();
    const endpoint = await serve(cloud.handler);
    const list = await listAwsVolumeSnapshots({ ec2: client(endpoint), volumeId: VOLUME });
    expect(cloud.seen.requests.map((form) => [form.Action, form["Owner.1"], form["Filter.1.Name"], form["Filter.1.Value.1"], form.NextToken])).toEqual([
      ["DescribeSnapshots", "self", "volume-id", VOLUME, undefined],
      ["DescribeSnapshots", "self", "volume-id", VOLUME, "2"],
    ]);
    expect(list).toEqual({
      total: 3,
      snapshots: [
        { id: "snap-0aaaaaaaaaaaaaaa2", createdAt: day(3), sizeGiB: 20, status: "pending", source: "schedule" },
        { id: "snap-0aaaaaaaaaaaaaaa3", createdAt: day(2), name: "before upgrade", sizeGiB: 20, status: "completed", source: "manual" },
        { id: "snap-0aaaaaaaaaaaaaaa1", createdAt: day(1), sizeGiB: 20, status: "completed", source: "schedule" },
      ],
    });
  });

  it("says what a refusal means and refuses a malformed volume id before any call", async () => {
    const cloud = ec2({ refuse: true });
    const endpoint = await serve(cloud.handler);
    await expect(listAwsVolumeSnapshots({ ec2: client(endpoint), volumeId: VOLUME })).rejects.toThrow(/DescribeSnapshots failed \(UnauthorizedOperation\) \(the provisioner role may not call ec2:DescribeSnapshots\)/);
    const calls = cloud.seen.requests.length;
    await expect(listAwsVolumeSnapshots({ ec2: client(endpoint), volumeId: "vol-1; drop" })).rejects.toMatchObject({ code: "invalid-disk" });
    expect(cloud.seen.requests.length).toBe(calls);
  });
});

describe("Compute Engine snapshots.list", () => {
  const DISK = "projects/claw-project-1/zones/europe-west1-b/disks/claw-state";
  const SOURCE = `https://www.googleapis.com/compute/v1/${DISK}`;

  function compute(options: { ignoreFilter?: boolean } = {}) {
    const items = [
      { name: "claw-state-europe-west1-b-20261102040000-abcd", sourceDisk: SOURCE, creationTimestamp: "2026-11-02T04:00:09.512-07:00", diskSizeGb: "20", status: "READY", autoCreated: true },
      { name: "claw-state-europe-west1-b-20261103040000-efgh", sourceDisk: SOURCE, creationTimestamp: "2026-11-03T04:00:10.100-07:00", diskSizeGb: "20", status: "CREATING", autoCreated: true },
      { name: "by-hand", sourceDisk: SOURCE, creationTimestamp: "2026-11-02T12:00:00.000-07:00", diskSizeGb: "20", status: "READY", autoCreated: false },
      { name: "imported", sourceDisk: SOURCE, creationTimestamp: "2026-10-30T00:00:00.000-07:00", status: "READY" },
    ];
    const foreign = { name: "other-disk", sourceDisk: `${SOURCE}-old`, creationTimestamp: "2026-11-04T00:00:00.000-07:00", diskSizeGb: "10", status: "READY", autoCreated: true };
    const seen = { filters: [] as (string | null)[], tokens: [] as (string | null)[] };
    const handler = (req: IncomingMessage) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method !== "GET" || url.pathname !== "/projects/claw-project-1/global/snapshots") return { status: 404, body: "{}" };
      const filter = url.searchParams.get("filter");
      seen.filters.push(filter);
      seen.tokens.push(url.searchParams.get("pageToken"));
      const all = options.ignoreFilter ? [...items, foreign] : filter === `sourceDisk = "${SOURCE}"` ? items : [];
      const first = url.searchParams.get("pageToken") === null;
      return { status: 200, body: JSON.stringify(first ? { items: all.slice(0, 3), nextPageToken: "page-2" } : { items: all.slice(3) }) };
    };
    return { seen, handler };
  }
  const requestTo = (): GcpRequest => async (method, url) => {
    const answer = await fetch(url, { method });
    return { status: answer.status, body: await answer.json() };
  };

  it("filters by the disk's URL, follows nextPageToken and reads autoCreated as the schedule's", async () => {
    const cloud = compute();
    const baseUrl = await serve(cloud.handler);
    const list = await listGcpDiskSnapshots({ request: requestTo(), baseUrl, diskId: DISK });
    expect(cloud.seen.filters).toEqual([`sourceDisk = "${SOURCE}"`, `sourceDisk = "${SOURCE}"`]);
    expect(cloud.seen.tokens).toEqual([null, "page-2"]);
    expect(list).toEqual({
      total: 4,
      snapshots: [
        { id: "claw-state-europe-west1-b-20261103040000-efgh", createdAt: "2026-11-03T11:00:10.100Z", sizeGiB: 20, status: "creating", source: "schedule" },
        { id: "by-hand", createdAt: "2026-11-02T19:00:00.000Z", sizeGiB: 20, status: "ready", source: "manual" },
        { id: "claw-state-europe-west1-b-20261102040000-abcd", createdAt: "2026-11-02T11:00:09.512Z", sizeGiB: 20, status: "ready", source: "schedule" },
        { id: "imported", createdAt: "2026-10-30T07:00:00.000Z", status: "ready", source: "unknown" },
      ],
    });
  });

  it("keeps only the disk's own snapshots when an answer holds others, and refuses a malformed disk id", async () => {
    const cloud = compute({ ignoreFilter: true });
    const baseUrl = await serve(cloud.handler);
    const list = await listGcpDiskSnapshots({ request: requestTo(), baseUrl, diskId: DISK });
    expect(list.snapshots.map((snapshot) => snapshot.id)).not.toContain("other-disk");
    expect(list.total).toBe(4);
    await expect(listGcpDiskSnapshots({ request: requestTo(), baseUrl, diskId: "projects/x/global/snapshots" })).rejects.toMatchObject({ code: "invalid-disk" });
    expect(parseGcpDiskId(`https://www.googleapis.com/compute/v1/${DISK}`)).toEqual({ project: "claw-project-1", zone: "europe-west1-b", disk: "claw-state" });
  });
});
