/**
 * Seed 002 §11: at most 100 concurrent sessions, per-address rate limits that
 * act before any decryption, and an audit log that carries addresses, sizes
 * and outcomes but never message content or key material.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { sealHandshake } from "../../clawchat/src/channel";
import { ClawChatClient } from "../../clawchat/src/client";
import { deriveHandshakeKey, generateEphemeralKey } from "../../clawchat/src/keys";
import { JsonLinesLogger } from "../../clawchat/src/log";
import { encodePresence } from "../../clawchat/src/messages";
import { MessageType } from "../../clawchat/src/wire";
import { openSocket, rawPeer, sendTo, sleep, startServer, waitFor, type RawPeer, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

describe("session limit (§11.2)", () => {
  it("holds 100 sessions, refuses the 101st with a clear error, and admits again once one closes", async () => {
    test = await startServer();
    const peers: RawPeer[] = [];
    // One source address per session (any 127.x.y.z is loopback), so the per-address HELLO limit is not what refuses.
    for (let i = 1; i <= 100; i++) peers.push(await rawPeer(test, undefined, `127.0.1.${i}`));
    expect(test.server.sessionCount).toBe(100);

    const refused = ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    await expect(refused).rejects.toThrow(/the server refused the session: it is full \(too many concurrent sessions\)/);
    expect(test.server.sessionCount).toBe(100);
    expect(test.server.stats.refused).toBe(1);
    expect(test.logger.events.find((e) => e.event === "session_refused")?.fields).toMatchObject({ reason: "server_full", sessions: 100, address: "127.0.0.1" });

    const leaving = peers.shift() as RawPeer;
    await sendTo(leaving.socket, leaving.seal(MessageType.presence, encodePresence("offline")), leaving.dataPort);
    await waitFor(() => test?.server.sessionCount === 99);
    const admitted = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    expect(test.server.sessionCount).toBe(100);
    await admitted.close();
    for (const peer of [leaving, ...peers]) await peer.close();
  }, 30_000);
});

describe("per-address rate limits, before any decryption (§11.2)", () => {
  async function wrongKeyHellos(address: string, count: number, port: number): Promise<void> {
    const socket = await openSocket(address);
    const wrongKey = deriveHandshakeKey(randomBytes(32));
    for (let i = 0; i < count; i++) {
      await sendTo(socket, sealHandshake(wrongKey, randomBytes(16), Date.UTC(2026, 1, 22, 12), MessageType.hello, generateEphemeralKey().publicKey), port);
    }
    await sleep(200);
    socket.close();
  }

  it("HELLOs: 20 per address in a burst, then 5/s; the excess is dropped before the handshake key is tried", async () => {
    test = await startServer();
    await wrongKeyHellos("127.0.2.1", 100, test.target.port);
    await waitFor(() => test?.server.stats.received === 100);
    // Only the 20 inside the burst ever reached the AES-GCM check; the other 80 cost a table lookup.
    expect(test.server.stats.dropped).toEqual({ auth_failed: 20, rate_limited: 80 });
    // The flooded address is refused even with the right key; another address is not affected.
    await expect(rawPeer(test, undefined, "127.0.2.1", 500)).rejects.toThrow(/condition not reached/);
    const other = await rawPeer(test, undefined, "127.0.2.2");
    // 4 s of driven time refill 20 tokens at 5/s: the address is admitted again.
    test.clock.advance(4_000);
    const recovered = await rawPeer(test, undefined, "127.0.2.1");
    expect(test.server.sessionCount).toBe(2);
    await other.close();
    await recovered.close();
  });

  it("every packet: a per-address budget consulted before parsing, so a flood of forged session packets is mostly never decrypted", async () => {
    test = await startServer({ limits: { packets: { perSecond: 10, burst: 10 } } });
    const peer = await rawPeer(test, undefined, "127.0.3.1"); // its HELLO took one token
    const forged = peer.seal(MessageType.ping, randomBytes(8));
    forged[forged.length - 20] = (forged[forged.length - 20] as number) ^ 0xff; // breaks the GCM tag
    for (let i = 0; i < 50; i++) await sendTo(peer.socket, forged, peer.dataPort);
    await waitFor(() => test?.server.stats.received === 51);
    expect(test.server.stats.dropped).toEqual({ tag: 9, rate_limited: 41 });
    // Another address still gets through at once.
    const other = await rawPeer(test, undefined, "127.0.3.2");
    await sendTo(other.socket, other.seal(MessageType.ping, randomBytes(8)), other.dataPort);
    await waitFor(() => other.received.length === 1);
    expect(test.logger.events.some((e) => e.event === "packets_dropped")).toBe(false); // aggregated: logged at the next sweep
    test.clock.advance(10_000);
    expect(test.logger.events.filter((e) => e.event === "packets_dropped").map((e) => e.fields)).toEqual(
      expect.arrayContaining([
        { address: "127.0.3.1", reason: "rate_limited", count: 41 },
        { address: "127.0.3.1", reason: "tag", count: 9 },
      ]),
    );
    await peer.close();
    await other.close();
  });
});

describe("the audit log (§11.3)", () => {
  it("records addresses, sizes and outcomes, and never message content, secrets or keys", async () => {
    const lines: string[] = [];
    const secretText = "my bank PIN is 4242";
    test = await startServer({ logger: new JsonLinesLogger((line) => lines.push(line), "debug", () => Date.UTC(2026, 1, 22)) });
    const peer = await rawPeer(test);
    const client = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    await expect(client.chat(secretText)).resolves.toBe(`echo: ${secretText}`);
    client.requestKeyRotation();
    await waitFor(() => client.epoch === 1);
    await expect(rawPeer(test, randomBytes(32), "127.0.0.1", 500)).rejects.toThrow(/condition not reached/); // a failed authentication attempt
    await client.reportCompromised();
    await test.server.settled();

    const log = lines.join("");
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = records.map((record) => record.event);
    expect(events).toEqual(expect.arrayContaining(["server_started", "session_opened", "session_established", "chat", "key_rotated", "auth_failed", "security_event", "security_file_issued", "session_closed"]));
    expect(records.find((r) => r.event === "auth_failed")).toMatchObject({ address: "127.0.0.1", bytes: 32 });
    expect(records.find((r) => r.event === "chat")).toMatchObject({ bytes_in: Buffer.byteLength(secretText), outcome: "answered" });
    expect(records.find((r) => r.event === "session_closed")).toMatchObject({ bytes_in: expect.any(Number), duration_ms: expect.any(Number) });

    const sharedSecret = Buffer.from(test.security.content.shared_secret, "base64");
    const forbidden = [
      secretText,
      "4242",
      test.security.content.shared_secret,
      sharedSecret.toString("hex"),
      test.security.bootstrapKey.toString("base64"),
      test.security.bootstrapKey.toString("hex"),
      deriveHandshakeKey(sharedSecret).toString("hex"),
      deriveHandshakeKey(sharedSecret).toString("base64"),
      ...Object.values(peer.keys.keys).flatMap((key: Buffer) => [key.toString("hex"), key.toString("base64")]),
    ];
    for (const value of forbidden) expect(log).not.toContain(value);
    await peer.close();
  });

  it("drops any field whose name suggests a secret or content, as a second line of defence", () => {
    const lines: string[] = [];
    const logger = new JsonLinesLogger((line) => lines.push(line), "info", () => 0);
    logger.log("info", "x", { address: "192.0.2.1", shared_secret: "s", token: "t", message_text: "m", content: "c", bytes: 3, apiKey: "k" });
    expect(JSON.parse(lines[0] as string)).toEqual({ time: "1970-01-01T00:00:00.000Z", level: "info", event: "x", address: "192.0.2.1", bytes: 3 });
  });
});
