/**
 * First use without a shell, end to end (issue 16 item 4), against the real
 * OpenClaw gateway behind a front that forwards as nginx does: the API with
 * the proxy's device, the host's support agent (support/agent.ts, the real
 * class, polling the real API) running cloud-init's approve-proxy-device.sh
 * in its setup modes with the gateway's own CLI, and the dashboard's setup
 * code (web/src/gateway-setup.ts) driven from Node over `ws`:
 *
 * - before any window, a connect asking for operator.admin is refused;
 * - the user signs a setup window; the agent's poll opens it; the dashboard
 *   code waits for the approval, then `config.get` + `config.patch` set a new
 *   OpenAI-compatible provider (a second stand-in model that records the key
 *   it is called with);
 * - a chat through the proxy (chat scopes only) is answered by that provider,
 *   with the key the user typed;
 * - the user ends the window: the agent's next poll takes admin back (admin
 *   refused again), and the chat scopes come back with the host's approval;
 * - the key is in no table, file or log of the API.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { signGatewayAdminGrant } from "../../../core/zero-access/gateway-admin-grant";
import { exportUserPublicKey, generateUserKeyPair } from "../../../core/zero-access/user-keys";
import type { WebCryptoKey } from "../../../core/zero-access/webcrypto-types";
import { type LocalHost, startLocalHost } from "../../../api/demo/local-host";
import { createLocalInstance, registerHost } from "../../../api/demo/local-instance";
import { ProxyDeviceIdentity, useProxyDevice } from "../../../api/proxy/device-identity";
import { storeHostToken } from "../../../api/support/host-credential";
import { pinDeviceKeys } from "../../../api/support/pinning";
import { SupportAgent, runCommand } from "../../../support/agent";
import { resolveAgentConfig } from "../../../support/config";
import { applyModelSetup, GatewaySession, GatewaySetupError, type SocketConstructor } from "../../../web/src/gateway-setup";
import { bearer, json, remember, scanForSecrets, type Session, signUp, startApi, type TestApi } from "../support";
import { browserConnectParams, gatewayUnavailable, onApi, openBrowserClient, ticketFor, writeApproveWrapper } from "./support";

const unavailable = gatewayUnavailable();
if (unavailable) console.log(`gateway setup tests skipped: ${unavailable}`);

/** A second OpenAI-compatible stand-in: answers with its own phrase and records the bearer key it got. */
function startProviderStandIn(): Promise<{ server: Server; url: string; keys: string[] }> {
  const keys: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      keys.push(String(request.headers.authorization ?? "").replace(/^Bearer /, ""));
      if ((request.url ?? "").endsWith("/models")) {
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(JSON.stringify({ object: "list", data: [{ id: "setup-model", object: "model", created: 0, owned_by: "test" }] }));
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: "c1",
          object: "chat.completion",
          created: 0,
          model: "setup-model",
          choices: [{ index: 0, message: { role: "assistant", content: "configured provider answers" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
        }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keys })));
}

