/**
 * Fuzzing (seed 002 §14.3): well over 100,000 random and mutated datagrams
 * thrown at a live server over loopback must neither crash it nor draw a
 * single reply; then random plaintexts under valid session keys exercise
 * every message decoder behind the cryptography. The generator is seeded:
 * a failure prints the seed, and `CLAWCHAT_FUZZ_SEED=<n>` replays it.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { sealHandshake } from "../../clawchat/src/channel";
import { deriveHandshakeKey, generateEphemeralKey } from "../../clawchat/src/keys";
import { decodeKeyRotation, decodePortRotation, decodeWelcome, parseJsonObject } from "../../clawchat/src/control-messages";
import { decodeChatPart, decodeError, decodeFileMessage, decodePresence } from "../../clawchat/src/messages";
import { MessageType, parsePacket } from "../../clawchat/src/wire";
import { rawPeer, sendTo, sleep, startServer, waitFor, type RawPeer, type TestServer } from "./support";

let test: TestServer | undefined;
afterEach(async () => {
  await test?.stop();
  test = undefined;
});

/** xorshift32: fast and reproducible. */
function prng(seed: number): { int(n: number): number; bytes(n: number): Buffer } {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    int: (n) => next() % n,
    bytes: (n) => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
}

const SEED = Number(process.env.CLAWCHAT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const rng = prng(SEED);

/** One mutation of a valid datagram; never returns the seed unchanged (that would be a legitimate packet). */
function mutate(seed: Buffer, others: Buffer[], now: number): Buffer {
  for (;;) {
    const out = Buffer.from(seed);
    let result: Buffer = out;
    switch (rng.int(10)) {
      case 0: // flip 1-8 random bits
        for (let i = 1 + rng.int(8); i > 0; i--) {
          const at = rng.int(out.length);
          out[at] = (out[at] as number) ^ (1 << rng.int(8));
        }
        break;
      case 1: // overwrite a random byte
        out[rng.int(out.length)] = rng.int(256);
        break;
      case 2: // truncate
        result = out.subarray(0, rng.int(out.length));
        break;
      case 3: // extend by random or zero bytes
        result = Buffer.concat([out, rng.int(2) === 0 ? rng.bytes(1 + rng.int(64)) : Buffer.alloc(16 * (1 + rng.int(3)))]);
        break;
      case 4: // another message type and/or padding nibble
        out[25] = rng.int(256);
        break;
      case 5: // a fresh timestamp, so the skew check passes and the tag must refuse it
        out.writeUInt32BE(Math.floor(now / 0x1_0000_0000), 17);
        out.writeUInt32BE((now % 0x1_0000_0000) + rng.int(1000), 21);
        {
          const at = 26 + rng.int(out.length - 27);
          out[at] = (out[at] as number) ^ (1 + rng.int(255));
        }
        break;
      case 6: // a counter far ahead, or an epoch that does not exist
        out.writeUIntBE(rng.int(2 ** 32), 10, 6);
        if (rng.int(2) === 0) out.writeUInt16BE(rng.int(65536), 8);
        break;
      case 7: // splice: this header, another packet's body
        result = Buffer.concat([out.subarray(0, 26), (others[rng.int(others.length)] as Buffer).subarray(26)]);
        break;
      case 8: // another session's ID in this packet
        (others[rng.int(others.length)] as Buffer).copy(out, 1, 1, 9);
        break;
      default: // random bytes that pass the cheap parse (version 2, length a multiple of 16) and reach AES-GCM
        result = Buffer.concat([Buffer.from([0x02]), rng.bytes(16), seed.subarray(17, 25), Buffer.from([seed[25] as number]), rng.bytes(seed.length - 26)]);
        break;
    }
    if (!result.equals(seed)) return result;
  }
}

/** Sends in bursts small enough for the socket buffers, waiting until the server has read each burst. */
async function throwAt(server: TestServer["server"], peer: RawPeer, datagrams: Buffer[], port: number): Promise<void> {
  for (let i = 0; i < datagrams.length; i += 128) {
    const target = server.stats.received + Math.min(128, datagrams.length - i);
    for (const datagram of datagrams.slice(i, i + 128)) peer.socket.send(datagram, port, "127.0.0.1");
    let last = -1;
    let stalled = 0;
    while (server.stats.received < target && stalled < 20) {
      await new Promise((resolve) => setImmediate(resolve));
      if (server.stats.received === last) stalled++;
      else stalled = 0;
      last = server.stats.received;
    }
  }
}

describe("fuzzing the server", () => {
  it(`survives 100,000+ random and mutated packets with no reply (seed ${SEED})`, async () => {
    // Limits opened wide on purpose: the fuzz must reach the parser and the cryptography, not stop at the rate limiter.
    test = await startServer({ limits: { packets: { perSecond: 1e9, burst: 1e9 }, hellos: { perSecond: 1e9, burst: 1e9 } } });
    const { server, clock } = test;
    const peers = [await rawPeer(test), await rawPeer(test)];
    const [peer, other] = peers as [RawPeer, RawPeer];
    const handshakeKey = deriveHandshakeKey(Buffer.from(test.security.content.shared_secret, "base64"));
    const seeds: Buffer[] = [];
    for (const type of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
      for (const size of [0, 1, 8, 43, 200, 1100]) seeds.push(peer.seal(type as MessageType, rng.bytes(size)), other.seal(type as MessageType, rng.bytes(size)));
    }
    for (let i = 0; i < 8; i++) seeds.push(sealHandshake(handshakeKey, randomBytes(16), clock.now(), MessageType.hello, generateEphemeralKey().publicKey));
    const sentBefore = server.stats.sent;
    const receivedBefore = server.stats.received;
    const started = Date.now();
    let thrown = 0;
    while (server.stats.received - receivedBefore < 100_000) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 5_000; i++) {
        const roll = rng.int(10);
        if (roll < 2) batch.push(rng.bytes(rng.int(1500)));
        else batch.push(mutate(seeds[rng.int(seeds.length)] as Buffer, seeds, clock.now()));
      }
      const port = rng.int(4) === 0 ? test.target.port : peer.dataPort;
      await throwAt(server, rng.int(2) === 0 ? peer : other, batch, port);
      thrown += batch.length;
      if (Date.now() - started > 40_000) break;
    }
    const processed = server.stats.received - receivedBefore;
    console.log(`fuzz: seed ${SEED}, ${thrown} thrown, ${processed} read by the server in ${Date.now() - started} ms; drops ${JSON.stringify(server.stats.dropped)}`);
    expect(processed).toBeGreaterThanOrEqual(100_000);
    await sleep(200);
    expect(server.stats.sent).toBe(sentBefore);
    expect(peer.received).toHaveLength(0);
    expect(other.received).toHaveLength(0);
    expect(server.stats.handshakes).toBe(2);
    // Still alive and serving both sessions.
    for (const p of peers) {
      await sendTo(p.socket, p.seal(MessageType.ping, randomBytes(8)), p.dataPort);
      await waitFor(() => p.received.length === 1);
      expect(p.open(p.received[0] as Buffer)?.type).toBe(MessageType.pong);
    }
    for (const p of peers) await p.close();
  }, 60_000);

  it("survives random plaintexts of every message type under valid session keys", async () => {
    test = await startServer({ limits: { packets: { perSecond: 1e9, burst: 1e9 } } });
    const peer = await rawPeer(test);
    const witness = await rawPeer(test);
    const datagrams: Buffer[] = [];
    for (let i = 0; i < 4_000; i++) {
      const type = 1 + rng.int(10);
      let plaintext = rng.bytes(rng.int(4) === 0 ? rng.int(1200) : rng.int(48));
      if (rng.int(3) === 0) plaintext = Buffer.from(JSON.stringify({ type: "compromised", version: "2.0", signal: "CLAWCHAT_COMPROMISED_V2", timestamp: rng.int(1e9), connection_id: peer.sessionId.toString("hex"), reason: "x", signature: rng.bytes(32).toString("hex") }));
      if (type === MessageType.presence && plaintext[0] === 0) plaintext[0] = 1; // status 0 would end the session, and the rest of the run with it
      datagrams.push(peer.seal(type as MessageType, plaintext));
    }
    await throwAt(test.server, peer, datagrams, peer.dataPort);
    await sendTo(witness.socket, witness.seal(MessageType.ping, randomBytes(8)), witness.dataPort);
    await waitFor(() => witness.received.length === 1);
    expect(test.server.sessionCount).toBe(2);
    await peer.close();
    await witness.close();
  }, 60_000);

  it("never throws from the parser or any message decoder on random input", () => {
    const decoders = [parsePacket, decodeChatPart, decodeFileMessage, decodeKeyRotation, decodePortRotation, decodePresence, decodeError, decodeWelcome, parseJsonObject];
    const thrown: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const input = rng.bytes(rng.int(i % 100 === 0 ? 2000 : 64));
      if (i % 7 === 0 && input.length > 0) input[0] = 1 + rng.int(4);
      for (const decode of decoders) {
        try {
          decode(input);
        } catch (error) {
          thrown.push(`${decode.name}(${input.toString("hex").slice(0, 80)}): ${(error as Error).message}`);
        }
      }
    }
    expect(thrown).toEqual([]);
  });
});
