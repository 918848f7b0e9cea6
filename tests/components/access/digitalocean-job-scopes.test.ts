import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requiredDigitalOceanScopes } from "../../../runtime/digitalocean-token-check.js";
import {
  MANAGED_BY_TAG,
  runDigitalOceanVolumeSnapshotSweep,
  SNAPSHOT_KIND_TAG,
  snapshotNameFor,
  VolumeSnapshotJobError,
} from "../../../runtime/digitalocean-volume-job.js";
import { digitalOceanVolumeSnapshotTags } from "../../../components/snapshots/schedule.js";

/**
 * The scopes the token check asks for must be enough for what ClawStack's
 * runtime really does with a DigitalOcean token: the state-volume snapshot job
 * runs here against a stateful loopback stand-in of the API that enforces
 * DigitalOcean's scope for each endpoint (from its API reference). With
 * exactly the `state-volume` scopes the job succeeds; without any one of the
 * scopes it uses, it fails on a 403.
 */
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const TOKEN = `dop_v1_${"a1b2".repeat(16)}`;
const VOLUME_ID = "5e0a5a5e-1111-4222-8333-944445555666";

const ROUTES: readonly [method: string, path: RegExp, scope: string][] = [
  ["GET", /^\/v2\/volumes$/, "block_storage:read"],
  ["GET", new RegExp(`^/v2/volumes/${UUID}$`), "block_storage:read"],
  ["GET", new RegExp(`^/v2/volumes/${UUID}/snapshots$`), "block_storage_snapshot:read"],
  ["POST", new RegExp(`^/v2/volumes/${UUID}/snapshots$`), "block_storage_snapshot:create"],
  ["DELETE", new RegExp(`^/v2/volumes/snapshots/${UUID}$`), "block_storage_snapshot:delete"],
  ["GET", /^\/v2\/snapshots$/, "snapshot:read"],
  ["DELETE", /^\/v2\/snapshots\/[^/]+$/, "snapshot:delete"],
];

interface FakeSnapshot {
  id: string;
  name: string;
  created_at: string;
  tags: string[];
}

const state = {
  granted: new Set<string>(),
  snapshots: [] as FakeSnapshot[],
  denied: [] as string[],
  unknown: [] as string[],
};

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      const method = request.method ?? "GET";
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const reply = (status: number, payload?: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      if (request.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { id: "Unauthorized" });
      const route = ROUTES.find(([m, path]) => m === method && path.test(url.pathname));
      if (!route) {
        state.unknown.push(`${method} ${url.pathname}`);
        return reply(500, { id: "test_server", message: "no such route in the stand-in" });
      }
      if (!state.granted.has(route[2])) {
        state.denied.push(route[2]);
        return reply(403, { id: "Forbidden", message: "You are not authorized to perform this operation" });
      }
      const volume = {
        id: VOLUME_ID,
        name: "openclaw-state",
        tags: [MANAGED_BY_TAG, ...digitalOceanVolumeSnapshotTags({ enabled: true, frequency: "daily", hourUtc: 4, retain: 2, weekday: "SUN" } as never)],
      };
      if (method === "GET" && url.pathname === "/v2/volumes") return reply(200, { volumes: [volume] });
      if (method === "GET" && url.pathname === `/v2/volumes/${VOLUME_ID}`) return reply(200, { volume });
      if (method === "GET" && url.pathname.endsWith("/snapshots")) return reply(200, { snapshots: state.snapshots });
      if (method === "POST") {
        const input = JSON.parse(body) as { name: string; tags: string[] };
        const snapshot = { id: `snap-${state.snapshots.length + 1}`, name: input.name, created_at: new Date().toISOString(), tags: input.tags };
        state.snapshots.push(snapshot);
        return reply(201, { snapshot });
      }
      if (method === "DELETE") {
        const id = url.pathname.split("/").pop();
        state.snapshots = state.snapshots.filter((snapshot) => snapshot.id !== id);
        return reply(204);
      }
      return reply(404, { id: "not_found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const STATE_VOLUME_SCOPES = requiredDigitalOceanScopes(["state-volume"]).map((requirement) => requirement.scope);

beforeEach(() => {
  state.granted = new Set(STATE_VOLUME_SCOPES);
  state.denied = [];
  state.unknown = [];
  // Three older ClawStack snapshots: with retain 2 the job must delete two of them.
  state.snapshots = ["2026-11-20", "2026-11-21", "2026-11-22"].map((day, index) => ({
    id: `old-${index}`,
    name: snapshotNameFor("openclaw-state", new Date(`${day}T04:00:00Z`)),
    created_at: `${day}T04:00:00Z`,
    tags: [MANAGED_BY_TAG, SNAPSHOT_KIND_TAG],
  }));
});

async function sweep() {
  return runDigitalOceanVolumeSnapshotSweep({ token: TOKEN, baseUrl, now: new Date("2026-11-23T05:00:00Z") });
}

describe("the state-volume scopes against the snapshot job", () => {
  it("are enough: the sweep snapshots and prunes with exactly these scopes", async () => {
    const result = await sweep();
    expect(state.unknown).toEqual([]);
    expect(state.denied).toEqual([]);
    expect(result.failures).toEqual([]);
    expect(result.results).toHaveLength(1);
    expect(result.results[0]?.created).toBeDefined();
    expect(result.results[0]?.deleted.length).toBeGreaterThan(0);
  });

  it.each(["block_storage:read", "block_storage_snapshot:read", "block_storage_snapshot:create", "snapshot:delete"])(
    "are each needed: without %s the job fails on a 403",
    async (scope) => {
      state.granted.delete(scope);
      const outcome = await sweep().catch((error: unknown) => error);
      const failed =
        outcome instanceof VolumeSnapshotJobError ||
        (typeof outcome === "object" && outcome !== null && "failures" in outcome && (outcome as { failures: unknown[] }).failures.length > 0);
      expect(failed).toBe(true);
      expect(state.denied).toContain(scope);
    },
  );
});