describe.skipIf(unavailable !== undefined)("the model set from the dashboard through the proxy, inside a setup window the user signed", () => {
  let host: LocalHost;
  let hostDir: string;
  let api: TestApi;
  let apiUrl: string;
  let owner: Session;
  let instanceId: string;
  let device: ProxyDeviceIdentity;
  let agent: SupportAgent;
  let provider: Awaited<ReturnType<typeof startProviderStandIn>>;
  let userKey: { publicKey: Awaited<ReturnType<typeof exportUserPublicKey>>; signingKey: WebCryptoKey };
  const apiKey = `sk-setup-${randomBytes(16).toString("hex")}`;

  async function ticketUrl(): Promise<string> {
    const { status, body } = await ticketFor(api, owner.accessToken, instanceId);
    expect(status, JSON.stringify(body)).toBe(201);
    return onApi(String(body.url), apiUrl);
  }

  async function chatThroughProxy(): Promise<string> {
    const client = await openBrowserClient(await ticketUrl());
    await client.waitFor((frame) => frame.event === "connect.challenge", 30_000);
    const hello = await client.request("connect", browserConnectParams());
    if (!hello.ok) {
      client.socket.close(1000);
      return `refused: ${hello.error?.code}`;
    }
    const sessionKey = `setup-${randomUUID()}`;
    const sent = await client.request("chat.send", { sessionKey, message: "hello after setup", idempotencyKey: randomUUID() });
    expect(sent.ok, JSON.stringify(sent.error)).toBe(true);
    const final = await client.waitFor((frame) => frame.event === "chat" && (frame.payload as { state?: string } | undefined)?.state === "final", 120_000);
    client.socket.close(1000);
    return JSON.stringify(final.payload);
  }

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), "clawstack-gateway-setup-"));
    host = await startLocalHost({ dir: hostDir, forwardedFor: "203.0.113.9" });
    provider = await startProviderStandIn();
    api = await startApi({ engine: "sqlite", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    apiUrl = await api.app.listen({ host: "127.0.0.1", port: 0 });
    remember(api, apiKey, host.gatewayToken);
    owner = await signUp(api, "owner");
    const pair = await generateUserKeyPair({ extractable: false });
    userKey = { publicKey: await exportUserPublicKey(pair), signingKey: pair.signing.privateKey };
    expect((await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: bearer(owner.accessToken), payload: { name: "browser", key: userKey.publicKey } })).statusCode).toBe(201);
    const created = await createLocalInstance(api.app.db, { userId: owner.userId, gatewayUrl: host.gatewayUrl });
    instanceId = created.instanceId;
    remember(api, created.registrationToken);
    await pinDeviceKeys(api.app.db, { id: instanceId, user_id: owner.userId });
    const hostToken = `cshost_${randomBytes(32).toString("base64url")}`;
    remember(api, hostToken);
    await registerHost(apiUrl, { instanceId, registrationToken: created.registrationToken, gatewayToken: host.gatewayToken, tlsCertSha256: host.tlsCertSha256 });
    await storeHostToken(api.app.db, instanceId, hostToken);

    device = new ProxyDeviceIdentity(generateKeyPairSync("ed25519").privateKey);
    useProxyDevice(device);
    const wrapper = writeApproveWrapper(hostDir, host, device);
    const agentDir = join(hostDir, "agent");
    mkdirSync(agentDir, { mode: 0o700 });
    writeFileSync(join(agentDir, "host-token"), `${hostToken}\n`, { mode: 0o600 });
    const config = resolveAgentConfig({
      apiUrl: `${apiUrl}/v1`,
      pollSeconds: 1,
      paths: { hostToken: join(agentDir, "host-token"), proxyDeviceConf: join(hostDir, "proxy-device.conf"), stateDir: agentDir, commandLog: join(agentDir, "commands.log") },
      commands: { proxyAdminOpen: [wrapper, "admin-open"], proxyAdminClose: [wrapper, "admin-close"], proxyDeviceTimer: [wrapper] },
    });
    agent = new SupportAgent(config, { instanceId, keys: [userKey.publicKey] }, { now: Date.now, fetch, run: runCommand, log: () => undefined });

    // First boot's pairing: the proxy's device connects, the host's timer approves it for the chat scopes.
    expect(await chatThroughProxy()).toBe("refused: NOT_PAIRED");
    execFileSync(wrapper, [], { encoding: "utf8", timeout: 180_000 });
  }, 400_000);

  afterAll(async () => {
    useProxyDevice(undefined);
    await api?.close();
    provider?.server.close();
    await host?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  it("outside a window admin is refused; inside one the dashboard's code sets the provider; the chat uses it; the end takes admin back", async () => {
    // Outside a window the proxy does not even ask the gateway (a pending admin request would hold up the next pairing).
    const outside = GatewaySession.open(await ticketUrl(), ["operator.read", "operator.admin"], WebSocket as unknown as SocketConstructor);
    await expect(outside).rejects.toBeInstanceOf(GatewaySetupError);
    await expect(outside).rejects.toMatchObject({ code: "CLOSED_4402" });
    await agent.pollOnce();
    expect(agent.gatewayAdminOpen()).toBe(false);

    const signed = await signGatewayAdminGrant({ instanceId, reason: "set the model provider" }, userKey);
    const grant = await api.inject({ method: "POST", url: `/v1/instances/${instanceId}/gateway-admin-grants`, headers: bearer(owner.accessToken), payload: signed });
    expect(grant.statusCode, grant.body).toBe(201);
    const grantId = String(json(grant).id);

    // The host polls while the dashboard waits for the approval.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await agent.pollOnce();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    const progress: string[] = [];
    let model: string;
    try {
      model = await applyModelSetup(
        { provider: "setup-llm", baseUrl: provider.url, model: "setup-model", apiKey },
        { ticketUrl, Socket: WebSocket as unknown as SocketConstructor, onProgress: (text) => progress.push(text), retryMs: 1_000, approvalTimeoutMs: 120_000 },
      );
    } finally {
      polling = false;
      await poller;
    }
    expect(model).toBe("setup-llm/setup-model");
    expect(progress.join("\n")).toContain("Waiting for your host");
    expect(agent.gatewayAdminOpen()).toBe(true);

    const answer = await chatThroughProxy();
    expect(answer).toContain("configured provider answers");
    expect(provider.keys).toContain(apiKey);

    // The user ends the window; the agent's next poll takes admin back.
    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/gateway-admin-grants/${grantId}`, headers: bearer(owner.accessToken) })).statusCode).toBe(204);
    await agent.pollOnce();
    expect(agent.gatewayAdminOpen()).toBe(false);
    await expect(GatewaySession.open(await ticketUrl(), ["operator.read", "operator.admin"], WebSocket as unknown as SocketConstructor)).rejects.toMatchObject({ code: "CLOSED_4402" });
    // The chat scopes come back with the host's approval (its timer runs the script after a close).
    expect(await chatThroughProxy()).toBe("refused: NOT_PAIRED");
    expect(execFileSync(join(hostDir, "approve"), [], { encoding: "utf8", timeout: 180_000 })).toContain("approved");
    expect(await chatThroughProxy()).toContain("configured provider answers");

    // The key went from the "browser" to the gateway only.
    expect(await scanForSecrets(api)).toEqual([]);
  }, 600_000);
});
