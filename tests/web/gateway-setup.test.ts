/**
 * First use without a shell in the dashboard (issue 16 item 4), in real Chromium against `npm start`'s
 * server and the real OpenClaw gateway behind a front that forwards as nginx does: Alice makes a device key
 * in the browser; her instance (registered by the local host, with the support agent's credential) pins it;
 * the host's support agent (the real class, polling the server) runs cloud-init's approve-proxy-device.sh.
 * On the instance page she fills in *Model provider*: the page signs a setup window, waits while the host
 * approves, sets the provider through the proxy's WebSocket (the page's CSP allows it), and ends the window.
 * Then a chat through the proxy is answered by that provider with her key, admin is gone again, and the key
 * is in no request the page sent to the API, nor in the server's files or output. CSP violations, script
 * errors and console errors fail the test.
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../api/config";
import { openDatabase } from "../../api/db/connect";
import { type LocalHost, startLocalHost } from "../../api/demo/local-host";
import { createLocalInstance, registerHost } from "../../api/demo/local-instance";
import { loadProxyDevice } from "../../api/proxy/device-identity";
import { storeHostToken } from "../../api/support/host-credential";
import { pinDeviceKeys } from "../../api/support/pinning";
import { SupportAgent, runCommand } from "../../support/agent";
import { readPinnedKeys, resolveAgentConfig } from "../../support/config";
import { gatewayUnavailable, writeApproveWrapper } from "../api/proxy/support";
import { axeCheck, createAdmin, ensureDashboardBuilt, launchChromium, missingBrowser, type PageProblems, type RunningApi, screenshot, serverEnv, startServer, watch } from "./support";

const skipReason = missingBrowser() ?? gatewayUnavailable();
if (skipReason) console.log(`dashboard gateway setup test skipped: ${skipReason}`);
const ADMIN = { email: "admin@example.com", password: `admin-${randomBytes(9).toString("base64url")}` };
const ALICE = { email: "alice@example.com", password: `alice-${randomBytes(9).toString("base64url")}` };
const API_KEY = `sk-browser-${randomBytes(16).toString("hex")}`;

async function json<T>(response: Response, expected: number): Promise<T> {
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${response.url}: expected ${expected}, got ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** An OpenAI-compatible stand-in that answers with its own phrase and records the bearer key it was called with. */
function startProvider(): Promise<{ server: Server; url: string; keys: string[] }> {
  const keys: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      keys.push(String(request.headers.authorization ?? "").replace(/^Bearer /, ""));
      response.writeHead(200, { "content-type": "application/json" });
      if ((request.url ?? "").endsWith("/models")) return void response.end(JSON.stringify({ object: "list", data: [{ id: "browser-model", object: "model", created: 0, owned_by: "test" }] }));
      response.end(JSON.stringify({ id: "c", object: "chat.completion", created: 0, model: "browser-model", choices: [{ index: 0, message: { role: "assistant", content: "set from the dashboard" }, finish_reason: "stop" }] }));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, keys })));
}

