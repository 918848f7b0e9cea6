/**
 * Sealing and opening ClawChat packets: the handshake packets under the
 * handshake key (random nonces) and the session packets under an epoch's
 * session keys (counter nonces, replay window). Pure functions plus the
 * `EpochKeys` state both peers keep per key epoch.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM, type DecipherGCM } from "node:crypto";
import { Direction, wipe, type SessionKeys } from "./keys";
import { allocateDatagram, allocatePacket, HEADER_LENGTH, IV_LENGTH, TAG_LENGTH, type MessageType, type PacketView } from "./wire";

/** Highest message counter (48 bits); an epoch is rotated long before it. */
export const MAX_COUNTER = 2 ** 48 - 1;
/** Counters accepted behind the highest one seen (sliding replay window). */
export const REPLAY_WINDOW = 1024;

/** Seals `plaintext` into a datagram: header as AAD, given nonce. */
export function sealPacket(key: Buffer, messageId: Buffer, timestampMs: number, type: MessageType, nonce: Buffer, plaintext: Buffer): Buffer {
  const datagram = allocatePacket(messageId, timestampMs, type, plaintext.length);
  nonce.copy(datagram, HEADER_LENGTH);
  return encryptInto(key, datagram, plaintext);
}

const BODY = HEADER_LENGTH + IV_LENGTH;

/**
 * AES-256-GCM of `plaintext` into a datagram whose header (the AAD) and IV are
 * written: ciphertext at offset 38, tag after it. node:crypto has no reusable
 * GCM context, so this is one cipher per packet (the floor of the per-packet cost);
 * `cipher`, when given, is that packet's context created ahead (same key and IV).
 */
function encryptInto(key: Buffer, datagram: Buffer, plaintext: Buffer, cipher: CipherGCM = createCipheriv("aes-256-gcm", key, datagram.subarray(HEADER_LENGTH, BODY))): Buffer {
  cipher.setAAD(datagram.subarray(0, HEADER_LENGTH));
  const body = cipher.update(plaintext);
  datagram.set(body, BODY);
  cipher.final();
  datagram.set(cipher.getAuthTag(), BODY + body.length);
  return datagram;
}

/** Opens a parsed packet, or returns undefined when the tag does not verify. */
export function openPacket(key: Buffer, packet: PacketView): Buffer | undefined {
  const { datagram, end } = packet;
  if (end - TAG_LENGTH < BODY) return undefined;
  return decryptWith(createDecipheriv("aes-256-gcm", key, datagram.subarray(HEADER_LENGTH, BODY)), datagram, end);
}

