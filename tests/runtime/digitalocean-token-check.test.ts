import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DigitalOceanApiError, DigitalOceanToken } from "../../runtime/digitalocean-api.js";
import {
  checkDigitalOceanToken,
  classifyProbe,
  requiredDigitalOceanScopes,
} from "../../runtime/digitalocean-token-check.js";

/**
 * A stand-in for the DigitalOcean API on loopback. Its routes are written from
 * DigitalOcean's API reference (method + path → the custom scope it needs),
 * independently of the probe list under test, so a probe aimed at the wrong
 * endpoint or the wrong scope shows up as an unknown route or a wrong answer.
 * Authorization mirrors the real API: 401 for an unknown token, 403 for a
 * missing scope, then the request itself is judged (empty create bodies 422,
 * IDs that do not exist 404, lists 200).
 */
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const ROUTES: readonly [method: string, path: RegExp, scope: string][] = [
  ["GET", /^\/v2\/droplets$/, "droplet:read"],
  ["POST", /^\/v2\/droplets$/, "droplet:create"],
  ["POST", /^\/v2\/droplets\/\d+\/actions$/, "droplet:update"],
  ["DELETE", /^\/v2\/droplets\/\d+$/, "droplet:delete"],
  ["GET", /^\/v2\/regions$/, "regions:read"],
  ["GET", /^\/v2\/sizes$/, "sizes:read"],
  ["GET", /^\/v2\/images$/, "image:read"],
  ["GET", /^\/v2\/actions$/, "actions:read"],
  ["POST", /^\/v2\/tags$/, "tag:create"],
  ["GET", /^\/v2\/tags$/, "tag:read"],
  ["POST", /^\/v2\/firewalls$/, "firewall:create"],
  ["GET", /^\/v2\/firewalls$/, "firewall:read"],
  ["PUT", new RegExp(`^/v2/firewalls/${UUID}$`), "firewall:update"],
  ["DELETE", new RegExp(`^/v2/firewalls/${UUID}$`), "firewall:delete"],
  ["POST", /^\/v2\/volumes$/, "block_storage:create"],
  ["GET", /^\/v2\/volumes$/, "block_storage:read"],
  ["DELETE", new RegExp(`^/v2/volumes/${UUID}$`), "block_storage:delete"],
  ["POST", new RegExp(`^/v2/volumes/${UUID}/actions$`), "block_storage_action:create"],
  ["POST", new RegExp(`^/v2/volumes/${UUID}/snapshots$`), "block_storage_snapshot:create"],
  ["GET", new RegExp(`^/v2/volumes/${UUID}/snapshots$`), "block_storage_snapshot:read"],
  ["DELETE", new RegExp(`^/v2/volumes/snapshots/${UUID}$`), "block_storage_snapshot:delete"],
  ["GET", /^\/v2\/snapshots$/, "snapshot:read"],
  ["DELETE", new RegExp(`^/v2/snapshots/(${UUID}|\\d+)$`), "snapshot:delete"],
  // digitalocean/openapi specification/resources/vpcs and reserved_ips: the scopes their `security` names.
  ["GET", /^\/v2\/vpcs$/, "vpc:read"],
  ["POST", /^\/v2\/reserved_ips$/, "reserved_ip:create"],
  ["GET", /^\/v2\/reserved_ips$/, "reserved_ip:read"],
  ["POST", /^\/v2\/reserved_ips\/\d{1,3}(\.\d{1,3}){3}\/actions$/, "reserved_ip:update"],
  ["DELETE", /^\/v2\/reserved_ips\/\d{1,3}(\.\d{1,3}){3}$/, "reserved_ip:delete"],
  ["POST", /^\/v2\/account\/keys$/, "ssh_key:create"],
  ["GET", /^\/v2\/account\/keys$/, "ssh_key:read"],
  ["DELETE", /^\/v2\/account\/keys\/\d+$/, "ssh_key:delete"],
];
const ALL_SCOPES = [...new Set(ROUTES.map(([, , scope]) => scope))];

