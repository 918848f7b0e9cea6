/**
 * The ClawChat v2 packet layout (seed 002 §9.1) and the message types (§9.2),
 * as specified byte by byte in `docs/clawchat-protocol.md`.
 *
 *   off  len  field
 *   0    1    version (0x02)
 *   1    16   message ID
 *   17   8    timestamp, milliseconds since the Unix epoch, unsigned big-endian
 *   25   1    type byte: low nibble = message type, high nibble = padding length
 *   26   12   IV (AES-GCM nonce)
 *   38   n    ciphertext
 *   38+n 16   GCM tag
 *   54+n p    padding, p zero bytes (0-15) so the datagram length is a multiple of 16
 *
 * The associated data of the GCM seal is the 26-byte header (offsets 0-25).
 */
import { allocateUnsafe } from "./slab";

export const PROTOCOL_VERSION = 0x02;
export const HEADER_LENGTH = 26;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Header + IV + tag: the smallest possible packet (empty plaintext, no padding). */
export const MIN_PACKET_LENGTH = HEADER_LENGTH + IV_LENGTH + TAG_LENGTH;
/** The largest UDP payload ClawChat sends or accepts (one IPv4 datagram). */
export const MAX_PACKET_LENGTH = 65_507;
/** Plaintext bytes per chat or file chunk, so a packet stays below a 1280-byte path MTU. */
export const CHUNK_BYTES = 1024;

export const MessageType = {
  chat: 0x01,
  fileTransfer: 0x02,
  presence: 0x03,
  keyRotation: 0x04,
  portRotation: 0x05,
  error: 0x06,
  ping: 0x07,
  pong: 0x08,
  compromised: 0x09,
  compromisedAck: 0x0a,
  hello: 0x0b,
  welcome: 0x0c,
  ack: 0x0d,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * A datagram that passed the checks of `parsePacket`: its fields as views into
 * the datagram (no copies). The views are made on first use: the session path
 * reads the header bytes in place and asks only for what the cipher needs.
 */
export class PacketView {
  constructor(
    readonly datagram: Buffer,
    /** Offset of the padding (the end of the tag). */
    readonly end: number,
    readonly type: MessageType,
    readonly timestampMs: number,
  ) {}

  get messageId(): Buffer {
    return this.datagram.subarray(1, 17);
  }

  get header(): Buffer {
    return this.datagram.subarray(0, HEADER_LENGTH);
  }

  get iv(): Buffer {
    return this.datagram.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH);
  }

  get ciphertext(): Buffer {
    return this.datagram.subarray(HEADER_LENGTH + IV_LENGTH, this.end - TAG_LENGTH);
  }

  get tag(): Buffer {
    return this.datagram.subarray(this.end - TAG_LENGTH, this.end);
  }
}

/**
 * Splits a datagram into its fields without any cryptography, or returns the
 * reason it is malformed. Views share the datagram's memory (no copies).
 */
export function parsePacket(datagram: Buffer): PacketView | string {
  const length = datagram.length;
  if (length < MIN_PACKET_LENGTH) return "short";
  if (length > MAX_PACKET_LENGTH) return "long";
  if (datagram[0] !== PROTOCOL_VERSION) return "version";
  const typeByte = datagram[25] as number;
  const type = typeByte & 0x0f;
  const padding = typeByte >> 4;
  if (type < MessageType.chat || type > MessageType.ack) return "type";
  if (length % 16 !== 0) return "padding";
  const end = length - padding;
  if (end - TAG_LENGTH < HEADER_LENGTH + IV_LENGTH) return "padding";
  for (let i = end; i < length; i++) if (datagram[i] !== 0) return "padding";
  return new PacketView(datagram, end, type as MessageType, readTimestamp(datagram));
}

/** The header's u64 timestamp (offset 17) as a number of milliseconds. */
function readTimestamp(datagram: Buffer): number {
  const high = ((datagram[17] as number) * 0x100_0000 + (datagram[18] as number) * 0x1_0000 + (datagram[19] as number) * 0x100 + (datagram[20] as number)) * 0x1_0000_0000;
  return high + (datagram[21] as number) * 0x100_0000 + (datagram[22] as number) * 0x1_0000 + (datagram[23] as number) * 0x100 + (datagram[24] as number);
}

/** Padding so the datagram length is a multiple of 16 (0-15 bytes). */
export function paddingFor(ciphertextLength: number): number {
  return (16 - ((MIN_PACKET_LENGTH + ciphertextLength) % 16)) % 16;
}

/** Writes the 26-byte header and the zero padding into a fresh datagram of the right length and returns it (the sealer fills the rest). */
export function allocatePacket(messageId: Buffer, timestampMs: number, type: MessageType, ciphertextLength: number): Buffer {
  const datagram = allocateDatagram(timestampMs, type, ciphertextLength);
  for (let i = 0; i < 16; i++) datagram[1 + i] = messageId[i] as number;
  return datagram;
}

/**
 * A datagram for `ciphertextLength` bytes with version, timestamp, type byte and
 * padding written; the message ID (offsets 1-16), IV, ciphertext and tag are
 * left for the caller. Small datagrams are cut from a shared slab (`slab.ts`).
 */
export function allocateDatagram(timestampMs: number, type: MessageType, ciphertextLength: number): Buffer {
  const padding = paddingFor(ciphertextLength);
  const payloadEnd = MIN_PACKET_LENGTH + ciphertextLength;
  // Not zero-filled: the sealer writes the IV, ciphertext and tag; only the padding needs zeros.
  const datagram = allocateUnsafe(payloadEnd + padding);
  for (let i = payloadEnd; i < datagram.length; i++) datagram[i] = 0;
  datagram[0] = PROTOCOL_VERSION;
  const high = Math.floor(timestampMs / 0x1_0000_0000);
  const low = timestampMs - high * 0x1_0000_0000;
  datagram.writeUInt32BE(high, 17);
  datagram.writeUInt32BE(low, 21);
  datagram[25] = (padding << 4) | type;
  return datagram;
}
