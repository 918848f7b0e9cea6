/**
 * The proxy's mechanics against a stand-in gateway (a TLS WebSocket server
 * with a self-signed certificate, no OpenClaw needed): the pin is checked
 * before any byte is written, the handshake rewrite is pure, a stalled reader
 * pauses the gateway instead of filling the proxy's memory, and idle
 * connections are closed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { makeCertificate } from "../../../api/demo/local-host";
import { createLocalInstance, registerHost } from "../../../api/demo/local-instance";
import { injectGatewayToken, stripLaterDeviceTokens } from "../../../api/proxy/gateway-bridge";
import { loadProxyDevice, useProxyDevice } from "../../../api/proxy/device-identity";
import { connectPinned } from "../../../api/proxy/pinned-tls";
import { bearer, remember, signUp, startApi, type TestApi } from "../support";
import { onApi, openBrowserClient, ticketFor } from "./support";

const TOKEN = "f".repeat(48);

describe("the handshake rewrite", () => {
  const connect = (params: object) => Buffer.from(JSON.stringify({ type: "req", id: "1", method: "connect", params: { role: "operator", ...params } }));

  it("puts the gateway token into params.auth and keeps everything else", () => {
    const checked = injectGatewayToken(connect({ scopes: ["operator.read"] }), TOKEN);
    expect(checked.ok).toBe(true);
    expect(JSON.parse((checked as { frame: string }).frame)).toEqual({ type: "req", id: "1", method: "connect", params: { role: "operator", scopes: ["operator.read"], auth: { token: TOKEN } } });
    expect(injectGatewayToken(connect({ auth: {} }), TOKEN).ok).toBe(true);
  });

  it.each([
    ["a token", { auth: { token: "x" } }, "clientCredentials"],
    ["a password", { auth: { password: "x" } }, "clientCredentials"],
    ["a device token", { auth: { deviceToken: "x" } }, "clientCredentials"],
    ["a bootstrap token", { auth: { bootstrapToken: "x" } }, "clientCredentials"],
    ["auth that is not an object", { auth: "x" }, "clientCredentials"],
    ["a device identity", { device: { id: "d" } }, "badHandshake"],
  ])("refuses a connect carrying %s", (_what, params, reason) => {
    expect(injectGatewayToken(connect(params), TOKEN)).toEqual({ ok: false, reason });
  });

  it.each([
    ["text that is not JSON", Buffer.from("hello")],
    ["another method", Buffer.from(JSON.stringify({ type: "req", id: "1", method: "chat.send", params: {} }))],
    ["an event", Buffer.from(JSON.stringify({ type: "event", event: "connect" }))],
    ["a connect without params", Buffer.from(JSON.stringify({ type: "req", id: "1", method: "connect" }))],
  ])("refuses %s as the first frame", (_what, data) => {
    expect(injectGatewayToken(data, TOKEN)).toEqual({ ok: false, reason: "badHandshake" });
  });
});

describe("device tokens in later frames", () => {
  it("are removed wherever they sit; a frame without one is left alone (no parse)", () => {
    expect(stripLaterDeviceTokens(Buffer.from(JSON.stringify({ type: "res", id: "9", payload: { text: "no token here" } })))).toBeUndefined();
    expect(JSON.parse(stripLaterDeviceTokens(Buffer.from(JSON.stringify({ type: "res", id: "9", payload: { deviceToken: "x", a: { deviceTokens: [1] }, b: 2 } })))!)).toEqual({ type: "res", id: "9", payload: { a: {}, b: 2 } });
  });
});

describe("against a stand-in gateway", () => {
  let dir: string;
  let server: Server;
  let sockets: WebSocketServer;
  let port: number;
  let sha256: string;
  let bytesReceived = 0;
  let onConnection: (socket: WebSocket) => void = () => undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clawstack-standin-gateway-"));
    const certificate = makeCertificate(dir);
    sha256 = certificate.sha256;
    server = createServer({ key: certificate.key, cert: certificate.cert });
    server.on("connection", (socket) => socket.on("data", (chunk: Buffer) => (bytesReceived += chunk.length)));
    server.on("secureConnection", (socket) => socket.on("data", (chunk: Buffer) => (bytesReceived += chunk.length)));
    sockets = new WebSocketServer({ server });
    sockets.on("connection", (socket) => {
      socket.send(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "n", ts: Date.now() } }));
      onConnection(socket);
    });
    port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  });

  afterAll(async () => {
    sockets.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("a pinned connection to the right certificate succeeds; to any other, fails before a byte of application data is written", async () => {
    const good = await connectPinned({ host: "127.0.0.1", port, sha256 }, 5_000);
    good.destroy();
    const before = bytesReceived;
    const wrong = "0".repeat(64);
    await expect(connectPinned({ host: "127.0.0.1", port, sha256: wrong }, 5_000)).rejects.toMatchObject({ reason: "certificate_mismatch", presentedSha256: sha256 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The TLS server decrypts nothing from the refused client: no HTTP request reached it.
    expect(bytesReceived).toBe(before);
    await expect(connectPinned({ host: "127.0.0.1", port: 9, sha256 }, 5_000)).rejects.toMatchObject({ reason: "unreachable" });
  });

  describe("through the API", () => {
    let api: TestApi;
    let apiUrl: string;
    const env = { CLAWSTACK_PROXY_HIGH_WATER_BYTES: "262144", CLAWSTACK_PROXY_IDLE_MS: "1500", CLAWSTACK_PROXY_PING_MS: "60000", CLAWSTACK_PROXY_REVOCATION_CHECK_MS: "60000" };

    beforeAll(async () => {
      api = await startApi({ engine: "sqlite", env });
      apiUrl = await api.app.listen({ host: "127.0.0.1", port: 0 });
    });

    afterAll(async () => {
      await api.close();
    });

    async function proxiedClient(options: { apiKey?: boolean } = {}) {
      const user = await signUp(api);
      const { instanceId, registrationToken } = await createLocalInstance(api.app.db, { userId: user.userId, gatewayUrl: `https://127.0.0.1:${port}` });
      remember(api, registrationToken);
      await registerHost(apiUrl, { instanceId, registrationToken, gatewayToken: TOKEN, tlsCertSha256: sha256 });
      let credential = user.accessToken;
      let apiKeyId: string | undefined;
      if (options.apiKey) {
        const created = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(user.accessToken), payload: { name: "chat agent", scopes: ["instances:write"] } });
        const key = created.json() as { id: string; key: string };
        remember(api, key.key);
        credential = key.key;
        apiKeyId = key.id;
      }
      const { body } = await ticketFor(api, credential, instanceId);
      const client = await openBrowserClient(onApi(String(body.url), apiUrl));
      await client.waitFor((frame) => frame.event === "connect.challenge", 5_000);
      client.send({ type: "req", id: "1", method: "connect", params: { role: "operator" } });
      return Object.assign(client, { user, apiKeyId });
    }

    it("a client that stops reading pauses the gateway: the proxy holds about the high-water mark, the gateway's own buffer grows", async () => {
      let gateway: WebSocket | undefined;
      const flooding = new Promise<void>((resolve) => {
        onConnection = (socket) => {
          gateway = socket;
          socket.once("message", () => resolve());
        };
      });
      const client = await proxiedClient();
      await flooding;
      // The browser stops reading: its socket is paused, so its TCP window fills.
      client.socket.pause();
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      let mostQueued = 0;
      while (sent < 32 * 1024 * 1024) {
        for (let i = 0; i < 16; i++) gateway!.send(chunk, { binary: true });
        sent += 16 * chunk.length;
        await new Promise((resolve) => setTimeout(resolve, 10));
        for (const bridge of api.app.proxy.connections.list()) mostQueued = Math.max(mostQueued, bridge.queuedBytes().downstream);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const bridge of api.app.proxy.connections.list()) mostQueued = Math.max(mostQueued, bridge.queuedBytes().downstream);
      // The proxy stopped reading from the gateway once 256 KiB were queued towards the stalled client:
      // what it holds stays near that mark (a read or two more), while the rest waits in the gateway's
      // own send buffer. Without the pause the proxy would queue nearly all 32 MiB for the client.
      expect(mostQueued).toBeLessThan(2 * 1024 * 1024);
      expect(gateway!.bufferedAmount).toBeGreaterThan(16 * 1024 * 1024);
      client.socket.resume();
      client.socket.terminate();
      gateway!.terminate();
    }, 30_000);

    it("the gateway gets the token in connect; a gateway frame echoing the token is not passed on (4500)", async () => {
      const connectFrames: string[] = [];
      onConnection = (socket) =>
        socket.once("message", (data) => {
          connectFrames.push(data.toString());
          socket.send(JSON.stringify({ type: "res", id: "1", ok: true, payload: { echoed: data.toString() } }));
        });
      const client = await proxiedClient();
      const closed = await client.closed;
      expect(JSON.parse(connectFrames[0]!)).toMatchObject({ method: "connect", params: { role: "operator", auth: { token: TOKEN } } });
      expect(closed).toEqual({ code: 4500, reason: "the gateway sent a credential; connection closed" });
      expect(client.received.join("")).not.toContain(TOKEN);
    }, 15_000);

    it("with the proxy's device: a device token in any later gateway answer (device.scopes.waitUpgrade) never reaches the client", async () => {
      const deviceDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-device-"));
      useProxyDevice(loadProxyDevice({ dataDir: deviceDir }));
      try {
        onConnection = (socket) =>
          socket.on("message", (data) => {
            const frame = JSON.parse(data.toString()) as { id: string; method: string };
            if (frame.method === "connect") socket.send(JSON.stringify({ type: "res", id: frame.id, ok: true, payload: { type: "hello-ok", auth: { role: "operator", scopes: [], deviceToken: "dt-hello-secret" } } }));
            else socket.send(JSON.stringify({ type: "res", id: frame.id, ok: true, payload: { status: "approved", requestId: "r1", deviceToken: "dt-upgrade-secret", scopes: ["operator.admin"], nested: [{ deviceTokens: ["dt-list-secret"] }] } }));
          });
        const client = await proxiedClient();
        await client.waitFor((frame) => frame.type === "res" && frame.id === "1", 5_000);
        client.send({ type: "req", id: "2", method: "device.scopes.waitUpgrade", params: { requestId: "r1" } });
        const answer = await client.waitFor((frame) => frame.type === "res" && frame.id === "2", 5_000);
        expect(answer.payload).toEqual({ status: "approved", requestId: "r1", scopes: ["operator.admin"], nested: [{}] });
        expect(client.received.join("")).not.toMatch(/dt-(hello|upgrade|list)-secret/);
        client.socket.terminate();
      } finally {
        useProxyDevice(undefined);
        rmSync(deviceDir, { recursive: true, force: true });
      }
    }, 15_000);

    it("an agent's ticket: revoking its API key closes the socket (4403)", async () => {
      onConnection = (socket) => socket.on("message", () => socket.send(JSON.stringify({ type: "res", id: "1", ok: true, payload: {} })));
      const client = await proxiedClient({ apiKey: true });
      await client.waitFor((frame) => frame.type === "res", 5_000);
      const revoked = await api.inject({ method: "DELETE", url: `/v1/api-keys/${client.apiKeyId}`, headers: bearer(client.user.accessToken) });
      expect(revoked.statusCode).toBeLessThan(300);
      expect(await client.closed).toEqual({ code: 4403, reason: "session revoked" });
    }, 15_000);

    it("a closing API process closes its sockets with 1001 (reconnect elsewhere)", async () => {
      const other = await startApi({ engine: "sqlite" });
      const otherUrl = await other.app.listen({ host: "127.0.0.1", port: 0 });
      try {
        onConnection = () => undefined;
        const user = await signUp(other);
        const { instanceId, registrationToken } = await createLocalInstance(other.app.db, { userId: user.userId, gatewayUrl: `https://127.0.0.1:${port}` });
        remember(other, registrationToken);
        await registerHost(otherUrl, { instanceId, registrationToken, gatewayToken: TOKEN, tlsCertSha256: sha256 });
        const { body } = await ticketFor(other, user.accessToken, instanceId);
        const client = await openBrowserClient(onApi(String(body.url), otherUrl));
        await client.waitFor((frame) => frame.event === "connect.challenge", 5_000);
        await other.app.close();
        expect(await client.closed).toEqual({ code: 1001, reason: "proxy restarting, reconnect" });
      } finally {
        await other.close();
      }
    }, 20_000);

    it("scale-out: a ticket from one API process opens on another; a process that stops drops only its own sockets", async () => {
      onConnection = (socket) =>
        socket.on("message", (data) => {
          const frame = JSON.parse(data.toString()) as { id: string; method: string };
          socket.send(JSON.stringify({ type: "res", id: frame.id, ok: true, method: frame.method }));
        });
      const second = await startApi({ engine: "sqlite", share: api });
      const secondUrl = await second.app.listen({ host: "127.0.0.1", port: 0 });
      try {
        const onFirst = await proxiedClient();
        const user = await signUp(api);
        const { instanceId, registrationToken } = await createLocalInstance(api.app.db, { userId: user.userId, gatewayUrl: `https://127.0.0.1:${port}` });
        remember(api, registrationToken);
        await registerHost(apiUrl, { instanceId, registrationToken, gatewayToken: TOKEN, tlsCertSha256: sha256 });
        const { body } = await ticketFor(api, user.accessToken, instanceId);
        const onSecond = await openBrowserClient(onApi(String(body.url), secondUrl));
        await onSecond.waitFor((frame) => frame.event === "connect.challenge", 5_000);
        await second.app.close();
        expect((await onSecond.closed).code).toBe(1001);
        onFirst.socket.send(JSON.stringify({ type: "req", id: "after", method: "ping", params: {} }));
        expect((await onFirst.waitFor((frame) => frame.id === "after", 5_000)).method).toBe("ping");
        onFirst.socket.close(1000);
        await onFirst.closed;
      } finally {
        await second.app.close();
      }
    }, 20_000);

    it("a connection with no message either way for the idle timeout is closed 4408", async () => {
      onConnection = () => undefined;
      const client = await proxiedClient();
      const closed = await client.closed;
      expect(closed).toEqual({ code: 4408, reason: "idle timeout" });
    }, 15_000);
  });
});
