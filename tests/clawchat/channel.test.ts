import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { gatewayChatHandler } from "../../clawchat/src/gateway";
import { encodePresence } from "../../clawchat/src/messages";
import { MessageType } from "../../clawchat/src/wire";
import { randomBytes } from "node:crypto";
import { rawPeer, sendTo, sleep, startServer, startStandInGateway, waitFor, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

async function connect(t: TestServer): Promise<ClawChatClient> {
  return ClawChatClient.connect(t.security.content, { clock: t.clock, server: t.target });
}

describe("session setup and messages over real UDP on loopback", () => {
  it("sets up a session: HELLO on the home port, WELCOME, then traffic on the data port", async () => {
    test = await startServer();
    const client = await connect(test);
    expect(client.connectionId).toMatch(/^[0-9a-f]{16}$/);
    expect(client.dataPort).toBe(test.server.dataPort);
    expect(client.dataPort).not.toBe(test.server.homePort);
    expect(test.server.sessionEpochs()).toEqual([{ connectionId: client.connectionId, epoch: 0, established: true }]);
    expect(test.logger.events.map((e) => e.event)).toEqual(expect.arrayContaining(["session_opened", "session_established"]));
    await client.close();
    await waitFor(() => test?.server.sessionCount === 0);
  });

  it("relays a chat message to the OpenClaw gateway with the token from openclaw.json and returns the answer", async () => {
    const gateway = await startStandInGateway("gw-token-123");
    try {
      const configDir = await fs.mkdtemp(join("/tmp", "openclaw-config-"));
      const configPath = join(configDir, "openclaw.json");
      // JSON5 as OpenClaw users write it: comments, bare keys, trailing commas.
      await fs.writeFile(configPath, `{\n  // gateway\n  gateway: { auth: { mode: "token", token: "gw-token-123", }, },\n}\n`, { mode: 0o600 });
      test = await startServer({ chatHandler: gatewayChatHandler({ url: gateway.url, configPath }) });
      const client = await connect(test);
      await expect(client.chat("what is the weather?")).resolves.toBe("assistant heard: what is the weather?");
      expect(gateway.requests).toHaveLength(1);
      expect(gateway.requests[0]?.authorization).toBe("Bearer gw-token-123");
      expect(gateway.requests[0]?.body.model).toBe("openclaw:main");
      expect(gateway.requests[0]?.body.user).toBe(`clawchat:${client.connectionId}`);
      const chatLog = test.logger.events.find((e) => e.event === "chat");
      expect(chatLog?.fields).toMatchObject({ bytes_in: 20, outcome: "answered" });
      expect(JSON.stringify(test.logger.events)).not.toContain("weather");
      expect(JSON.stringify(test.logger.events)).not.toContain("gw-token-123");
      await client.close();
      await fs.rm(configDir, { recursive: true });
    } finally {
      await gateway.close();
    }
  });

  it("answers with an error (not a hang) when the gateway refuses, without leaking details", async () => {
    const gateway = await startStandInGateway("right-token");
    try {
      test = await startServer({ chatHandler: gatewayChatHandler({ url: gateway.url, configPath: "/nonexistent/openclaw.json" }) });
      const client = await connect(test);
      await expect(client.chat("hello")).rejects.toThrow(/server error 2: the assistant is unavailable/);
      await client.close();
    } finally {
      await gateway.close();
    }
  });

  it("carries messages longer than one packet in parts, both ways", async () => {
    test = await startServer();
    const client = await connect(test);
    const long = "ä".repeat(5000);
    await expect(client.chat(long)).resolves.toBe(`echo: ${long}`);
    await client.close();
  });

  it("handles file transfer, presence and keepalive", async () => {
    const files: Array<{ name: string; size: number }> = [];
    test = await startServer();
    const refusing = await connect(test);
    await expect(refusing.sendFile("notes.txt", Buffer.from("hello"))).resolves.toEqual({ status: 1, reason: "file transfer is not enabled on this server" });
    await refusing.close();
    await test.stop();
    test = await startServer({ fileHandler: async (file) => (files.push({ name: file.name, size: file.data.length }), true) });
    const client = await connect(test);
    await expect(client.sendFile("photo.jpg", randomBytes(5000))).resolves.toEqual({ status: 0, reason: "" });
    expect(files).toEqual([{ name: "photo.jpg", size: 5000 }]);
    await expect(client.setPresence("away", "lunch")).resolves.toEqual({ status: "online", note: "" });
    await expect(client.ping()).resolves.toBeGreaterThanOrEqual(0);
    await client.close();
  });

  it("refuses a session when the security file was issued for another secret", async () => {
    test = await startServer();
    const wrong = { ...test.security.content, shared_secret: randomBytes(32).toString("base64") };
    const connecting = ClawChatClient.connect(wrong, { clock: test.clock, server: test.target, handshakeAttempts: 1, handshakeRetryMs: 1_000 });
    const outcome = connecting.then(() => "connected", (error: Error) => error.message);
    // Real time for the HELLO to reach the server and for any (wrong) reply to come back, then the driven clock runs out the retry.
    await sleep(300);
    test.clock.advance(1_000);
    await expect(outcome).resolves.toMatch(/no answer/);
  });
});

describe("packets that must be dropped silently (no reply at all)", () => {
  /** Sends each datagram and asserts that nothing comes back within a generous real-time window. */
  async function expectNoReply(peer: Awaited<ReturnType<typeof rawPeer>>, datagrams: Buffer[], port: number): Promise<void> {
    peer.received.length = 0;
    for (const datagram of datagrams) await sendTo(peer.socket, datagram, port);
    await sleep(300);
    expect(peer.received).toHaveLength(0);
  }

  it("answers a valid PING (control), then drops its replay, every one-byte tampering, truncations, a wrong key and garbage", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    const ping = peer.seal(MessageType.ping, randomBytes(8));
    await sendTo(peer.socket, ping, peer.dataPort);
    await waitFor(() => peer.received.length === 1);
    expect(peer.open(peer.received[0] as Buffer)?.type).toBe(MessageType.pong);

    // Replayed: the exact same datagram again.
    await expectNoReply(peer, [ping], peer.dataPort);

    // Tampered: every single byte of a fresh valid packet flipped in turn (header, IV, ciphertext, tag, padding).
    const fresh = peer.seal(MessageType.ping, randomBytes(8));
    const tampered = [...fresh.keys()].map((i) => {
      const copy = Buffer.from(fresh);
      copy[i] = (copy[i] as number) ^ 0x01;
      return copy;
    });
    await expectNoReply(peer, tampered, peer.dataPort);

    // Truncated: every shorter prefix.
    const truncated = Array.from({ length: fresh.length - 1 }, (_, n) => fresh.subarray(0, n + 1));
    await expectNoReply(peer, truncated, peer.dataPort);

    // Wrong key: the same session ID and counter, sealed under another key.
    const wrongKey = await rawPeer(test);
    const foreign = wrongKey.seal(MessageType.ping, randomBytes(8));
    peer.sessionId.copy(foreign, 1);
    await expectNoReply(peer, [foreign], peer.dataPort);

    // Session traffic on the home port, a HELLO under a wrong shared secret, a replayed HELLO, random bytes.
    await expectNoReply(peer, [peer.seal(MessageType.ping, randomBytes(8))], test.server.homePort);
    await expect(rawPeer(test, randomBytes(32), "127.0.0.1", 500)).rejects.toThrow(/condition not reached/);
    await expectNoReply(peer, [randomBytes(80), randomBytes(16), Buffer.alloc(0)], peer.dataPort);
    await expectNoReply(peer, [randomBytes(80)], test.server.homePort);

    // The fresh packet itself was never accepted, so it still works: the drops above cost nothing.
    await sendTo(peer.socket, fresh, peer.dataPort);
    await waitFor(() => peer.received.length === 1);
    expect(test.server.stats.dropped).toMatchObject({ replay: expect.any(Number), tag: expect.any(Number), short: expect.any(Number) });
    await peer.close();
    await wrongKey.close();
  });

  it("drops a replayed HELLO and a packet whose timestamp is outside the skew limit", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    const before = test.server.stats.handshakes;
    const late = peer.seal(MessageType.ping, randomBytes(8));
    test.clock.advance(61_000);
    await expectNoReply(peer, [late], peer.dataPort);
    expect(test.server.stats.dropped.skew).toBe(1);
    expect(test.server.stats.handshakes).toBe(before);
    await peer.close();
  });

  it("closes a session on presence offline", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    await sendTo(peer.socket, peer.seal(MessageType.presence, encodePresence("offline")), peer.dataPort);
    await waitFor(() => test?.server.sessionCount === 0);
    await peer.close();
  });
});
