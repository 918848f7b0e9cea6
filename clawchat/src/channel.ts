/**
 * Sealing and opening ClawChat packets: the handshake packets under the
 * handshake key (random nonces) and the session packets under an epoch's
 * session keys (counter nonces, replay window). Pure functions plus the
 * `EpochKeys` state both peers keep per key epoch.
 */
import { randomBytes } from "node:crypto";
import { openWithNodeCrypto, packetCipher, sealWithNodeCrypto, type PacketCipher } from "./aead";
import { Direction, wipe, type SessionKeys } from "./keys";
import { allocateDatagram, allocatePacket, HEADER_LENGTH, IV_LENGTH, type MessageType, type PacketView } from "./wire";

/** Highest message counter (48 bits); an epoch is rotated long before it. */
export const MAX_COUNTER = 2 ** 48 - 1;
/** Counters accepted behind the highest one seen (sliding replay window). */
export const REPLAY_WINDOW = 1024;

/** Seals `plaintext` into a datagram: header as AAD, given nonce. */
export function sealPacket(key: Buffer, messageId: Buffer, timestampMs: number, type: MessageType, nonce: Buffer, plaintext: Buffer): Buffer {
  const datagram = allocatePacket(messageId, timestampMs, type, plaintext.length);
  nonce.copy(datagram, HEADER_LENGTH);
  sealWithNodeCrypto(key, datagram, plaintext);
  return datagram;
}

/** Opens a parsed packet with a fresh node:crypto context (the handshake key), or returns undefined when the tag does not verify. */
export function openPacket(key: Buffer, packet: PacketView): Buffer | undefined {
  return openWithNodeCrypto(key, packet);
}

/** HELLO and WELCOME: sealed under the handshake key with a random 96-bit nonce. */
export function sealHandshake(handshakeKey: Buffer, messageId: Buffer, timestampMs: number, type: MessageType, plaintext: Buffer, nonce: Buffer = randomBytes(IV_LENGTH)): Buffer {
  return sealPacket(handshakeKey, messageId, timestampMs, type, nonce, plaintext);
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

  readonly receiveDirection: Direction;
  /** AES-256-GCM under this epoch's encryption key (one OpenSSL context per direction when the addon loaded). */
  private readonly cipher: PacketCipher;

  constructor(
    readonly epoch: number,
    readonly keys: SessionKeys,
    private readonly sendDirection: Direction,
  ) {
    this.receiveDirection = sendDirection === Direction.clientToServer ? Direction.serverToClient : Direction.clientToServer;
    this.cipher = packetCipher(keys.encryptionKey);
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
    const ivKey = this.keys.ivKey;
    datagram[26] = ivKey[0] as number;
    datagram[27] = ivKey[1] as number;
    datagram[28] = ivKey[2] as number;
    datagram[29] = (ivKey[3] as number) ^ this.sendDirection;
    for (let i = 4; i < 12; i++) datagram[HEADER_LENGTH + i] = (ivKey[i] as number) ^ (datagram[5 + i] as number);
    this.cipher.seal(datagram, plaintext);
    this.bytes += datagram.length;
    return datagram;
  }

  /**
   * Checks the nonce and the replay window (cheap, before any decryption), then
   * decrypts; marks the counter seen only once the tag verified.
   */
  open(packet: PacketView): Buffer | string {
    const datagram = packet.datagram;
    const counter = datagram.readUIntBE(11, 6);
    if (!this.nonceMatches(datagram)) return "nonce";
    if (counter <= this.highest - REPLAY_WINDOW) return "replay";
    if (counter <= this.highest && this.seen[counter % REPLAY_WINDOW] === 1) return "replay";
    const plaintext = this.cipher.open(packet);
    if (!plaintext) return "tag";
    if (counter > this.highest) {
      const advance = Math.min(counter - this.highest, REPLAY_WINDOW);
      for (let i = 1; i <= advance; i++) this.seen[(counter - advance + i) % REPLAY_WINDOW] = 0;
      this.highest = counter;
    }
    this.seen[counter % REPLAY_WINDOW] = 1;
    this.bytes += packet.end;
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

  destroy(): void {
    this.cipher.destroy();
    wipe(this.keys.encryptionKey, this.keys.macKey, this.keys.ivKey, this.keys.nextKeySeed);
  }
}
