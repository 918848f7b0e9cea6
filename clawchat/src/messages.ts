/**
 * The plaintexts carried inside session packets, one codec per message type of
 * seed 002 §9.2 (layouts in `docs/clawchat-protocol.md` §6). Decoders return
 * undefined for anything malformed; a peer drops such a message silently.
 */
import { allocateUnsafe } from "./slab";
import { CHUNK_BYTES } from "./wire";

/** 0x01 chat and 0x02 file data travel in numbered parts of at most `CHUNK_BYTES`. */
export interface Chunk {
  readonly id: Buffer;
  readonly index: number;
  readonly count: number;
  readonly data: Buffer;
}

/** Chat: message ID (8) ‖ part index (u16) ‖ part count (u16) ‖ UTF-8 bytes. */
export function encodeChatPart(chunk: Chunk): Buffer {
  const out = allocateUnsafe(12 + chunk.data.length); // every byte is written below
  chunk.id.copy(out, 0, 0, 8);
  out.writeUInt16BE(chunk.index, 8);
  out.writeUInt16BE(chunk.count, 10);
  chunk.data.copy(out, 12);
  return out;
}

export function decodeChatPart(plaintext: Buffer): Chunk | undefined {
  if (plaintext.length < 12) return undefined;
  const index = plaintext.readUInt16BE(8);
  const count = plaintext.readUInt16BE(10);
  if (count === 0 || index >= count || plaintext.length - 12 > CHUNK_BYTES) return undefined;
  return { id: plaintext.subarray(0, 8), index, count, data: plaintext.subarray(12) };
}

/**
 * The encoded parts of a chat message (§6.1). The common one-part message is
 * encoded straight from the string (one buffer, no intermediate copy); longer
 * text is cut to `maxBytes` and split into parts of `CHUNK_BYTES`.
 */
export function encodeChatParts(id: Buffer, text: string, maxBytes = Infinity): Buffer[] {
  const length = Buffer.byteLength(text, "utf8");
  if (length <= CHUNK_BYTES && length <= maxBytes) {
    const part = allocateUnsafe(12 + length); // every byte is written below
    for (let i = 0; i < 8; i++) part[i] = id[i] as number;
    part.writeUInt32BE(1, 8); // index 0 (u16), count 1 (u16)
    part.write(text, 12, length, "utf8");
    return [part];
  }
  let bytes = Buffer.from(text, "utf8");
  if (bytes.length > maxBytes) bytes = bytes.subarray(0, maxBytes);
  return splitIntoChunks(id, bytes).map(encodeChatPart);
}

export function splitIntoChunks(id: Buffer, payload: Buffer): Chunk[] {
  const count = Math.max(1, Math.ceil(payload.length / CHUNK_BYTES));
  const chunks: Chunk[] = [];
  for (let index = 0; index < count; index++) {
    chunks.push({ id, index, count, data: payload.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES) });
  }
  return chunks;
}

export const FileOp = { chunk: 0x01, result: 0x02 } as const;
export const FileStatus = { accepted: 0, refused: 1, tooLarge: 2 } as const;

/** File chunk: op 0x01 ‖ file ID (8) ‖ index (u32) ‖ count (u32) ‖ name length (u8) ‖ name ‖ data. */
export function encodeFileChunk(chunk: Chunk, name: string): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  if (nameBytes.length === 0 || nameBytes.length > 255) throw new Error("file name must be 1-255 UTF-8 bytes");
  const out = Buffer.alloc(18 + nameBytes.length + chunk.data.length);
  out[0] = FileOp.chunk;
  chunk.id.copy(out, 1, 0, 8);
  out.writeUInt32BE(chunk.index, 9);
  out.writeUInt32BE(chunk.count, 13);
  out[17] = nameBytes.length;
  nameBytes.copy(out, 18);
  chunk.data.copy(out, 18 + nameBytes.length);
  return out;
}

