/**
 * The agent's half of a gateway setup window (issue 16 "first use without a
 * shell", support/gateway-admin.ts): a setup grant in the poll that verifies
 * against the pinned keys opens the window (the open command runs each poll,
 * approving the proxy device's pending admin upgrade); revocation, the end, or
 * a poll that no longer lists it closes it once (close command, then the
 * chat-scope approval timer); a grant listed again after its window closed,
 * a foreign signer, another instance and an expired grant never open one; a
 * host without a pinned proxy device does nothing and says why once.
 * The commands are recorded stand-ins here; the commands themselves run
 * against the real gateway in tests/api/proxy (approve-proxy-device.sh).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { signGatewayAdminGrant } from "../../core/zero-access/gateway-admin-grant.js";
import type { SignedGrant } from "../../core/zero-access/support-grant.js";
import { SupportAgent } from "../../support/agent.js";
import { resolveAgentConfig } from "../../support/config.js";
import { deviceKey, INSTANCE_ID } from "./harness.js";

const HOST_TOKEN = `cshost_${randomBytes(32).toString("base64url")}`;
const gagId = () => `gag_${randomBytes(16).toString("base64url")}`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scene(options: { proxyDevice?: boolean; clock?: { now: number } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "clawstack-gateway-admin-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const api = { listed: [] as ({ id: string } & SignedGrant)[], down: false };
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (api.down) return void response.writeHead(503).end();
      if (request.headers.authorization !== `Bearer ${HOST_TOKEN}`) return void response.writeHead(401).end();
      if (request.method === "GET" && request.url === `/v1/host/instances/${INSTANCE_ID}/support-grants`) {
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(JSON.stringify({ grants: [], revoked: [], now: new Date().toISOString(), gatewayTokenRotation: null, gatewayAdmin: api.listed }));
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanups.push(() => new Promise<void>((done) => server.close(() => done())));
  writeFileSync(join(dir, "host-token"), `${HOST_TOKEN}\n`, { mode: 0o600 });
  if (options.proxyDevice !== false) writeFileSync(join(dir, "proxy-device.conf"), `PROXY_DEVICE_ID='${"a".repeat(64)}'\n`);
  const config = resolveAgentConfig({
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    pollSeconds: 1,
    paths: { hostToken: join(dir, "host-token"), proxyDeviceConf: join(dir, "proxy-device.conf"), stateDir: dir, commandLog: join(dir, "commands.log") },
    commands: { proxyAdminOpen: ["/bin/true", "admin-open"], proxyAdminClose: ["/bin/true", "admin-close"], proxyDeviceTimer: ["/bin/true", "timer"] },
  });
  const ran: string[] = [];
  const logs: string[] = [];
  const key = await deviceKey();
  const clock = options.clock ?? { now: Date.now() };
  const agent = new SupportAgent(config, { instanceId: INSTANCE_ID, keys: [key.publicKey] }, {
    now: () => clock.now,
    fetch,
    run: async (argv) => {
      ran.push(argv[1]!);
      return { code: 0, stdout: "", stderr: "" };
    },
    log: (event, fields) => logs.push(JSON.stringify({ event, ...fields })),
  });
  const sign = async (instanceId = INSTANCE_ID, signer = key) => ({ id: gagId(), ...(await signGatewayAdminGrant({ instanceId, reason: "set the model" }, { publicKey: signer.publicKey, signingKey: signer.pair.signing.privateKey })) });
  return { api, ran, logs, agent, sign, clock };
}

describe("the support agent opens and closes gateway setup windows", () => {
  it("opens on a verified grant (open each poll), closes once when it is no longer listed, and never reopens it", async () => {
    const { api, ran, logs, agent, sign } = await scene();
    await agent.pollOnce();
    expect(ran).toEqual([]);
    const grant = await sign();
    api.listed = [grant];
    await agent.pollOnce();
    await agent.pollOnce();
    expect(ran).toEqual(["admin-open", "admin-open"]);
    expect(agent.gatewayAdminOpen()).toBe(true);
    // The user revoked it: the API no longer lists it.
    api.listed = [];
    await agent.pollOnce();
    expect(ran).toEqual(["admin-open", "admin-open", "admin-close", "timer"]);
    expect(agent.gatewayAdminOpen()).toBe(false);
    await agent.pollOnce();
    expect(ran).toHaveLength(4);
    // The same grant listed again (a provider replaying it) opens nothing: its nonce is spent.
    api.listed = [grant];
    await agent.pollOnce();
    expect(ran).toHaveLength(4);
    expect(logs.join("\n")).toContain('"code":"replayed"');
    expect(logs.filter((line) => line.includes("gateway_admin_opened"))).toHaveLength(1);
    expect(logs.filter((line) => line.includes("gateway_admin_closed"))).toHaveLength(1);
  });

  it("refuses a foreign signer, another instance and an expired grant; closes at the end even with the API unreachable", async () => {
    const clock = { now: Date.now() };
    const { api, ran, logs, agent, sign } = await scene({ clock });
    const stranger = await deviceKey();
    api.listed = [await sign(INSTANCE_ID, stranger), await sign(`inst_${"f".repeat(32)}`)];
    await agent.pollOnce();
    expect(ran).toEqual([]);
    expect(logs.join("\n")).toMatch(/"code":"unknown-signer"[\s\S]*"code":"wrong-instance"/);

    api.listed = [await sign()];
    await agent.pollOnce();
    expect(ran).toEqual(["admin-open"]);
    // The API goes away; the window still ends at the grant's end (15 minutes).
    api.down = true;
    await agent.pollOnce();
    expect(ran).toEqual(["admin-open", "admin-open"]);
    clock.now += 16 * 60 * 1000;
    await agent.pollOnce();
    expect(ran).toEqual(["admin-open", "admin-open", "admin-close", "timer"]);
    // Back, still listing the ended grant: expired, nothing opens.
    api.down = false;
    await agent.pollOnce();
    expect(ran).toHaveLength(4);
  });

  it("a host without a pinned proxy device runs nothing and says why once", async () => {
    const { api, ran, logs, agent, sign } = await scene({ proxyDevice: false });
    api.listed = [await sign()];
    await agent.pollOnce();
    await agent.pollOnce();
    expect(ran).toEqual([]);
    expect(logs.filter((line) => line.includes("gateway_admin_unsupported"))).toHaveLength(1);
  });
});
