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

const KNOWN_TYPES = new Set<number>(Object.values(MessageType));

export function isMessageType(value: number): value is MessageType {
  return KNOWN_TYPES.has(value);
}

export interface PacketView {
  readonly messageId: Buffer;
  readonly timestampMs: number;
  readonly type: MessageType;
  readonly header: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/**
 * Splits a datagram into its fields without any cryptography, or returns the
 * reason it is malformed. Views share the datagram's memory (no copies).
 */
export function parsePacket(datagram: Buffer): PacketView | string {
  if (datagram.length < MIN_PACKET_LENGTH) return "short";
  if (datagram.length > MAX_PACKET_LENGTH) return "long";
  if (datagram[0] !== PROTOCOL_VERSION) return "version";
  const typeByte = datagram[25] as number;
  const type = typeByte & 0x0f;
  const padding = typeByte >> 4;
  if (!isMessageType(type)) return "type";
  if (datagram.length % 16 !== 0) return "padding";
  const end = datagram.length - padding;
  if (end - TAG_LENGTH < HEADER_LENGTH + IV_LENGTH) return "padding";
  for (let i = end; i < datagram.length; i++) if (datagram[i] !== 0) return "padding";
  const high = datagram.readUInt32BE(17);
  const low = datagram.readUInt32BE(21);
  return {
    messageId: datagram.subarray(1, 17),
    timestampMs: high * 0x1_0000_0000 + low,
    type,
    header: datagram.subarray(0, HEADER_LENGTH),
    iv: datagram.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH),
    ciphertext: datagram.subarray(HEADER_LENGTH + IV_LENGTH, end - TAG_LENGTH),
    tag: datagram.subarray(end - TAG_LENGTH, end),
  };
}

/** Padding so the datagram length is a multiple of 16 (0-15 bytes). */
export function paddingFor(ciphertextLength: number): number {
  return (16 - ((MIN_PACKET_LENGTH + ciphertextLength) % 16)) % 16;
}

/** Writes the 26-byte header and the zero padding into a fresh datagram of the right length and returns it (the sealer fills the rest). */
export function allocatePacket(messageId: Buffer, timestampMs: number, type: MessageType, ciphertextLength: number): Buffer {
  const padding = paddingFor(ciphertextLength);
  // Not zero-filled: the sealer writes the IV, ciphertext and tag; only the padding needs zeros.
  const datagram = Buffer.allocUnsafe(MIN_PACKET_LENGTH + ciphertextLength + padding);
  datagram.fill(0, MIN_PACKET_LENGTH + ciphertextLength);
  datagram[0] = PROTOCOL_VERSION;
  messageId.copy(datagram, 1, 0, 16);
  datagram.writeUInt32BE(Math.floor(timestampMs / 0x1_0000_0000), 17);
  datagram.writeUInt32BE(timestampMs % 0x1_0000_0000, 21);
  datagram[25] = (padding << 4) | type;
  return datagram;
}