const TOKEN = `dop_v1_${"3f9a".repeat(16)}`;

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

const state = {
  granted: new Set<string>(ALL_SCOPES),
  /** Scope → status forced regardless of grants (rate limits, outages). */
  forced: new Map<string, number>(),
  seen: [] as Seen[],
  unknownRoutes: [] as string[],
};

let server: Server;
let baseUrl: string;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    request.on("end", () => resolve(text));
  });
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = await readBody(request);
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const method = request.method ?? "GET";
    state.seen.push({ method, url: request.url ?? "", authorization: request.headers.authorization, body });
    const reply = (status: number, payload: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { id: "Unauthorized", message: "Unable to authenticate you" });
    const route = ROUTES.find(([routeMethod, path]) => routeMethod === method && path.test(url.pathname));
    if (!route) {
      state.unknownRoutes.push(`${method} ${url.pathname}`);
      return reply(500, { id: "test_server", message: "no such route in the stand-in" });
    }
    const scope = route[2];
    const forced = state.forced.get(scope);
    if (forced !== undefined) return reply(forced, { id: "forced", message: "forced by the test" });
    if (!state.granted.has(scope)) return reply(403, { id: "Forbidden", message: "You are not authorized to perform this operation" });
    if (method === "GET") return reply(200, { items: [], meta: { total: 0 } });
    if (method === "POST" && /^\/v2\/(droplets|tags|firewalls|volumes|account\/keys)$/.test(url.pathname)) {
      return reply(422, { id: "unprocessable_entity", message: "name is required" });
    }
    return reply(404, { id: "not_found", message: "The resource you requested could not be found." });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  state.granted = new Set(ALL_SCOPES);
  state.forced.clear();
  state.seen = [];
  state.unknownRoutes = [];
});

