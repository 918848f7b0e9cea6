/**
 * The calls runtime/state-snapshots.ts makes to list a state disk's snapshots
 * (the API's `snapshots` job) are allowed by ClawStack's own access profiles:
 * EC2 DescribeSnapshots by both AWS profiles (`ec2:Describe*`, which AWS
 * cannot scope to resources), `compute.snapshots.list` by the GCP
 * provisioner role, and on DigitalOcean the listing runs against a stand-in
 * that enforces the endpoint's documented scope: with exactly the token
 * check's `state-volume` scopes it succeeds, without
 * `block_storage_snapshot:read` it fails on a 403 that names the scope.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_PROFILES, awsPermissionsForProfile } from "../../../components/access/aws-permissions.js";
import { DEFAULT_IMAGE_OWNERS, renderPermissionsPolicy } from "../../../components/access/aws-policy.js";
import { gcpProvisionerPermissions } from "../../../components/access/gcp-permissions.js";
import { requiredDigitalOceanScopes } from "../../../runtime/digitalocean-token-check.js";
import { listDigitalOceanVolumeSnapshots } from "../../../runtime/state-snapshots.js";
import { policyAllows } from "./permissions-eval.js";

describe.each(ACCESS_PROFILES)("AWS accessProfile %s", (profile) => {
  const policy = renderPermissionsPolicy({ partition: "aws", accountId: "123456789012", imageOwners: DEFAULT_IMAGE_OWNERS, table: awsPermissionsForProfile(profile) });

  it("allows DescribeSnapshots (read only, no resource-level scoping exists) and no snapshot change beyond what the stack does", () => {
    expect(policyAllows(policy, { action: "ec2:DescribeSnapshots", resource: "*", context: {} })).toBe(true);
    expect(policyAllows(policy, { action: "ec2:DeleteSnapshot", resource: "arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0", context: {} })).toBe(false);
  });
});

describe("GCP provisioner role", () => {
  it("holds snapshots.list", () => {
    expect(gcpProvisionerPermissions()).toContain("compute.snapshots.list");
  });
});

describe("DigitalOcean token scopes", () => {
  const TOKEN = `dop_v1_${"9e".repeat(32)}`;
  const VOLUME = "5e0a5a5e-1111-4222-8333-944445555666";
  const granted = new Set<string>();
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const reply = (status: number, payload: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(payload));
      };
      if (request.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { id: "Unauthorized" });
      // DigitalOcean's API reference: listing a volume's snapshots needs `block_storage_snapshot:read`.
      if (request.method !== "GET" || url.pathname !== `/v2/volumes/${VOLUME}/snapshots`) return reply(500, { id: "test_server", message: "no such route in the stand-in" });
      if (!granted.has("block_storage_snapshot:read")) return reply(403, { id: "Forbidden", message: "You are not authorized to perform this operation" });
      return reply(200, { snapshots: [{ id: "1", name: "clawstack-state-v-20261101t0400z", created_at: "2026-11-01T04:00:00Z", tags: ["ManagedBy:claw-cloud"] }] });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  it("the token check's state-volume scopes list the snapshots; without block_storage_snapshot:read the listing fails naming it", async () => {
    const scopes = requiredDigitalOceanScopes(["state-volume"]).map((requirement) => requirement.scope);
    for (const scope of scopes) granted.add(scope);
    const list = await listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: VOLUME, baseUrl });
    expect(list.snapshots.map((snapshot) => snapshot.source)).toEqual(["schedule"]);
    granted.delete("block_storage_snapshot:read");
    await expect(listDigitalOceanVolumeSnapshots({ token: TOKEN, volumeId: VOLUME, baseUrl })).rejects.toThrow(/`block_storage_snapshot:read`/);
  });
});
