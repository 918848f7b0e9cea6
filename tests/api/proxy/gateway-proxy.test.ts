/**
 * The chat path against the real OpenClaw gateway (openclaw from the npm
 * registry on Node 24 from the npm registry, behind TLS with a pinned
 * self-signed certificate, answered by an echoing model stand-in): a
 * browser-style client chats through the WebSocket pass-through without ever
 * holding the gateway token, the SSE pass-through streams, a canary sent both
 * ways is found nowhere (database file and WAL or every PostgreSQL table, every
 * log line, job events included), and the refusals: other users, replayed
 * tickets, client credentials, wrong certificates, revoked sessions, deleted
 * instances, caps.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalInstance, registerHost } from "../../../api/demo/local-instance";
import { GatewayHealthChecker } from "../../../api/health/gateway-health";
import { type LocalHost, startLocalHost } from "../../../api/demo/local-host";
import { bearer, engines, json, remember, scanForSecrets, signUp, startApi, type Session, type TestApi } from "../support";
import { connectThroughProxy, gatewayUnavailable, onApi, openBrowserClient, ticketFor } from "./support";

const unavailable = gatewayUnavailable();

const PROXY_ENV = {
  CLAWSTACK_PROXY_REVOCATION_CHECK_MS: "200",
  CLAWSTACK_PROXY_MAX_PER_USER: "3",
  CLAWSTACK_PROXY_MAX_MESSAGE_BYTES: "1048576",
  // The health test drives its own checker; the app's would record (and audit) transitions of its own mid-test.
  CLAWSTACK_HEALTH_INTERVAL_MS: "0",
};

describe.skipIf(unavailable !== undefined)("the gateway pass-through, against the real OpenClaw gateway", () => {
  let host: LocalHost;
  let hostDir: string;

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-host-"));
    host = await startLocalHost({ dir: hostDir, exposeChatCompletions: true });
  }, 300_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  describe.each(engines("the gateway pass-through"))("on $engine", ({ engine, skip }) => {
    let api: TestApi;
    let apiUrl: string;
    let owner: Session;
    let instanceId: string;

    /** A registered instance of `session` for the local host, through the real registration endpoint. */
    async function registeredInstance(session: Session, tlsCertSha256 = host.tlsCertSha256, gatewayUrl = host.gatewayUrl): Promise<string> {
      const { instanceId: id, registrationToken } = await createLocalInstance(api.app.db, { userId: session.userId, gatewayUrl });
      remember(api, registrationToken, host.gatewayToken);
      await registerHost(apiUrl, { instanceId: id, registrationToken, gatewayToken: host.gatewayToken, tlsCertSha256 });
      return id;
    }

    async function ticketUrl(session: Session, id: string): Promise<string> {
      const { status, body } = await ticketFor(api, session.accessToken, id);
      expect(status, JSON.stringify(body)).toBe(201);
      return onApi(String(body.url), apiUrl);
    }

    beforeAll(async () => {
      if (skip) return;
      api = await startApi({ engine, env: PROXY_ENV });
      apiUrl = await api.app.listen({ host: "127.0.0.1", port: 0 });
      owner = await signUp(api, "owner");
      instanceId = await registeredInstance(owner);
    }, 60_000);

    afterAll(async () => {
      if (skip) return;
      await api.close();
    });

    it.skipIf(skip)("a browser-style client completes the handshake without the token, chats, and gets the streamed answer; a canary sent both ways is found nowhere", async () => {
      const canary = `canary-${randomBytes(12).toString("hex")}`;
      remember(api, canary);
      const ticket = await ticketFor(api, owner.accessToken, instanceId);
      expect(ticket.status).toBe(201);
      expect(JSON.stringify(ticket.body)).not.toContain(host.gatewayToken);
      expect(String(ticket.body.url)).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1/v1/instances/${instanceId}/gateway\\?ticket=cstk_`));

      const { client, hello } = await connectThroughProxy(onApi(String(ticket.body.url), apiUrl));
      expect(hello.payload?.type).toBe("hello-ok");
      expect((hello.payload?.auth as { scopes?: string[] }).scopes).toEqual(expect.arrayContaining(["operator.write"]));
      const started = await client.request("chat.send", { sessionKey: `proxy-${randomUUID()}`, message: `say ${canary}`, idempotencyKey: randomUUID() });
      expect(started.ok, JSON.stringify(started.error)).toBe(true);
      const final = await client.waitFor((frame) => frame.event === "chat" && (frame.payload?.state === "final" || frame.payload?.state === "error"), 180_000);
      expect(final.payload?.state).toBe("final");
      const text = (final.payload?.message?.content ?? []).map((part) => part.text ?? "").join("");
      expect(text).toContain("echo:");
      expect(text).toContain(canary);
      // The answer streamed: more than the final event came for this run.
      expect(client.frames.filter((frame) => frame.event === "chat" || frame.event === "agent").length).toBeGreaterThan(1);
      expect(client.received.join("\n")).not.toContain(host.gatewayToken);
      client.socket.close(1000);
      expect((await client.closed).code).toBe(1000);

      // The SSE pass-through with the same canary.
      const response = await fetch(`${apiUrl}/v1/instances/${instanceId}/chat/completions`, {
        method: "POST",
        headers: { ...bearer(owner.accessToken), "content-type": "application/json" },
        body: JSON.stringify({ model: "openclaw", stream: true, messages: [{ role: "user", content: `repeat ${canary}` }] }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      const streamed = await response.text();
      const chunks = streamed.split("\n\n").filter((event) => event.startsWith("data: {"));
      expect(chunks.length).toBeGreaterThan(1);
      expect(streamed).toContain("data: [DONE]");
      const answer = chunks.map((event) => (JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content ?? "").join("");
      expect(answer).toContain(canary);
      expect(streamed).not.toContain(host.gatewayToken);

      // Metadata only: per connection an audit entry with duration and bytes.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const entries = await api.app.db.selectFrom("audit_log").selectAll().where("target", "=", instanceId).execute();
      const connection = entries.find((entry) => entry.action === "instance.gateway.connection");
      expect(connection).toMatchObject({ actor_user_id: owner.userId, status_code: 1000, result: "ok" });
      expect(Number(connection!.bytes_in)).toBeGreaterThan(0);
      expect(Number(connection!.bytes_out)).toBeGreaterThan(0);
      expect(entries.some((entry) => entry.action === "instance.gateway.stream" && Number(entry.bytes_out) > 0)).toBe(true);
      expect(api.logs.some((line) => line.includes('"event":"ws_message"') && line.includes('"direction":"downstream"'))).toBe(true);

      expect(await scanForSecrets(api)).toEqual([]);
    }, 240_000);

    it.skipIf(skip)("refuses a client-supplied token, a device identity and a first frame that is not connect, with the code that says why", async () => {
      for (const [params, code] of [
        [{ auth: { token: "a-token-the-client-made-up-0123456789" } }, 4401],
        [{ auth: { password: "a-password-the-client-made-up" } }, 4401],
        [{ device: { id: "d", publicKey: "k", signature: "s", signedAt: 1, nonce: "n" } }, 4400],
      ] as const) {
        const client = await openBrowserClient(await ticketUrl(owner, instanceId));
        await client.waitFor((frame) => frame.event === "connect.challenge", 30_000);
        client.send({ type: "req", id: "1", method: "connect", params: { minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "t", platform: "linux", mode: "cli" }, role: "operator", scopes: [], caps: [], ...params } });
        expect((await client.closed).code).toBe(code);
      }
      const client = await openBrowserClient(await ticketUrl(owner, instanceId));
      client.send({ type: "req", id: "1", method: "chat.send", params: {} });
      expect((await client.closed).code).toBe(4400);
    }, 60_000);

    it.skipIf(skip)("a ticket works once, for its instance only, and never for another user's instance", async () => {
      const url = await ticketUrl(owner, instanceId);
      const first = await connectThroughProxy(url);
      await expect(openBrowserClient(url)).rejects.toThrow("upgrade refused: 401");
      first.client.socket.close(1000);
      await first.client.closed;

      const stranger = await signUp(api, "stranger");
      expect((await ticketFor(api, stranger.accessToken, instanceId)).status).toBe(404);
      const sse = await fetch(`${apiUrl}/v1/instances/${instanceId}/chat/completions`, {
        method: "POST",
        headers: { ...bearer(stranger.accessToken), "content-type": "application/json" },
        body: JSON.stringify({ model: "openclaw", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(sse.status).toBe(404);
      // A ticket of the owner's other instance does not open this one.
      const other = await registeredInstance(owner);
      const otherUrl = await ticketUrl(owner, other);
      await expect(openBrowserClient(otherUrl.replace(other, instanceId))).rejects.toThrow("upgrade refused: 401");
      const unauthenticated = await api.inject({ method: "POST", url: `/v1/instances/${instanceId}/gateway/tickets` });
      expect(unauthenticated.statusCode).toBe(401);
    }, 60_000);

    it.skipIf(skip)("a gateway whose certificate is not the registered one is refused (4503) before any request is sent", async () => {
      const wrongPin = await registeredInstance(owner, randomBytes(32).toString("hex"));
      const client = await openBrowserClient(await ticketUrl(owner, wrongPin));
      const closed = await client.closed;
      expect(closed).toEqual({ code: 4503, reason: "gateway certificate does not match the registered one" });
      expect(client.frames).toEqual([]);
      const sse = await api.inject({
        method: "POST",
        url: `/v1/instances/${wrongPin}/chat/completions`,
        headers: bearer(owner.accessToken),
        payload: { model: "openclaw", messages: [{ role: "user", content: "hi" }] },
      });
      expect(sse.statusCode).toBe(502);
      expect(json(sse).message).toContain("certificate");
      // An address where nothing listens: 4502.
      const nowhere = await registeredInstance(owner, host.tlsCertSha256, "https://127.0.0.1:9");
      const lost = await openBrowserClient(await ticketUrl(owner, nowhere));
      expect((await lost.closed).code).toBe(4502);
    }, 60_000);

    it.skipIf(skip)("the SSE path says so when the host keeps /v1/chat/completions to itself (the default host)", async () => {
      host.setExposeChatCompletions(false);
      try {
        const response = await api.inject({
          method: "POST",
          url: `/v1/instances/${instanceId}/chat/completions`,
          headers: bearer(owner.accessToken),
          payload: { model: "openclaw", messages: [{ role: "user", content: "hi" }] },
        });
        expect(response.statusCode).toBe(502);
        expect(json(response).message).toContain("does not expose `/v1/chat/completions`");
      } finally {
        host.setExposeChatCompletions(true);
      }
    });

    it.skipIf(skip)("caps connections per user (4429) and messages by size (1009)", async () => {
      const user = await signUp(api, "capped");
      const id = await registeredInstance(user);
      const open = [];
      for (let i = 0; i < 3; i++) open.push((await connectThroughProxy(await ticketUrl(user, id))).client);
      const fourth = await openBrowserClient(await ticketUrl(user, id));
      expect(await fourth.closed).toEqual({ code: 4429, reason: "too many open gateway connections" });
      open[0]!.socket.send("x".repeat(1_100_000));
      expect((await open[0]!.closed).code).toBe(1009);
      for (const client of open.slice(1)) client.socket.close(1000);
      await Promise.all(open.map((client) => client.closed));
    }, 90_000);

    it.skipIf(skip)("signing out everywhere closes the open socket (4403); deleting the instance closes its sockets (4404)", async () => {
      const user = await signUp(api, "revoked");
      const id = await registeredInstance(user);
      const { client } = await connectThroughProxy(await ticketUrl(user, id));
      const signOut = await api.inject({ method: "POST", url: "/v1/me/sign-out-everywhere", headers: bearer(user.accessToken), payload: {} });
      expect(signOut.statusCode).toBe(200);
      setTimeout(() => console.log(api.logs.filter((l) => /revocation|ws_|sign-out/.test(l)).join("")), 3000);
      expect(await client.closed).toEqual({ code: 4403, reason: "session revoked" });

      const second = await connectThroughProxy(await ticketUrl(owner, instanceId));
      const deleted = await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}`, headers: bearer(owner.accessToken) });
      expect(deleted.statusCode).toBe(202);
      expect(await second.client.closed).toEqual({ code: 4404, reason: "instance deleted" });
      // Without a cloud the destroy job fails at once here; a destroyed instance gets no ticket.
      await api.app.db.updateTable("instances").set({ status: "destroyed" }).where("id", "=", instanceId).execute();
      expect((await ticketFor(api, owner.accessToken, instanceId)).status).toBe(409);
    }, 90_000);

    it.skipIf(skip)("health: up, down when the gateway stops, up when it is back, cert_mismatch when the certificate changes (never re-pinned); transitions audited; one checker per slot", async () => {
      const user = await signUp(api, "health");
      const id = await registeredInstance(user);
      const checker = new GatewayHealthChecker({ db: api.app.db, intervalMs: 60_000, logger: api.app.log, timeoutMs: 5_000 });
      const healthOf = async () => {
        const listed = await api.inject({ method: "GET", url: "/v1/instances", headers: bearer(user.accessToken) });
        return (json(listed).instances as { id: string; health: Record<string, unknown> }[]).find((instance) => instance.id === id)!.health;
      };
      expect((await healthOf()).status).toBe("unknown");
      await checker.runOnce();
      const up = await healthOf();
      expect(up).toMatchObject({ status: "up", certificate: "match" });
      expect(up.latencyMs).toBeGreaterThanOrEqual(0);
      expect(up.lastSeenAt).toBe(up.checkedAt);

      await host.stopGateway();
      try {
        await checker.runOnce();
        expect(await healthOf()).toMatchObject({ status: "down", lastSeenAt: up.lastSeenAt });
      } finally {
        await host.startGateway();
      }
      await checker.runOnce();
      expect((await healthOf()).status).toBe("up");

      const restore = host.swapCertificate();
      try {
        await checker.runOnce();
        expect(await healthOf()).toMatchObject({ status: "cert_mismatch", certificate: "mismatch" });
        const row = await api.app.db.selectFrom("instances").select("tls_fingerprint").where("id", "=", id).executeTakeFirstOrThrow();
        expect(row.tls_fingerprint).toBe(host.tlsCertSha256);
        expect(api.logs.some((line) => line.includes("gateway_certificate_mismatch") && line.includes(id))).toBe(true);
      } finally {
        restore();
      }
      const actions = (await api.app.db.selectFrom("audit_log").select(["action", "actor_kind"]).where("target", "=", id).orderBy("id").execute())
        .filter((entry) => entry.action.startsWith("instance.health."));
      expect(actions.map((entry) => entry.action)).toEqual(["instance.health.up", "instance.health.down", "instance.health.up", "instance.health.cert_mismatch"]);
      expect(actions.every((entry) => entry.actor_kind === "system")).toBe(true);

      const other = new GatewayHealthChecker({ db: api.app.db, intervalMs: 60_000, logger: api.app.log });
      const now = new Date();
      const [first, second] = await Promise.all([checker.runSlot(now, "worker-a"), other.runSlot(now, "worker-b")]);
      expect([first, second].filter((summary) => summary === undefined)).toHaveLength(1);
    }, 300_000);
  });
});