/** Every file under `dir` (the server's data directory: database, WAL, keys). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe.skipIf(skipReason !== undefined)("the model set from the dashboard (Chromium, real gateway)", () => {
  let server: RunningApi;
  let host: LocalHost;
  let hostDir: string;
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let browser: Browser;
  let page: Page;
  let seen: PageProblems;
  let agent: SupportAgent;
  let approve: string;
  let instanceId = "";
  let aliceToken = "";
  const requests: Request[] = [];
  const accessibility: Record<string, unknown[]> = {};

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${aliceToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

  /** One chat through the proxy with the chat scopes (as the dashboard's chat does over the gateway protocol). */
  async function chat(): Promise<string> {
    const { url } = await json<{ url: string }>(await call("POST", `/v1/instances/${instanceId}/gateway/tickets`), 201);
    const { default: WebSocket } = await import("ws");
    const socket = new WebSocket(url.replace(/^ws:\/\/[^/]+/, server.url.replace(/^http/, "ws")));
    const frames: { type?: string; id?: string; event?: string; ok?: boolean; payload?: { state?: string }; error?: { code?: string } }[] = [];
    const next = (match: (frame: (typeof frames)[number]) => boolean) =>
      new Promise<(typeof frames)[number]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no such frame within 120 s")), 120_000);
        const check = () => {
          const found = frames.find(match);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else setTimeout(check, 50);
        };
        check();
      });
    socket.on("message", (data) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
    await next((frame) => frame.event === "connect.challenge");
    socket.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: { minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "test", platform: "linux", mode: "cli" }, role: "operator", scopes: ["operator.read", "operator.write"], caps: [] } }));
    const hello = await next((frame) => frame.id === "c");
    if (!hello.ok) {
      socket.close();
      return `refused: ${hello.error?.code}`;
    }
    socket.send(JSON.stringify({ type: "req", id: "s", method: "chat.send", params: { sessionKey: `browser-${randomUUID()}`, message: "hello", idempotencyKey: randomUUID() } }));
    const final = await next((frame) => frame.event === "chat" && frame.payload?.state === "final");
    socket.close();
    return JSON.stringify(final.payload);
  }

  beforeAll(async () => {
    ensureDashboardBuilt();
    hostDir = mkdtempSync(join(tmpdir(), "clawstack-web-setup-host-"));
    host = await startLocalHost({ dir: hostDir, forwardedFor: "203.0.113.11" });
    provider = await startProvider();
    server = await startServer();
    createAdmin(server, ADMIN.email, ADMIN.password);
    const admin = await json<{ accessToken: string }>(await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ADMIN) }), 200);
    const invite = await json<{ token: string }>(
      await fetch(`${server.url}/v1/admin/invites`, { method: "POST", headers: { authorization: `Bearer ${admin.accessToken}`, "content-type": "application/json" }, body: JSON.stringify({ email: ALICE.email }) }),
      201,
    );
    await json(await fetch(`${server.url}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...ALICE, invite: invite.token }) }), 201);
    aliceToken = (await json<{ accessToken: string }>(await fetch(`${server.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ALICE) }), 200)).accessToken;

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    seen = await watch(page);
    page.on("request", (request) => requests.push(request));
    await page.goto(`${server.url}/#/sign-in`);
    await page.getByLabel("Email").fill(ALICE.email);
    await page.getByLabel("Password", { exact: true }).fill(ALICE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Instances" }).waitFor();
    // A device key made in this browser (the grant is signed with it).
    await page.getByRole("link", { name: "Device keys" }).click();
    await page.getByLabel("Name of this device").fill("Alice's laptop");
    await page.getByRole("button", { name: "Make a device key" }).click();
    await page.getByRole("row").filter({ hasText: "Alice's laptop" }).getByText("this browser").waitFor();

    // Her instance: the local host, registered with the support agent's credential, pinning her key.
    const me = await json<{ id: string }>(await call("GET", "/v1/me"), 200);
    const hostToken = `cshost_${randomBytes(32).toString("base64url")}`;
    const handle = openDatabase(loadConfig(serverEnv(server)).database);
    try {
      const created = await createLocalInstance(handle.db, { userId: me.id, gatewayUrl: host.gatewayUrl, name: "openclaw-home" });
      instanceId = created.instanceId;
      await pinDeviceKeys(handle.db, { id: instanceId, user_id: me.id });
      await registerHost(server.url, { instanceId, registrationToken: created.registrationToken, gatewayToken: host.gatewayToken, tlsCertSha256: host.tlsCertSha256 });
      await storeHostToken(handle.db, instanceId, hostToken);
    } finally {
      await handle.close();
    }

    // The host side: the server's proxy device pinned, the approval script in the gateway's environment, the agent.
    const device = loadProxyDevice({ dataDir: server.dataDir });
    approve = writeApproveWrapper(hostDir, host, device);
    const conf = join(hostDir, "proxy-device.conf");
    const agentDir = join(hostDir, "agent");
    mkdirSync(agentDir, { mode: 0o700 });
    writeFileSync(join(agentDir, "host-token"), `${hostToken}\n`, { mode: 0o600 });
    const pinned = await json<{ items: { key: unknown }[] }>(await call("GET", `/v1/instances/${instanceId}/pinned-keys`), 200);
    writeFileSync(join(agentDir, "user-keys.json"), JSON.stringify({ instanceId, keys: pinned.items.map((item) => item.key) }));
    const config = resolveAgentConfig({
      apiUrl: `${server.url}/v1`,
      pollSeconds: 1,
      paths: { hostToken: join(agentDir, "host-token"), proxyDeviceConf: conf, stateDir: agentDir, commandLog: join(agentDir, "commands.log") },
      commands: { proxyAdminOpen: [approve, "admin-open"], proxyAdminClose: [approve, "admin-close"], proxyDeviceTimer: [approve] },
    });
    agent = new SupportAgent(config, await readPinnedKeys(join(agentDir, "user-keys.json")), { now: Date.now, fetch, run: runCommand, log: () => undefined });
    // First boot's pairing of the proxy's device for the chat scopes.
    expect(await chat()).toBe("refused: NOT_PAIRED");
    execFileSync(approve, [], { encoding: "utf8", timeout: 180_000 });
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    provider?.server.close();
    await host?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  it("sets the model from the instance page inside a signed setup window, then the window is gone", async () => {
    await page.goto(`${server.url}/#/instances/${instanceId}`);
    const panel = page.getByRole("form", { name: "Set the model provider" });
    await panel.waitFor();
    // The page's own checks, on their fields, before anything is signed.
    await panel.getByLabel("Provider name").fill("Bad Name");
    await panel.getByRole("button", { name: "Set the model" }).click();
    await expect.poll(() => panel.getByLabel("Provider name").getAttribute("aria-invalid")).toBe("true");
    accessibility.formError = await axeCheck(page);

    await panel.getByLabel("Provider name").fill("browser-llm");
    await panel.getByLabel("Base URL").fill(provider.url);
    await panel.getByLabel("Model").fill("browser-model");
    await panel.getByLabel("API key").fill(API_KEY);
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await agent.pollOnce();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    try {
      await panel.getByRole("button", { name: "Set the model" }).click();
      await panel.getByText("The gateway now answers with browser-llm/browser-model.", { exact: false }).waitFor({ timeout: 180_000 });
    } finally {
      polling = false;
      await poller;
    }
    expect(await panel.getByLabel("API key").inputValue()).toBe("");
    accessibility.done = await axeCheck(page);
    await screenshot(page, "zero-07-model-provider");

    // The window was ended by the page; the agent's next poll takes admin back.
    const grants = await json<{ items: { status: string }[] }>(await call("GET", `/v1/instances/${instanceId}/gateway-admin-grants`), 200);
    expect(grants.items.map((grant) => grant.status)).toEqual(["revoked"]);
    await agent.pollOnce();
    expect(agent.gatewayAdminOpen()).toBe(false);

    // The chat scopes come back with the host's approval, and the gateway answers with the provider just set, with her key.
    expect(await chat()).toBe("refused: NOT_PAIRED");
    execFileSync(approve, [], { encoding: "utf8", timeout: 180_000 });
    expect(await chat()).toContain("set from the dashboard");
    expect(provider.keys).toContain(API_KEY);

    // The key went to the gateway only: in no request the page sent to the API, in no file or output of the server.
    const toApi = requests.filter((request) => request.url().startsWith(server.url) && request.url().includes("/v1/"));
    expect(toApi.length).toBeGreaterThan(3);
    for (const request of toApi) expect(request.postData() ?? "").not.toContain(API_KEY);
    expect(server.output.join("")).not.toContain(API_KEY);
    for (const file of filesUnder(server.dataDir)) expect(readFileSync(file).includes(API_KEY), file).toBe(false);
  }, 400_000);

  it("had no CSP violation, script error, console error or 5xx, and no serious accessibility finding", () => {
    expect(seen.problems).toEqual([]);
    expect(Object.fromEntries(Object.entries(accessibility).filter(([, found]) => found.length > 0))).toEqual({});
  });
});