/** Decrypts the packet's body with a decipher made for its key and IV; undefined when the tag does not verify. */
function decryptWith(decipher: DecipherGCM, datagram: Buffer, end: number): Buffer | undefined {
  try {
    decipher.setAAD(datagram.subarray(0, HEADER_LENGTH));
    decipher.setAuthTag(datagram.subarray(end - TAG_LENGTH, end));
    const head = decipher.update(datagram.subarray(BODY, end - TAG_LENGTH));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}

/** HELLO and WELCOME: sealed under the handshake key with a random 96-bit nonce. */
export function sealHandshake(handshakeKey: Buffer, messageId: Buffer, timestampMs: number, type: MessageType, plaintext: Buffer, nonce: Buffer = randomBytes(IV_LENGTH)): Buffer {
  return sealPacket(handshakeKey, messageId, timestampMs, type, nonce, plaintext);
}

/**
 * One key epoch of one session as one peer sees it: what it sends with (its
 * own direction and counter) and what it accepts (the peer's direction and a
 * replay window over the peer's counters).
 *
 * Counter nonces are known in advance, so the GCM contexts of the next packet
 * sent and of the next one expected can be created ahead: the sender calls
 * `prepareAfterSend` once it handed a packet to the socket, and the contexts are
 * made on the next tick, after the datagram left (dgram sends on a tick too).
 * Creating a context is about a third of a seal or an open; this takes it off
 * the round trip's critical path. Each context still serves exactly one packet,
 * with its own nonce.
 */
export class EpochKeys {
  private sendCounter = 0;
  private highest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW);
  bytes = 0;
  /** The cipher for the packet sent with counter `readyCounter`, made ahead. */
  private ready?: CipherGCM;
  private readyCounter = -1;
  /** The decipher for the peer's packet with counter `expectedCounter`, made ahead. */
  private expected?: DecipherGCM;
  private expectedCounter = -1;
  private preparing = false;
  private destroyed = false;
  private readonly prepareBound = (): void => this.prepare();

  readonly receiveDirection: Direction;

  constructor(
    readonly epoch: number,
    readonly keys: SessionKeys,
    private readonly sendDirection: Direction,
  ) {
    this.receiveDirection = sendDirection === Direction.clientToServer ? Direction.serverToClient : Direction.clientToServer;
  }

  get packetsSent(): number {
    return this.sendCounter;
  }

  /**
   * Seals one session packet: message ID (session ID ‖ epoch ‖ counter) and the
   * counter nonce (§4.4) are written straight into the datagram.
   */
  seal(sessionId: Buffer, timestampMs: number, type: MessageType, plaintext: Buffer): Buffer {
    if (this.sendCounter > MAX_COUNTER) throw new Error("epoch exhausted: rotate keys before sending");
    const counter = this.sendCounter++;
    const datagram = allocateDatagram(timestampMs, type, plaintext.length);
    for (let i = 0; i < 8; i++) datagram[1 + i] = sessionId[i] as number;
    datagram.writeUInt16BE(this.epoch, 9);
    datagram.writeUIntBE(counter, 11, 6);
    // nonce = iv_key[0..12) XOR (u32 direction ‖ epoch ‖ counter), in the IV field (offset 26).
    writeNonce(datagram, HEADER_LENGTH, this.keys.ivKey, this.sendDirection, datagram, 9);
    let cipher: CipherGCM | undefined;
    if (this.readyCounter === counter) cipher = this.ready;
    this.ready = undefined;
    this.readyCounter = -1;
    encryptInto(this.keys.encryptionKey, datagram, plaintext, cipher);
    this.bytes += datagram.length;
    return datagram;
  }

  /**
   * Checks the nonce and the replay window (cheap, before any decryption), then
   * decrypts; marks the counter seen only once the tag verified.
   */
  open(packet: PacketView): Buffer | string {
    const { datagram, end } = packet;
    const counter = datagram.readUIntBE(11, 6);
    if (!this.nonceMatches(datagram)) return "nonce";
    if (counter <= this.highest - REPLAY_WINDOW) return "replay";
    if (counter <= this.highest && this.seen[counter % REPLAY_WINDOW] === 1) return "replay";
    let plaintext: Buffer | undefined;
    if (end - TAG_LENGTH < BODY) plaintext = undefined;
    else if (this.expectedCounter === counter && this.expected) {
      // The context made ahead for this counter: the nonce matched, so it is this packet's IV.
      plaintext = decryptWith(this.expected, datagram, end);
      this.expected = undefined;
      this.expectedCounter = -1;
    } else plaintext = openPacket(this.keys.encryptionKey, packet);
    if (!plaintext) return "tag";
    if (counter > this.highest) {
      const advance = Math.min(counter - this.highest, REPLAY_WINDOW);
      for (let i = 1; i <= advance; i++) this.seen[(counter - advance + i) % REPLAY_WINDOW] = 0;
      this.highest = counter;
    }
    this.seen[counter % REPLAY_WINDOW] = 1;
    this.bytes += end;
    return plaintext;
  }

  /** Whether the IV field is the nonce §4.4 gives for the packet's epoch and counter in the peer's direction (in place, no allocation). */
  private nonceMatches(datagram: Buffer): boolean {
    const ivKey = this.keys.ivKey;
    for (let i = 0; i < 3; i++) if (datagram[HEADER_LENGTH + i] !== ivKey[i]) return false;
    if (datagram[HEADER_LENGTH + 3] !== ((ivKey[3] as number) ^ this.receiveDirection)) return false;
    for (let i = 4; i < 12; i++) if (datagram[HEADER_LENGTH + i] !== ((ivKey[i] as number) ^ (datagram[5 + i] as number))) return false;
    return true;
  }

  /**
   * Makes the contexts of the next packet sent and of the next one expected on
   * the next tick (once per tick, however many packets were sent): call it right
   * after `socket.send`, so the datagram's own tick runs first.
   */
  prepareAfterSend(): void {
    if (this.preparing || this.destroyed) return;
    this.preparing = true;
    process.nextTick(this.prepareBound);
  }

  private prepare(): void {
    this.preparing = false;
    if (this.destroyed) return;
    const next = this.sendCounter;
    if (this.readyCounter !== next && next <= MAX_COUNTER) {
      this.ready = createCipheriv("aes-256-gcm", this.keys.encryptionKey, this.nonceFor(this.sendDirection, next));
      this.readyCounter = next;
    }
    const expected = this.highest + 1;
    if (this.expectedCounter !== expected && expected <= MAX_COUNTER) {
      this.expected = createDecipheriv("aes-256-gcm", this.keys.encryptionKey, this.nonceFor(this.receiveDirection, expected));
      this.expectedCounter = expected;
    }
  }

  /** The §4.4 nonce of `counter` in `direction` under this epoch. */
  private nonceFor(direction: Direction, counter: number): Buffer {
    const ids = Buffer.allocUnsafe(8);
    ids.writeUInt16BE(this.epoch, 0);
    ids.writeUIntBE(counter, 2, 6);
    const nonce = Buffer.allocUnsafe(IV_LENGTH);
    writeNonce(nonce, 0, this.keys.ivKey, direction, ids, 0);
    return nonce;
  }

  destroy(): void {
    this.destroyed = true;
    this.ready = undefined;
    this.expected = undefined;
    wipe(this.keys.encryptionKey, this.keys.macKey, this.keys.ivKey, this.keys.nextKeySeed);
  }
}

/** nonce = iv_key[0..12) XOR (u32 direction ‖ epoch (u16) ‖ counter (u48)), written at `out[at..at+12)`; epoch ‖ counter are read from `ids[from..from+8)`. */
function writeNonce(out: Buffer, at: number, ivKey: Buffer, direction: Direction, ids: Buffer, from: number): void {
  out[at] = ivKey[0] as number;
  out[at + 1] = ivKey[1] as number;
  out[at + 2] = ivKey[2] as number;
  out[at + 3] = (ivKey[3] as number) ^ direction;
  for (let i = 4; i < 12; i++) out[at + i] = (ivKey[i] as number) ^ (ids[from + i - 4] as number);
}
