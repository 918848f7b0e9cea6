/**
 * The published test vectors (`docs/clawchat-vectors.json`, specified in
 * `docs/clawchat-protocol.md` §12) are checked twice: the library reproduces
 * them exactly, and an independent re-implementation of the document's
 * description (bare `node:crypto`: HMAC, AES-GCM, PBKDF2, X25519) reproduces
 * them too, so the document, the vectors and the code cannot drift apart.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ephemeralKeyFromPrivate, x25519 } from "../../clawchat/src/keys";
import { computeVectors } from "./vectors";

interface Keys {
  encryption_key: string;
  mac_key: string;
  iv_key: string;
  next_key_seed: string;
}

// The JSON's shape is pinned by the equality test below; this type only names what the other tests read.
interface Vectors {
  inputs: { shared_secret: string; client_ephemeral_private: string; server_ephemeral_private: string; hello_message_id: string; hello_timestamp_ms: number; hello_nonce: string; welcome_timestamp_ms: number; welcome_nonce: string; session_id: string; data_port: number };
  handshake: { handshake_key: string; client_ephemeral_public: string; server_ephemeral_public: string; hello_datagram: string; welcome_plaintext: string; welcome_datagram: string; x25519_shared: string; connection_id: string; context: string; epoch0: Keys };
  session: {
    ping: { timestamp_ms: number; ping_id: string; message_id: string; nonce: string; datagram: string };
    pong: { timestamp_ms: number; plaintext: string; datagram: string };
    chat: { timestamp_ms: number; text: string; chat_id: string; plaintext: string; datagram: string };
    port_announce: { timestamp_ms: number; plaintext: string; datagram: string };
  };
  key_rotation: { offer_timestamp_ms: number; server_rotation_private: string; client_rotation_private: string; offer_plaintext: string; offer_datagram: string; accept_plaintext: string; accept_datagram: string; x25519_shared: string; epoch1: Keys; confirm_datagram: string };
  compromised: { signal: Record<string, string | number>; signal_signed_text: string; ack: Record<string, string | number | boolean>; ack_signed_text: string };
  security_file: { bootstrap_key_base64: string; salt: string; iv: string; iterations: number; content_json: string; package: Record<string, string | number> };
  ack: { timestamp_ms: number; counter: number; chat_id: string; count: number; parts_held: number[]; plaintext: string; datagram: string };
}

const published = JSON.parse(readFileSync(join(__dirname, "..", "..", "docs", "clawchat-vectors.json"), "utf8")) as Vectors;
const h = (value: string): Buffer => Buffer.from(value, "hex");

/* ---- an independent reading of docs/clawchat-protocol.md ---- */

/** RFC 5869 with HMAC-SHA256; an empty salt means 32 zero bytes. */
function hkdf(ikm: Buffer, salt: Buffer, info: string, length: number): Buffer {
  const prk = createHmac("sha256", salt.length > 0 ? salt : Buffer.alloc(32)).update(ikm).digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; blocks.length * 32 < length; i++) {
    previous = createHmac("sha256", prk).update(Buffer.concat([previous, Buffer.from(info, "utf8"), Buffer.from([i])])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function sessionKeys(shared: Buffer, seed: Buffer, dh: Buffer, context: string): Keys {
  const salt = createHash("sha256").update(Buffer.concat([shared, Buffer.from(context, "utf8")])).digest();
  const okm = hkdf(Buffer.concat([seed, dh]), salt, "ClawChat v2.0 Session Keys", 128);
  return { encryption_key: okm.subarray(0, 32).toString("hex"), mac_key: okm.subarray(32, 64).toString("hex"), iv_key: okm.subarray(64, 96).toString("hex"), next_key_seed: okm.subarray(96, 128).toString("hex") };
}

/** §3: header (26) ‖ IV (12) ‖ ciphertext ‖ tag (16) ‖ zero padding to a multiple of 16; the header is the AAD. */
function seal(key: Buffer, messageId: Buffer, timestampMs: number, type: number, nonce: Buffer, plaintext: Buffer): Buffer {
  const padding = (16 - ((54 + plaintext.length) % 16)) % 16;
  const header = Buffer.alloc(26);
  header[0] = 0x02;
  messageId.copy(header, 1);
  header.writeBigUInt64BE(BigInt(timestampMs), 17);
  header[25] = (padding << 4) | type;
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag(), Buffer.alloc(padding)]);
}

