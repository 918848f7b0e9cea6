/**
 * Whole messages (protocol §6.9): the ACK codec, selective resend of only the
 * parts an ACK reports missing, and a 256 KiB message through a lossy UDP relay
 * on loopback that drops 5 % of the datagrams each way.
 */
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { ManualClock, SystemClock } from "../../clawchat/src/clock";
import { AckKind, decodeAck, encodeAck, fullBitmap, Incoming, MAX_PARTS, Outgoing } from "../../clawchat/src/transfer";
import { MessageType } from "../../clawchat/src/wire";
import { openSocket, startServer, type TestServer } from "./support";

let test: TestServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  await test?.stop();
  test = undefined;
  for (const socket of sockets.splice(0)) socket.close();
});

/** A seeded generator (mulberry32), so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A UDP relay on 127.0.0.2 in front of a server on 127.0.0.1, listening on the
 * same port numbers as the server's home and data ports (so the data port the
 * WELCOME names leads through it too). It drops `loss` of the datagrams both
 * ways and counts what it forwarded to the server.
 */
async function lossyRelay(server: TestServer, loss: number, seed: number): Promise<{ forwardedToServer: () => number; dropped: () => number }> {
  const next = random(seed);
  let forwarded = 0;
  let dropped = 0;
  for (const serverPort of [server.server.homePort, server.server.dataPort]) {
    const front = createSocket("udp4");
    await new Promise<void>((resolve) => front.bind(serverPort, "127.0.0.2", resolve));
    const back = await openSocket();
    sockets.push(front, back);
    let client: { address: string; port: number } | undefined;
    front.on("message", (datagram, remote) => {
      client = { address: remote.address, port: remote.port };
      if (next() < loss) return void dropped++;
      forwarded++;
      back.send(datagram, serverPort, "127.0.0.1");
    });
    back.on("message", (datagram) => {
      if (!client) return;
      if (next() < loss) return void dropped++;
      front.send(datagram, client.port, client.address);
    });
  }
  return { forwardedToServer: () => forwarded, dropped: () => dropped };
}

async function freePort(): Promise<number> {
  const socket = await openSocket();
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe("the ACK message (§6.9)", () => {
  it("encodes kind, ID, count and a most-significant-bit-first bitmap with the unused bits zero", () => {
    const id = Buffer.from("0102030405060708", "hex");
    const incoming = new Incoming(10, 0);
    for (const index of [0, 2, 9]) incoming.add(index, Buffer.from("x"), 0);
    const ack = encodeAck({ kind: AckKind.chat, id, count: 10, bitmap: incoming.bitmap() });
    expect(ack.toString("hex")).toBe("01" + "0102030405060708" + "0000000a" + "a0" + "40");
    expect(decodeAck(ack)).toMatchObject({ kind: AckKind.chat, count: 10 });
    expect(fullBitmap(10).toString("hex")).toBe("ffc0");
    // Refused: a set unused bit, a wrong bitmap length, count 0, too many parts, an unknown kind.
    expect(decodeAck(Buffer.concat([ack.subarray(0, 13), Buffer.from("a041", "hex")]))).toBeUndefined();
    expect(decodeAck(Buffer.concat([ack, Buffer.from([0])]))).toBeUndefined();
    expect(decodeAck(encodeAck({ kind: AckKind.file, id, count: 0, bitmap: Buffer.alloc(1) }))).toBeUndefined();
    expect(decodeAck(encodeAck({ kind: AckKind.file, id, count: MAX_PARTS + 1, bitmap: Buffer.alloc(Math.ceil((MAX_PARTS + 1) / 8)) }))).toBeUndefined();
    expect(decodeAck(Buffer.concat([Buffer.from([3]), ack.subarray(1)]))).toBeUndefined();
  });

  it("makes the sender resend only the parts reported missing that it sent already", () => {
    const outgoing = new Outgoing(Array.from({ length: 12 }, (_, i) => Buffer.from([i])));
    const sent: number[] = [];
    outgoing.send([0, 1, 2, 3, 4, 5, 6, 7, 8], Infinity, MessageType.chat, { send: (_type, part) => void sent.push(part[0] as number), isOpen: () => true });
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const incoming = new Incoming(12, 0);
    for (let i = 0; i < 9; i++) if (i % 5 !== 3) incoming.add(i, Buffer.from([i]), 0); // 3 and 8 lost
    // Parts 9-11 are not acknowledged either, but they were never sent (pacing is still under way): not resent.
    expect(outgoing.applyAck(12, incoming.bitmap())).toEqual([3, 8]);
    expect(outgoing.unacknowledged()).toEqual([3, 8, 9, 10, 11]);
    outgoing.send([3, 8, 9, 10, 11], Infinity, MessageType.chat, { send: () => undefined, isOpen: () => true });
    for (const i of [3, 9, 10, 11]) incoming.add(i, Buffer.from([i]), 0); // 8 lost again
    expect(outgoing.applyAck(12, incoming.bitmap())).toEqual([8]);
    expect(outgoing.applyAck(13, fullBitmap(13))).toEqual([]); // another message's count: ignored
    expect(outgoing.allAcknowledged).toBe(false);
    expect(outgoing.applyAck(12, fullBitmap(12))).toEqual([]);
    expect(outgoing.allAcknowledged).toBe(true);
  });
});

describe("a 256 KiB message through a relay that loses 5 % of the datagrams each way", () => {
  it("arrives whole both ways, resending little more than what was lost", async () => {
    const clock = new SystemClock();
    const dataPort = await freePort();
    // The security file is issued at the real time (the manual clock only dates it); the server runs on real timers.
    test = await startServer({ clock, portRange: [dataPort, dataPort], chatHandler: async (text) => text }, new ManualClock(Date.now()));
    const relay = await lossyRelay(test, 0.05, 20261204);
    const client = await ClawChatClient.connect(test.security.content, {
      clock,
      server: { host: "127.0.0.2", port: test.server.homePort },
      handshakeRetryMs: 200,
      handshakeAttempts: 20,
      retransmitMs: 2_000, // recovery comes from the ACKs; the sender's own timer only covers a total loss
    });
    const message = Array.from({ length: 256 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const answer = await client.chat(message);
    expect(answer.length).toBe(message.length);
    expect(answer === message).toBe(true);
    // 256 parts went up; with selective resend the relay forwards about 256 / 0.95 of them plus a few pings and
    // ACKs; resending every part of the message on each timeout would forward at least 512.
    expect(relay.dropped()).toBeGreaterThan(0);
    expect(relay.forwardedToServer()).toBeLessThan(256 * 1.3);
    await client.close();
  }, 60_000);
});
