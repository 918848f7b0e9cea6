/**
 * Server behaviour the operator sees: the handshake only on the home port
 * (WELCOME leaves from it), every drop counted by reason and logged in one
 * aggregated line per address and reason, the status file behind
 * `clawchat status`, and no user text in the log.
 */
import { randomBytes } from "node:crypto";
import { promises as fs, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sealHandshake } from "../../clawchat/src/channel";
import { ClawChatClient } from "../../clawchat/src/client";
import { deriveHandshakeKey, generateEphemeralKey } from "../../clawchat/src/keys";
import { MessageType } from "../../clawchat/src/wire";
import { openSocket, rawPeer, sendTo, sleep, startServer, waitFor, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

function hello(t: TestServer): Buffer {
  const key = deriveHandshakeKey(Buffer.from(t.security.content.shared_secret, "base64"));
  return sealHandshake(key, randomBytes(16), t.clock.now(), MessageType.hello, generateEphemeralKey().publicKey);
}

describe("the handshake port (§2, §5)", () => {
  it("answers a HELLO from the home port and drops one sent to the data port", async () => {
    test = await startServer();
    const socket = await openSocket();
    const replies: Array<{ port: number }> = [];
    socket.on("message", (_datagram, remote) => replies.push({ port: remote.port }));
    await sendTo(socket, hello(test), test.server.dataPort);
    await sleep(200);
    expect(replies).toEqual([]);
    expect(test.server.stats.dropped.type_on_data_port).toBe(1);
    await sendTo(socket, hello(test), test.server.homePort);
    await waitFor(() => replies.length === 1);
    expect(replies[0]?.port).toBe(test.server.homePort);
    socket.close();
  });
});

describe("drops, the aggregated log and the status file", () => {
  it("counts every drop by reason and logs one line per address and reason at the sweep", async () => {
    test = await startServer();
    const socket = await openSocket("127.0.4.1");
    const stale = hello(test);
    stale.writeUInt32BE(0, 17); // a 1970 timestamp: outside the skew limit
    for (let i = 0; i < 3; i++) await sendTo(socket, stale, test.server.homePort);
    await sendTo(socket, Buffer.alloc(70, 2), test.server.homePort); // 70 bytes: not a multiple of 16
    await waitFor(() => test?.server.stats.received === 4);
    expect(test.logger.events.some((e) => e.event === "packets_dropped")).toBe(false);
    test.clock.advance(10_000);
    const lines = test.logger.events.filter((e) => e.event === "packets_dropped").map((e) => e.fields);
    expect(lines).toEqual(
      expect.arrayContaining([
        { address: "127.0.4.1", reason: "skew", count: 3 },
        { address: "127.0.4.1", reason: "padding", count: 1 },
      ]),
    );
    socket.close();
  });

  it("writes the status (counts only, mode 600) that `clawchat status` prints", async () => {
    test = await startServer();
    const client = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    const socket = await openSocket();
    await sendTo(socket, Buffer.alloc(10), test.server.homePort);
    await waitFor(() => test?.server.stats.dropped.short === 1);
    test.clock.advance(10_000);
    const path = join(test.security.dir, "status.json");
    let status: Record<string, unknown> = {};
    await waitFor(() => {
      try {
        status = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
        return status.sessions === 1;
      } catch {
        return false;
      }
    });
    expect(status).toMatchObject({ home_port: test.server.homePort, sessions: 1, gateway_calls: 0, dropped: { short: 1 } });
    expect((await fs.stat(path)).mode & 0o777).toBe(0o600);
    await client.close();
    socket.close();
  });

  it("never logs the compromised signal's reason (user text), only its length", async () => {
    test = await startServer();
    const client = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    await client.reportCompromised("my laptop was stolen at the airport");
    await test.server.settled();
    const logged = JSON.stringify(test.logger.events);
    expect(logged).not.toContain("laptop");
    expect(test.logger.events.find((e) => e.fields.kind === "compromised_signal")?.fields).toMatchObject({ reason_bytes: 35 });
  });
});

describe("a peer's repeated bad compromised signals", () => {
  it("are counted as drops and logged once per session and kind per sweep, not once each", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    const forged = { type: "compromised", version: "2.0", signal: "CLAWCHAT_COMPROMISED_V2", timestamp: 1, connection_id: peer.sessionId.toString("hex"), reason: "x", signature: "00" };
    for (let i = 0; i < 5; i++) await sendTo(peer.socket, peer.seal(MessageType.compromised, Buffer.from(JSON.stringify(forged))), peer.dataPort);
    await waitFor(() => test?.server.stats.dropped.signature === 5);
    expect(test.logger.events.filter((e) => e.event === "security_event")).toHaveLength(1);
    await peer.close();
  });
});
