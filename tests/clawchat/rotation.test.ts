/**
 * Port rotation (seed 002 §7) and in-band key rotation (§5.4, §10.2) over real
 * UDP on loopback, with the driven clock standing in for hours.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { openPacket } from "../../clawchat/src/channel";
import { deriveSessionKeys, generateEphemeralKey, x25519, type SessionKeys } from "../../clawchat/src/keys";
import { decodeKeyRotation, encodeKeyRotation } from "../../clawchat/src/control-messages";
import { MessageType, parsePacket } from "../../clawchat/src/wire";
import { rawPeer, sendTo, sleep, startServer, waitFor, type RawPeer, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

const HOUR = 3_600_000;

async function pingAndWait(peer: RawPeer, port: number): Promise<Buffer | undefined> {
  peer.received.length = 0;
  await sendTo(peer.socket, peer.seal(MessageType.ping, randomBytes(8)), port);
  const deadline = Date.now() + 500;
  while (Date.now() < deadline) {
    for (const datagram of peer.received) {
      const opened = peer.open(datagram);
      if (opened?.type === MessageType.pong) return opened.plaintext;
    }
    await sleep(5);
  }
  return undefined;
}

describe("port rotation (§7)", () => {
  it("rotates hourly under continuous traffic: announced 120 s ahead, both ports for 300 s, zero lost or duplicated messages", async () => {
    const handled: string[] = [];
    test = await startServer({ chatHandler: async (text) => (handled.push(text), `echo: ${text}`) });
    const { server, clock } = test;
    const client = await ClawChatClient.connect(test.security.content, { clock, server: test.target });
    const firstPort = client.dataPort;
    const rotations: Array<{ port: number; at: number }> = [];
    client.on("portRotated", ({ port }) => rotations.push({ port, at: clock.now() - start }));
    const start = clock.now();

    // Four senders, each always with one message in flight, for the whole run.
    const sent: string[] = [];
    const answers = new Map<string, string>();
    let stop = false;
    let wake: (() => void) | undefined;
    const workers = [0, 1, 2, 3].map(async (worker) => {
      for (let i = 0; !stop; i++) {
        const text = `worker ${worker} message ${i}`;
        sent.push(text);
        answers.set(text, await client.chat(text));
        wake?.();
      }
    });

    const observed: Record<string, number[]> = {};
    // 5-second steps of driven time from T to T+3960 s; each step waits for real traffic to get through.
    for (let elapsed = 0; elapsed < 3_960_000; ) {
      const before = answers.size;
      clock.advance(5_000);
      elapsed += 5_000;
      await new Promise<void>((resolve) => {
        wake = () => answers.size >= before + 2 && resolve();
      });
      for (const mark of [3_470_000, 3_500_000, 3_620_000, 3_890_000, 3_910_000]) {
        if (elapsed === mark) observed[mark] = server.openDataPorts;
      }
    }
    stop = true;
    await Promise.all(workers);

    // Zero lost: every message answered with its own answer, the handler asked exactly once per message.
    expect(sent.length).toBeGreaterThan(1000);
    expect(answers.size).toBe(sent.length);
    for (const text of sent) expect(answers.get(text)).toBe(`echo: ${text}`);
    expect([...handled].sort()).toEqual([...sent].sort());

    // One rotation, at T+3600 s, to a new port in 49152-65535; the old port open until T+3900 s.
    expect(rotations).toHaveLength(1);
    const newPort = rotations[0]?.port as number;
    // The client times the switch from the announcement's arrival; with 5 s steps of driven time that is within one step of T+3600 s.
    expect(rotations[0]?.at).toBeGreaterThanOrEqual(HOUR);
    expect(rotations[0]?.at).toBeLessThanOrEqual(HOUR + 5_000);
    expect(newPort).not.toBe(firstPort);
    expect(newPort).toBeGreaterThanOrEqual(49152);
    expect(newPort).toBeLessThanOrEqual(65535);
    expect(observed[3_470_000]).toEqual([firstPort]);
    expect(observed[3_500_000]).toEqual([firstPort, newPort]); // announced: the new port is bound
    expect(observed[3_620_000]).toEqual([newPort, firstPort]); // switched: the old one in its grace period
    expect(observed[3_890_000]).toEqual([newPort, firstPort]);
    expect(observed[3_910_000]).toEqual([newPort]); // closed after 300 s
    expect(client.dataPort).toBe(newPort);
    // The announcement also rotated the keys (§7.2 step 4).
    expect(client.epoch).toBe(1);
    expect(server.sessionEpochs()).toEqual([{ connectionId: client.connectionId, epoch: 1, established: true }]);
    const events = test.logger.events.map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(["port_rotation_announced", "port_rotated", "port_closed", "key_rotated"]));
    await client.close();
  }, 60_000);

  it("carries a peer that missed the announcement: the old port answers during the grace period and PONG names the new port", async () => {
    test = await startServer();
    const { server, clock } = test;
    const peer = await rawPeer(test);
    const oldPort = peer.dataPort;
    expect(await pingAndWait(peer, oldPort)).toBeDefined(); // establishes the session
    // Keep the session alive on the old port only (this peer ignores announcements and offers).
    for (let elapsed = 0; elapsed < HOUR + 60_000; elapsed += 60_000) {
      clock.advance(60_000);
      expect(await pingAndWait(peer, oldPort)).toBeDefined();
    }
    const newPort = server.dataPort;
    expect(newPort).not.toBe(oldPort);
    const pong = await pingAndWait(peer, oldPort);
    expect(pong?.readUInt16BE(8)).toBe(newPort);
    // Through the grace period (the session stays alive: idle sessions close after 180 s).
    for (let elapsed = HOUR + 60_000; elapsed < HOUR + 240_000; elapsed += 60_000) {
      clock.advance(60_000);
      expect(server.openDataPorts).toEqual([newPort, oldPort]);
      expect(await pingAndWait(peer, oldPort)).toBeDefined();
    }
    clock.advance(60_001);
    expect(server.openDataPorts).toEqual([newPort]);
    expect(await pingAndWait(peer, oldPort)).toBeUndefined();
    expect(await pingAndWait(peer, newPort)).toBeDefined();
    await peer.close();
  });
});

describe("key rotation (§5.4, §10.2)", () => {
  it("rotates on request and after the byte limit, transparently for the client", async () => {
    test = await startServer({ timers: { rekeyBytes: 64 * 1024 } });
    const client = await ClawChatClient.connect(test.security.content, { clock: test.clock, server: test.target });
    const epochs: number[] = [];
    client.on("keyRotated", ({ epoch }) => epochs.push(epoch));
    client.requestKeyRotation();
    await waitFor(() => client.epoch === 1 && test?.server.sessionEpochs()[0]?.epoch === 1);
    await expect(client.chat("after the first rotation")).resolves.toBe("echo: after the first rotation");
    // 1 GiB in production; 64 KiB here: the server starts the rotation by itself once an epoch carried that much.
    const big = "x".repeat(20_000);
    for (let i = 0; i < 4; i++) await expect(client.chat(big)).resolves.toBe(`echo: ${big}`);
    await waitFor(() => client.epoch >= 2);
    await expect(client.chat("still fine")).resolves.toBe("echo: still fine");
    expect(epochs.slice(0, 2)).toEqual([1, 2]);
    expect(test.logger.events.filter((e) => e.event === "key_rotated").length).toBeGreaterThanOrEqual(2);
    await client.close();
  });

  it("mixes a fresh X25519 secret in: a stolen epoch key (with the shared secret) does not give the next epoch's key", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    expect(await pingAndWait(peer, peer.dataPort)).toBeDefined(); // establishes the session
    peer.received.length = 0;
    const stolen: SessionKeys = {
      encryptionKey: Buffer.from(peer.keys.keys.encryptionKey),
      macKey: Buffer.from(peer.keys.keys.macKey),
      ivKey: Buffer.from(peer.keys.keys.ivKey),
      nextKeySeed: Buffer.from(peer.keys.keys.nextKeySeed),
    };
    const sharedSecret = Buffer.from(test.security.content.shared_secret, "base64");

    test.server.rotateKeys();
    await waitFor(() => peer.received.length > 0);
    const offerDatagram = peer.received.shift() as Buffer;
    const offer = decodeKeyRotation(peer.open(offerDatagram)?.plaintext ?? Buffer.alloc(0));
    if (offer?.op !== "offer") throw new Error("expected a key rotation OFFER");
    expect(offer.epoch).toBe(1);

    // The honest client's side of the exchange.
    const ephemeral = generateEphemeralKey();
    const dh = x25519(ephemeral, offer.publicKey) as Buffer;
    const real = deriveSessionKeys({ sharedSecret, seed: peer.keys.keys.nextKeySeed, dh, connectionId: peer.sessionId.toString("hex"), timestampMs: offer.timestampMs });
    const accept = peer.seal(MessageType.keyRotation, encodeKeyRotation({ op: "accept", epoch: 1, publicKey: ephemeral.publicKey }));
    await sendTo(peer.socket, accept, peer.dataPort);
    await waitFor(() => peer.received.length > 0);
    const confirm = parsePacket(peer.received.shift() as Buffer);
    if (typeof confirm === "string") throw new Error(confirm);
    expect(confirm.messageId.readUInt16BE(8)).toBe(1);
    expect(openPacket(real.encryptionKey, confirm)?.toString("hex")).toBe("030001");

    // The thief holds every epoch-0 key and the shared secret, and reads the OFFER and ACCEPT with them.
    const sawOffer = decodeKeyRotation(openPacket(stolen.encryptionKey, parsePacket(offerDatagram) as never) as Buffer);
    const acceptPacket = parsePacket(accept);
    if (typeof acceptPacket === "string") throw new Error(acceptPacket);
    const sawAccept = decodeKeyRotation(openPacket(stolen.encryptionKey, acceptPacket) as Buffer);
    if (sawOffer?.op !== "offer" || sawAccept?.op !== "accept") throw new Error("the thief should read the exchange");
    const guesses = [Buffer.alloc(0), sawOffer.publicKey, sawAccept.publicKey, Buffer.concat([sawOffer.publicKey, sawAccept.publicKey]), Buffer.alloc(32)];
    for (const guess of guesses) {
      const attempt = deriveSessionKeys({ sharedSecret, seed: stolen.nextKeySeed, dh: guess, connectionId: peer.sessionId.toString("hex"), timestampMs: sawOffer.timestampMs });
      expect(attempt.encryptionKey.equals(real.encryptionKey)).toBe(false);
      expect(openPacket(attempt.encryptionKey, confirm)).toBeUndefined();
    }
    // And the epoch-0 key itself no longer opens the server's new traffic.
    expect(openPacket(stolen.encryptionKey, confirm)).toBeUndefined();
    await peer.close();
  });

  it("keeps the previous epoch's keys for 60 s after the switch (packets in flight), then refuses them", async () => {
    test = await startServer();
    const peer = await rawPeer(test);
    expect(await pingAndWait(peer, peer.dataPort)).toBeDefined(); // establishes the session
    peer.received.length = 0;
    const oldKeys = peer.keys;
    test.server.rotateKeys();
    await waitFor(() => peer.received.length > 0);
    const offer = decodeKeyRotation(peer.open(peer.received.shift() as Buffer)?.plaintext ?? Buffer.alloc(0));
    if (offer?.op !== "offer") throw new Error("expected an OFFER");
    const ephemeral = generateEphemeralKey();
    await sendTo(peer.socket, peer.seal(MessageType.keyRotation, encodeKeyRotation({ op: "accept", epoch: 1, publicKey: ephemeral.publicKey })), peer.dataPort);
    await waitFor(() => test?.server.sessionEpochs()[0]?.epoch === 1);
    peer.received.length = 0;
    // Still under epoch 0, within the lifetime: accepted (the answer comes under epoch 1, so the old keys cannot open it).
    await sendTo(peer.socket, oldKeys.seal(peer.sessionId, test.clock.now(), MessageType.ping, randomBytes(8)), peer.dataPort);
    await waitFor(() => peer.received.length > 0);
    test.clock.advance(60_001);
    peer.received.length = 0;
    const dropsBefore = test.server.stats.dropped.epoch ?? 0;
    await sendTo(peer.socket, oldKeys.seal(peer.sessionId, test.clock.now(), MessageType.ping, randomBytes(8)), peer.dataPort);
    await sleep(300);
    expect(peer.received).toHaveLength(0);
    expect(test.server.stats.dropped.epoch).toBe(dropsBefore + 1);
    await peer.close();
  });
});
