/**
 * The agent's half of a gateway token rotation (issue 20 item 4): when its
 * poll carries `gatewayTokenRotation`, the agent writes a new token to the
 * gateway's environment file (mode 600, other lines kept), restarts the
 * gateway (a recorded stand-in command here), waits for its loopback
 * `/readyz`, and sends the token with the pinned fingerprint to the API with
 * its host credential. A failed send is retried with the same token (no
 * second restart); a host whose token comes from a cloud secret store does
 * nothing and says so. The token never appears in the agent's log.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SupportAgent } from "../../support/agent.js";
import { resolveAgentConfig } from "../../support/config.js";
import { deviceKey, INSTANCE_ID } from "./harness.js";

const HOST_TOKEN = `cshost_${randomBytes(32).toString("base64url")}`;
const FINGERPRINT = "AB:".repeat(31) + "AB";
const OLD_TOKEN = "a".repeat(64);

interface Scene {
  api: { requestedAt: string | null; received: { gatewayToken: string; tlsCertSha256: string }[]; failSends: number };
  restarts: string[][];
  logs: string[];
  dir: string;
  agent: SupportAgent;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanups.push(() => new Promise<void>((done) => server.close(() => done())));
  return (server.address() as AddressInfo).port;
}

async function scene(tokenSource: "generate" | "aws-ssm"): Promise<Scene> {
  const dir = mkdtempSync(join(tmpdir(), "clawstack-rotation-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const api: Scene["api"] = { requestedAt: new Date().toISOString(), received: [], failSends: 0 };
  const apiServer = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (request.headers.authorization !== `Bearer ${HOST_TOKEN}`) return void response.writeHead(401).end();
      const base = `/v1/host/instances/${INSTANCE_ID}`;
      if (request.method === "GET" && request.url === `${base}/support-grants`) {
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(
          JSON.stringify({ grants: [], revoked: [], now: new Date().toISOString(), gatewayTokenRotation: api.requestedAt ? { requestedAt: api.requestedAt } : null }),
        );
      }
      if (request.method === "POST" && request.url === `${base}/gateway-token`) {
        if (api.failSends > 0) {
          api.failSends -= 1;
          return void response.writeHead(503).end();
        }
        api.received.push(JSON.parse(body) as Scene["api"]["received"][number]);
        api.requestedAt = null;
        return void response.writeHead(204).end();
      }
      response.writeHead(404).end();
    });
  });
  const apiPort = await listen(apiServer);
  const gatewayPort = await listen(createServer((_request, response) => void response.writeHead(200).end('{"ready":true}')));

  writeFileSync(join(dir, "host-token"), `${HOST_TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "host.conf"), `TOKEN_SOURCE=${tokenSource}\nTOKEN_NAME=''\n`);
  writeFileSync(join(dir, "gateway.env"), `OPENCLAW_GATEWAY_TOKEN=${OLD_TOKEN}\nOTHER_SETTING=kept\n`, { mode: 0o600 });
  writeFileSync(join(dir, "gateway-cert.sha256"), `${FINGERPRINT}\n`);
  const config = resolveAgentConfig({
    apiUrl: `http://127.0.0.1:${apiPort}/v1`,
    pollSeconds: 1,
    gatewayReadyUrl: `http://127.0.0.1:${gatewayPort}/readyz`,
    paths: {
      hostToken: join(dir, "host-token"),
      hostConf: join(dir, "host.conf"),
      gatewayEnv: join(dir, "gateway.env"),
      gatewayFingerprint: join(dir, "gateway-cert.sha256"),
      stateDir: dir,
      commandLog: join(dir, "commands.log"),
    },
    commands: { restartGateway: ["/bin/true", "restart-gateway"] },
  });
  const restarts: string[][] = [];
  const logs: string[] = [];
  const key = await deviceKey();
  const agent = new SupportAgent(config, { instanceId: INSTANCE_ID, keys: [key.publicKey] }, {
    now: Date.now,
    fetch,
    run: async (argv) => {
      if (argv.includes("restart-gateway")) restarts.push(argv);
      return { code: 0, stdout: "", stderr: "" };
    },
    log: (event, fields) => logs.push(JSON.stringify({ event, ...fields })),
  });
  return { api, restarts, logs, dir, agent };
}

describe("the support agent rotates the gateway token when the API asks", () => {
  it("switches the token, restarts the gateway once, sends it with the pin, and keeps the other settings", async () => {
    const { api, restarts, logs, dir, agent } = await scene("generate");
    api.failSends = 1;
    await agent.pollOnce();
    // The first send failed: the token is switched, not sent yet.
    expect(restarts).toHaveLength(1);
    expect(api.received).toHaveLength(0);
    const env = readFileSync(join(dir, "gateway.env"), "utf8");
    const token = /^OPENCLAW_GATEWAY_TOKEN=([0-9a-f]{64})$/m.exec(env)?.[1];
    expect(token).toBeDefined();
    expect(token).not.toBe(OLD_TOKEN);
    expect(env).toContain("OTHER_SETTING=kept");
    expect(statSync(join(dir, "gateway.env")).mode & 0o777).toBe(0o600);

    // The next poll sends the same token again, without a second restart.
    await agent.pollOnce();
    expect(restarts).toHaveLength(1);
    expect(api.received).toEqual([{ gatewayToken: token, tlsCertSha256: "ab".repeat(32) }]);
    // The API cleared the request: nothing more happens.
    await agent.pollOnce();
    expect(restarts).toHaveLength(1);
    expect(api.received).toHaveLength(1);
    expect(logs.join("\n")).toContain("gateway_token_rotated");
    expect(logs.join("\n")).not.toContain(token!);
  });

  it("a token from the cloud's secret store is not rotated on the host, and the agent says why once", async () => {
    const { api, restarts, logs, dir, agent } = await scene("aws-ssm");
    await agent.pollOnce();
    await agent.pollOnce();
    expect(restarts).toHaveLength(0);
    expect(api.received).toHaveLength(0);
    expect(readFileSync(join(dir, "gateway.env"), "utf8")).toContain(`OPENCLAW_GATEWAY_TOKEN=${OLD_TOKEN}`);
    expect(logs.filter((line) => line.includes("gateway_rotation_unsupported"))).toHaveLength(1);
  });
});