describe("checkDigitalOceanToken against a loopback stand-in", () => {
  it("passes a token holding every needed scope, probing only real endpoints", async () => {
    const result = await checkDigitalOceanToken(TOKEN, { baseUrl });
    expect(state.unknownRoutes).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.tokenAccepted).toBe(true);
    expect(result.missing).toEqual([]);
    expect(result.granted).toEqual(requiredDigitalOceanScopes().map((requirement) => requirement.scope));
    expect(result.message).toBe("The DigitalOcean token has every scope ClawStack needs.");
  });

  it("names the one missing scope and what it is for", async () => {
    state.granted.delete("firewall:update");
    const result = await checkDigitalOceanToken(TOKEN, { baseUrl });
    expect(result.ok).toBe(false);
    expect(result.missing).toEqual([{ scope: "firewall:update", why: "change the firewall's rules" }]);
    expect(result.message).toContain("missing the scope: `firewall:update` (to change the firewall's rules)");
    expect(result.granted).not.toContain("firewall:update");
  });

  it("names every missing scope of a read-only token", async () => {
    state.granted = new Set(ALL_SCOPES.filter((scope) => scope.endsWith(":read")));
    const result = await checkDigitalOceanToken(TOKEN, { baseUrl });
    expect(result.ok).toBe(false);
    const missing = result.missing.map((entry) => entry.scope);
    expect(missing).toEqual(expect.arrayContaining(["droplet:create", "droplet:delete", "tag:create", "block_storage:create"]));
    expect(missing.every((scope) => !scope.endsWith(":read"))).toBe(true);
    for (const scope of missing) expect(result.message).toContain(`\`${scope}\``);
  });

  it("says the token itself is refused on 401, and stops probing", async () => {
    const result = await checkDigitalOceanToken(`dop_v1_${"0".repeat(64)}`, { baseUrl });
    expect(result.ok).toBe(false);
    expect(result.tokenAccepted).toBe(false);
    expect(result.message).toMatch(/did not accept the token \(401\).*mistyped, revoked or expired/);
    expect(state.seen).toHaveLength(1);
  });

  it("calls a rate-limited or failing probe inconclusive instead of guessing", async () => {
    state.forced.set("sizes:read", 429);
    state.forced.set("tag:create", 503);
    const result = await checkDigitalOceanToken(TOKEN, { baseUrl });
    expect(result.ok).toBe(false);
    expect(result.missing).toEqual([]);
    expect(result.inconclusive).toEqual([
      { scope: "sizes:read", status: 429 },
      { scope: "tag:create", status: 503 },
    ]);
    expect(result.message).toContain("no clear answer for `sizes:read` (HTTP 429), `tag:create` (HTTP 503)");
  });

  it("checks SSH key scopes only when asked (SSH is off by default)", async () => {
    state.granted.delete("ssh_key:create");
    expect((await checkDigitalOceanToken(TOKEN, { baseUrl })).ok).toBe(true);
    const withSsh = await checkDigitalOceanToken(TOKEN, { baseUrl, features: ["host", "ssh"] });
    expect(withSsh.missing.map((entry) => entry.scope)).toEqual(["ssh_key:create"]);
    expect(state.unknownRoutes).toEqual([]);
  });

  it("checks block storage scopes only for the state-volume feature", async () => {
    state.granted = new Set(ALL_SCOPES.filter((scope) => !scope.startsWith("block_storage")));
    expect((await checkDigitalOceanToken(TOKEN, { baseUrl, features: ["host"] })).ok).toBe(true);
    const full = await checkDigitalOceanToken(TOKEN, { baseUrl });
    expect(full.missing.map((entry) => entry.scope).every((scope) => scope.startsWith("block_storage"))).toBe(true);
    expect(full.missing).toHaveLength(6);
  });

  it("sends the token only in the Authorization header, and changes nothing", async () => {
    await checkDigitalOceanToken(TOKEN, { baseUrl, features: ["host", "state-volume", "ssh"] });
    expect(state.seen.length).toBe(requiredDigitalOceanScopes(["host", "state-volume", "ssh"]).length);
    for (const request of state.seen) {
      expect(request.authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.url).not.toContain(TOKEN);
      expect(request.body).not.toContain(TOKEN);
      // Creates carry an empty body (refused as invalid), updates and deletes name IDs that cannot exist
      // (reserved IPs by a documentation address, 192.0.2.1, which no reserved IP has).
      if (request.method === "POST" || request.method === "PUT") expect(request.body).toBe("{}");
      if (request.method === "DELETE" || request.method === "PUT") expect(request.url).toMatch(/\/(0|00000000-0000-0000-0000-000000000000|192\.0\.2\.1)(\/|$)/);
    }
  });

  it("reports an unreachable API without the token", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await checkDigitalOceanToken(TOKEN, { baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DigitalOceanApiError);
    expect((error as Error).message).toMatch(/could not reach the DigitalOcean API/);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});

describe("DigitalOceanToken", () => {
  it("never prints its value", () => {
    const held = new DigitalOceanToken(TOKEN);
    for (const printed of [String(held), JSON.stringify({ held }), inspect(held, { showHidden: true }), `${held}`]) {
      expect(printed).not.toContain(TOKEN);
    }
  });

  it("refuses an empty token, naming the field", () => {
    expect(() => new DigitalOceanToken("  ")).toThrow(/`token` must be a non-empty DigitalOcean API token/);
  });
});

describe("classifyProbe", () => {
  it.each([
    ["GET", 200, "granted"],
    ["POST", 422, "granted"],
    ["POST", 400, "granted"],
    ["DELETE", 404, "granted"],
    ["GET", 403, "missing"],
    ["POST", 201, "inconclusive"],
    ["GET", 429, "inconclusive"],
    ["GET", 500, "inconclusive"],
  ] as const)("%s answered %i is %s", (method, status, expected) => {
    expect(classifyProbe(method, status)).toBe(expected);
  });
});
