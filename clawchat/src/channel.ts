/**
 * Sealing and opening ClawChat packets: the handshake packets under the
 * handshake key (random nonces) and the session packets under an epoch's
 * session keys (counter nonces, replay window). Pure functions plus the
 * `EpochKeys` state both peers keep per key epoch.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Direction, isSessionNonce, sessionNonce, wipe, type SessionKeys } from "./keys";
import { allocatePacket, HEADER_LENGTH, IV_LENGTH, TAG_LENGTH, type MessageType, type PacketView } from "./wire";

/** Highest message counter (48 bits); an epoch is rotated long before it. */
export const MAX_COUNTER = 2 ** 48 - 1;
/** Counters accepted behind the highest one seen (sliding replay window). */
export const REPLAY_WINDOW = 1024;

/** Seals `plaintext` into a datagram: header as AAD, given nonce. */
export function sealPacket(key: Buffer, messageId: Buffer, timestampMs: number, type: MessageType, nonce: Buffer, plaintext: Buffer): Buffer {
  const datagram = allocatePacket(messageId, timestampMs, type, plaintext.length);
  nonce.copy(datagram, HEADER_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(datagram.subarray(0, HEADER_LENGTH));
  const start = HEADER_LENGTH + IV_LENGTH;
  const body = cipher.update(plaintext);
  body.copy(datagram, start);
  cipher.final();
  cipher.getAuthTag().copy(datagram, start + body.length);
  return datagram;
}

/** Opens a parsed packet, or returns undefined when the tag does not verify. */
export function openPacket(key: Buffer, packet: PacketView): Buffer | undefined {
  if (packet.tag.length !== TAG_LENGTH) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, packet.iv);
    decipher.setAAD(packet.header);
    decipher.setAuthTag(packet.tag);
    const head = decipher.update(packet.ciphertext);
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

/** The 16-byte message ID of a session packet: session ID (8) ‖ epoch (2, BE) ‖ counter (6, BE). */
export function sessionMessageId(sessionId: Buffer, epoch: number, counter: number): Buffer {
  const id = Buffer.alloc(16);
  sessionId.copy(id, 0, 0, 8);
  id.writeUInt16BE(epoch, 8);
  id.writeUIntBE(counter, 10, 6);
  return id;
}

/**
 * One key epoch of one session as one peer sees it: what it sends with (its
 * own direction and counter) and what it accepts (the peer's direction and a
 * replay window over the peer's counters).
 */
export class EpochKeys {
  private sendCounter = 0;
  private highest = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW);
  bytes = 0;

  constructor(
    readonly epoch: number,
    readonly keys: SessionKeys,
    private readonly sendDirection: Direction,
  ) {}

  get receiveDirection(): Direction {
    return this.sendDirection === Direction.clientToServer ? Direction.serverToClient : Direction.clientToServer;
  }

  get packetsSent(): number {
    return this.sendCounter;
  }

  seal(sessionId: Buffer, timestampMs: number, type: MessageType, plaintext: Buffer): Buffer {
    if (this.sendCounter > MAX_COUNTER) throw new Error("epoch exhausted: rotate keys before sending");
    const messageId = sessionMessageId(sessionId, this.epoch, this.sendCounter++);
    const nonce = sessionNonce(this.keys.ivKey, this.sendDirection, messageId);
    const datagram = sealPacket(this.keys.encryptionKey, messageId, timestampMs, type, nonce, plaintext);
    this.bytes += datagram.length;
    return datagram;
  }

  /**
   * Checks the nonce and the replay window (cheap, before any decryption), then
   * decrypts; marks the counter seen only once the tag verified.
   */
  open(packet: PacketView): Buffer | string {
    const counter = packet.messageId.readUIntBE(10, 6);
    if (!isSessionNonce(this.keys.ivKey, this.receiveDirection, packet.messageId, packet.iv)) return "nonce";
    if (counter <= this.highest - REPLAY_WINDOW) return "replay";
    if (counter <= this.highest && this.seen[counter % REPLAY_WINDOW] === 1) return "replay";
    const plaintext = openPacket(this.keys.encryptionKey, packet);
    if (!plaintext) return "tag";
    if (counter > this.highest) {
      const advance = Math.min(counter - this.highest, REPLAY_WINDOW);
      for (let i = 1; i <= advance; i++) this.seen[(counter - advance + i) % REPLAY_WINDOW] = 0;
      this.highest = counter;
    }
    this.seen[counter % REPLAY_WINDOW] = 1;
    this.bytes += packet.ciphertext.length + MIN_OVERHEAD;
    return plaintext;
  }

  destroy(): void {
    wipe(this.keys.encryptionKey, this.keys.macKey, this.keys.ivKey, this.keys.nextKeySeed);
  }
}

const MIN_OVERHEAD = HEADER_LENGTH + IV_LENGTH + TAG_LENGTH;