function open(key: Buffer, datagram: Buffer): Buffer {
  const padding = (datagram[25] as number) >> 4;
  const end = datagram.length - padding;
  const decipher = createDecipheriv("aes-256-gcm", key, datagram.subarray(26, 38));
  decipher.setAAD(datagram.subarray(0, 26));
  decipher.setAuthTag(datagram.subarray(end - 16, end));
  return Buffer.concat([decipher.update(datagram.subarray(38, end - 16)), decipher.final()]);
}

/** §4.4: the first 12 bytes of the IV key XOR (direction u32 BE ‖ message ID bytes 8-15). */
function nonce(ivKey: Buffer, direction: 0 | 1, messageId: Buffer): Buffer {
  const out = Buffer.concat([Buffer.from([0, 0, 0, direction]), messageId.subarray(8, 16)]);
  for (let i = 0; i < 12; i++) out[i] = (out[i] as number) ^ (ivKey[i] as number);
  return out;
}

function messageId(sessionId: Buffer, epoch: number, counter: number): Buffer {
  const id = Buffer.alloc(16);
  sessionId.copy(id);
  id.writeUInt16BE(epoch, 8);
  id.writeUIntBE(counter, 10, 6);
  return id;
}

describe("the published test vectors", () => {
  it("are exactly what the library computes from the fixed inputs", async () => {
    expect(JSON.parse(JSON.stringify(await computeVectors()))).toEqual(published);
  });

  it("use X25519 as RFC 7748 §6.1 defines it (raw 32-byte keys)", () => {
    const alice = ephemeralKeyFromPrivate(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
    const bob = ephemeralKeyFromPrivate(h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
    expect(alice.publicKey.toString("hex")).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    expect(bob.publicKey.toString("hex")).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    expect(x25519(alice, bob.publicKey)?.toString("hex")).toBe("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    // A low-order point gives the all-zero secret, which is refused (§4.2).
    expect(x25519(alice, Buffer.alloc(32))).toBeUndefined();
  });

  it("handshake: HELLO, WELCOME and the epoch-0 keys follow the document", () => {
    const v = published;
    const shared = h(v.inputs.shared_secret);
    const handshakeKey = hkdf(shared, Buffer.alloc(0), "ClawChat v2.0 Handshake", 32);
    expect(handshakeKey.toString("hex")).toBe(v.handshake.handshake_key);
    const hello = seal(handshakeKey, h(v.inputs.hello_message_id), v.inputs.hello_timestamp_ms, 0x0b, h(v.inputs.hello_nonce), h(v.handshake.client_ephemeral_public));
    expect(hello.toString("hex")).toBe(v.handshake.hello_datagram);
    expect(hello).toHaveLength(96);
    const welcomePlain = Buffer.concat([Buffer.from([0]), h(v.inputs.session_id), h(v.handshake.server_ephemeral_public), Buffer.from([v.inputs.data_port >> 8, v.inputs.data_port & 0xff])]);
    expect(welcomePlain.toString("hex")).toBe(v.handshake.welcome_plaintext);
    const welcome = seal(handshakeKey, h(v.inputs.hello_message_id), v.inputs.welcome_timestamp_ms, 0x0c, h(v.inputs.welcome_nonce), welcomePlain);
    expect(welcome.toString("hex")).toBe(v.handshake.welcome_datagram);
    expect(v.handshake.context).toBe(`${v.inputs.session_id}:${v.inputs.hello_timestamp_ms}`);
    expect(sessionKeys(shared, shared, h(v.handshake.x25519_shared), v.handshake.context)).toEqual(v.handshake.epoch0);
    const client = ephemeralKeyFromPrivate(h(v.inputs.client_ephemeral_private));
    const server = ephemeralKeyFromPrivate(h(v.inputs.server_ephemeral_private));
    expect(x25519(server, client.publicKey)?.toString("hex")).toBe(v.handshake.x25519_shared);
  });

  it("session packets: counter nonces per direction, padding, and the message layouts", () => {
    const v = published;
    const k = v.handshake.epoch0;
    const sid = h(v.inputs.session_id);
    const pingId = messageId(sid, 0, 0);
    expect(pingId.toString("hex")).toBe(v.session.ping.message_id);
    expect(nonce(h(k.iv_key), 0, pingId).toString("hex")).toBe(v.session.ping.nonce);
    expect(seal(h(k.encryption_key), pingId, v.session.ping.timestamp_ms, 0x07, nonce(h(k.iv_key), 0, pingId), h(v.session.ping.ping_id)).toString("hex")).toBe(v.session.ping.datagram);
    // The server's first packet also has counter 0, but its direction (1) changes the nonce.
    const pongPlain = Buffer.concat([h(v.session.ping.ping_id), Buffer.from([v.inputs.data_port >> 8, v.inputs.data_port & 0xff])]);
    expect(pongPlain.toString("hex")).toBe(v.session.pong.plaintext);
    expect(seal(h(k.encryption_key), pingId, v.session.pong.timestamp_ms, 0x08, nonce(h(k.iv_key), 1, pingId), pongPlain).toString("hex")).toBe(v.session.pong.datagram);
    const text = Buffer.from(v.session.chat.text, "utf8");
    const chatPlain = Buffer.concat([h(v.session.chat.chat_id), Buffer.from([0, 0, 0, 1]), text]);
    expect(chatPlain.toString("hex")).toBe(v.session.chat.plaintext);
    const chatId = messageId(sid, 0, 1);
    expect(seal(h(k.encryption_key), chatId, v.session.chat.timestamp_ms, 0x01, nonce(h(k.iv_key), 0, chatId), chatPlain).toString("hex")).toBe(v.session.chat.datagram);
    expect(open(h(k.encryption_key), h(v.session.port_announce.datagram)).toString("hex")).toBe(v.session.port_announce.plaintext);
    const announce = h(v.session.port_announce.plaintext);
    expect([announce[0], announce.readUInt32BE(1), announce.readUInt16BE(5), announce.readUInt32BE(7), announce.readUInt32BE(11)]).toEqual([1, 1, 60_000, 120_000, 300_000]);
    for (const datagram of [v.session.ping.datagram, v.session.pong.datagram, v.session.chat.datagram, v.handshake.hello_datagram]) expect(h(datagram).length % 16).toBe(0);
  });

  it("ACK (§6.9): kind, chat ID, u32 part count, bitmap most significant bit first, sealed like any session packet", () => {
    const v = published;
    const k = v.handshake.epoch0;
    const bitmap = Buffer.alloc(Math.ceil(v.ack.count / 8));
    for (const index of v.ack.parts_held) bitmap[Math.floor(index / 8)] = (bitmap[Math.floor(index / 8)] as number) | (1 << (7 - (index % 8)));
    const count = Buffer.alloc(4);
    count.writeUInt32BE(v.ack.count);
    const plain = Buffer.concat([Buffer.from([0x01]), h(v.ack.chat_id), count, bitmap]);
    expect(plain.toString("hex")).toBe(v.ack.plaintext);
    const id = messageId(h(v.inputs.session_id), 0, v.ack.counter);
    expect(seal(h(k.encryption_key), id, v.ack.timestamp_ms, 0x0d, nonce(h(k.iv_key), 0, id), plain).toString("hex")).toBe(v.ack.datagram);
  });

  it("key rotation: epoch 1 mixes the next-key seed with a fresh X25519 secret", () => {
    const v = published;
    const shared = h(v.inputs.shared_secret);
    const r = v.key_rotation;
    const serverRotation = ephemeralKeyFromPrivate(h(r.server_rotation_private));
    const clientRotation = ephemeralKeyFromPrivate(h(r.client_rotation_private));
    const offer = Buffer.concat([Buffer.from([0x01, 0x00, 0x01]), serverRotation.publicKey, Buffer.alloc(8)]);
    offer.writeBigUInt64BE(BigInt(r.offer_timestamp_ms), 35);
    expect(offer.toString("hex")).toBe(r.offer_plaintext);
    expect(open(h(v.handshake.epoch0.encryption_key), h(r.offer_datagram)).toString("hex")).toBe(r.offer_plaintext);
    expect(Buffer.concat([Buffer.from([0x02, 0x00, 0x01]), clientRotation.publicKey]).toString("hex")).toBe(r.accept_plaintext);
    expect(open(h(v.handshake.epoch0.encryption_key), h(r.accept_datagram)).toString("hex")).toBe(r.accept_plaintext);
    expect(x25519(clientRotation, serverRotation.publicKey)?.toString("hex")).toBe(r.x25519_shared);
    const epoch1 = sessionKeys(shared, h(v.handshake.epoch0.next_key_seed), h(r.x25519_shared), `${v.inputs.session_id}:${r.offer_timestamp_ms}`);
    expect(epoch1).toEqual(r.epoch1);
    // The CONFIRM is the server's first packet of epoch 1: message ID epoch 0x0001, counter 0.
    const confirm = h(r.confirm_datagram);
    expect(confirm.subarray(1, 17).toString("hex")).toBe(`${v.inputs.session_id}0001000000000000`);
    expect(open(h(epoch1.encryption_key), confirm).toString("hex")).toBe("030001");
  });

  it("compromised protocol: HMAC-SHA256 under the MAC key over the newline-joined fields", () => {
    const v = published;
    const macKey = h(v.handshake.epoch0.mac_key);
    const s = v.compromised.signal;
    expect(v.compromised.signal_signed_text).toBe([s.signal, s.connection_id, String(s.timestamp), s.reason].join("\n"));
    expect(createHmac("sha256", macKey).update(v.compromised.signal_signed_text).digest("hex")).toBe(s.signature);
    const a = v.compromised.ack;
    expect(v.compromised.ack_signed_text).toBe(["COMPROMISED_ACK", a.connection_id, String(a.timestamp), a.action, String(a.new_file_ready)].join("\n"));
    expect(createHmac("sha256", macKey).update(v.compromised.ack_signed_text).digest("hex")).toBe(a.signature);
  });

  it("security file: PBKDF2-HMAC-SHA256 of the raw bootstrap key, AES-256-GCM over the JSON", () => {
    const f = published.security_file;
    const fileKey = pbkdf2Sync(Buffer.from(f.bootstrap_key_base64, "base64"), h(f.salt), f.iterations, 32, "sha256");
    const cipher = createCipheriv("aes-256-gcm", fileKey, h(f.iv));
    const ciphertext = Buffer.concat([cipher.update(f.content_json, "utf8"), cipher.final()]);
    expect(f.package).toEqual({
      version: "2.0",
      salt: h(f.salt).toString("base64"),
      iv: h(f.iv).toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      algorithm: "aes-256-gcm-pbkdf2",
      iterations: 100_000,
      timestamp: published.inputs.hello_timestamp_ms / 1000,
    });
    expect(JSON.parse(f.content_json)).toMatchObject({ shared_secret: Buffer.from(published.inputs.shared_secret, "hex").toString("base64"), server_udp_port: 54_321 });
  });
});