/** File result: op 0x02 ‖ file ID (8) ‖ status (u8) ‖ UTF-8 reason. */
export function encodeFileResult(id: Buffer, status: number, reason: string): Buffer {
  return Buffer.concat([Buffer.from([FileOp.result]), id.subarray(0, 8), Buffer.from([status]), Buffer.from(reason, "utf8")]);
}

export type FileMessage =
  | { readonly op: "chunk"; readonly chunk: Chunk; readonly name: string }
  | { readonly op: "result"; readonly id: Buffer; readonly status: number; readonly reason: string };

export function decodeFileMessage(plaintext: Buffer): FileMessage | undefined {
  if (plaintext[0] === FileOp.chunk && plaintext.length >= 18) {
    const count = plaintext.readUInt32BE(13);
    const index = plaintext.readUInt32BE(9);
    const nameLength = plaintext[17] as number;
    if (count === 0 || index >= count || nameLength === 0 || plaintext.length < 18 + nameLength) return undefined;
    const data = plaintext.subarray(18 + nameLength);
    if (data.length > CHUNK_BYTES) return undefined;
    const name = decodeUtf8(plaintext.subarray(18, 18 + nameLength));
    if (name === undefined) return undefined;
    return { op: "chunk", chunk: { id: plaintext.subarray(1, 9), index, count, data }, name };
  }
  if (plaintext[0] === FileOp.result && plaintext.length >= 10) {
    return { op: "result", id: plaintext.subarray(1, 9), status: plaintext[9] as number, reason: plaintext.toString("utf8", 10) };
  }
  return undefined;
}

export const PresenceStatus = { offline: 0, online: 1, away: 2, busy: 3 } as const;
export type PresenceName = keyof typeof PresenceStatus;
const PRESENCE_NAMES = Object.keys(PresenceStatus) as PresenceName[];

/** Presence: status (u8: 0 offline, 1 online, 2 away, 3 busy) ‖ UTF-8 note (≤ 256 bytes). */
export function encodePresence(status: PresenceName, note = ""): Buffer {
  const noteBytes = Buffer.from(note, "utf8");
  if (noteBytes.length > 256) throw new Error("presence note must be at most 256 UTF-8 bytes");
  return Buffer.concat([Buffer.from([PresenceStatus[status]]), noteBytes]);
}

export function decodePresence(plaintext: Buffer): { status: PresenceName; note: string } | undefined {
  const status = PRESENCE_NAMES[plaintext[0] ?? 255];
  if (status === undefined || plaintext.length > 257) return undefined;
  const note = decodeUtf8(plaintext.subarray(1));
  return note === undefined ? undefined : { status, note };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Text fields must be valid UTF-8 (§6): undefined for anything else, never a silent U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}


export const ErrorCode = {
  badRequest: 1,
  gatewayError: 2,
  sessionTerminated: 3,
  tooLarge: 4,
  busy: 5,
  /** Too many gateway calls running for this session or this server (§6.4); nothing was asked, retry later. */
  overloaded: 6,
} as const;

/** Error: code (u16) ‖ reference (8: the chat or file ID it answers, or zeros) ‖ UTF-8 text (≤ 512 bytes). */
export function encodeError(code: number, reference: Buffer | undefined, text: string): Buffer {
  const out = Buffer.alloc(10);
  out.writeUInt16BE(code, 0);
  reference?.copy(out, 2, 0, 8);
  return Buffer.concat([out, Buffer.from(text, "utf8").subarray(0, 512)]);
}

export function decodeError(plaintext: Buffer): { code: number; reference: Buffer; text: string } | undefined {
  if (plaintext.length < 10) return undefined;
  return { code: plaintext.readUInt16BE(0), reference: plaintext.subarray(2, 10), text: plaintext.toString("utf8", 10) };
}

/** Ping: ping ID (8). Pong: ping ID (8) ‖ the server's current data port (u16). */
export function encodePong(pingId: Buffer, dataPort: number): Buffer {
  const out = Buffer.alloc(10);
  pingId.copy(out, 0, 0, 8);
  out.writeUInt16BE(dataPort, 8);
  return out;
}
