/**
 * Multi-part messages, both directions (protocol §6.9): the receiver's table of
 * parts and when it acknowledges them, the sender's table of acknowledged parts,
 * paced sending and selective resend of the parts an ACK reports missing.
 */
import type { Clock, TimerHandle } from "./clock";
import type { MessageType } from "./wire";

/** What an ACK (0x0D) acknowledges: the parts of a chat message or of a file transfer. */
export const AckKind = { chat: 0x01, file: 0x02 } as const;
export type AckKind = (typeof AckKind)[keyof typeof AckKind];

export interface Ack {
  readonly kind: AckKind;
  readonly id: Buffer;
  readonly count: number;
  /** Bit i (most significant bit first) set: part i arrived. */
  readonly bitmap: Buffer;
}

/** ACK: kind (u8) ‖ message ID (8) ‖ part count (u32) ‖ bitmap of ceil(count / 8) bytes, unused bits zero (§6.9). */
export function encodeAck(ack: Ack): Buffer {
  const out = Buffer.alloc(13 + ack.bitmap.length);
  out[0] = ack.kind;
  ack.id.copy(out, 1, 0, 8);
  out.writeUInt32BE(ack.count, 9);
  ack.bitmap.copy(out, 13);
  return out;
}

/** Parts per message an ACK may cover (a 4 MiB message in 1,024-byte parts; files are limited to 1 MiB). */
export const MAX_PARTS = 4096;

export function decodeAck(plaintext: Buffer): Ack | undefined {
  if (plaintext.length < 14) return undefined;
  const kind = plaintext[0];
  const count = plaintext.readUInt32BE(9);
  if ((kind !== AckKind.chat && kind !== AckKind.file) || count === 0 || count > MAX_PARTS || plaintext.length !== 13 + Math.ceil(count / 8)) return undefined;
  const bitmap = plaintext.subarray(13);
  if (count % 8 !== 0 && ((bitmap[bitmap.length - 1] as number) & (0xff >> count % 8)) !== 0) return undefined;
  return { kind, id: plaintext.subarray(1, 9), count, bitmap };
}

/** ACK and pacing rules (§6.9). Tests shorten them; hosts use the defaults. */
export interface TransferTimers {
  /** The receiver acknowledges once no new part arrived for this long. Defaults to 5 ms. */
  ackDelayMs: number;
  /** While parts are missing, the receiver repeats its ACK this often. Defaults to 200 ms. */
  ackRepeatMs: number;
  /** ...at most this many times, then waits for the sender's own retransmission. Defaults to 25. */
  ackRepeats: number;
  /** Parts sent per event-loop turn, so the peer's socket buffer drains between bursts. Defaults to 32. */
  paceParts: number;
}

export const DEFAULT_TRANSFER: TransferTimers = { ackDelayMs: 5, ackRepeatMs: 200, ackRepeats: 25, paceParts: 32 };

/** The bitmap of §6.9: bit i, most significant bit first, set when part i is held. */
function bitmapOf(count: number, has: (index: number) => boolean): Buffer {
  const bitmap = Buffer.alloc(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (has(i)) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (0x80 >> (i & 7));
  return bitmap;
}

/** Every part held: the ACK of a complete message. */
export function fullBitmap(count: number): Buffer {
  return bitmapOf(count, () => true);
}

export function bitIsSet(bitmap: Buffer, index: number): boolean {
  return (((bitmap[index >> 3] ?? 0) >> (7 - (index & 7))) & 1) === 1;
}

/** One message being received in parts. */
export class Incoming {
  readonly parts: Array<Buffer | undefined>;
  received = 0;
  bytes = 0;
  lastPartAt: number;
  private ackTimer?: TimerHandle;
  private acksSent = 0;

  constructor(
    readonly count: number,
    now: number,
    /** Optional metadata of the first part (a file's name). */
    readonly name?: string,
  ) {
    this.parts = new Array<Buffer | undefined>(count).fill(undefined);
    this.lastPartAt = now;
  }

  /** Stores a copy of a part; false when it was already held. */
  add(index: number, data: Buffer, now: number): boolean {
    if (this.parts[index] !== undefined) return false;
    // A view, not a copy: each part's plaintext is a fresh buffer of its own (the decipher's output).
    this.parts[index] = data;
    this.received++;
    this.bytes += data.length;
    this.lastPartAt = now;
    this.acksSent = 0;
    return true;
  }

  get complete(): boolean {
    return this.received === this.count;
  }

  bitmap(): Buffer {
    return bitmapOf(this.count, (i) => this.parts[i] !== undefined);
  }

  join(): Buffer {
    return this.count === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts as Buffer[]);
  }

  /**
   * §6.9 receiver rule: acknowledge once `ackDelayMs` passed without a new part,
   * then every `ackRepeatMs` while parts are missing, at most `ackRepeats` times.
   */
  scheduleAck(clock: Clock, timers: TransferTimers, sendAck: () => void): void {
    if (this.ackTimer || this.complete) return;
    const fire = (): void => {
      this.ackTimer = undefined;
      if (this.complete) return;
      const quietFor = clock.now() - this.lastPartAt;
      if (this.acksSent === 0 && quietFor < timers.ackDelayMs) {
        this.ackTimer = clock.setTimeout(fire, timers.ackDelayMs - quietFor);
        return;
      }
      if (this.acksSent >= timers.ackRepeats) return;
      this.acksSent++;
      sendAck();
      this.ackTimer = clock.setTimeout(fire, timers.ackRepeatMs);
    };
    this.ackTimer = clock.setTimeout(fire, timers.ackDelayMs);
  }

  cancel(clock: Clock): void {
    if (this.ackTimer) clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }
}

const SENT = 1;
const ACKED = 2;

/** Where a message's parts go: each sealed and sent as one packet of `type`, while the session is open. */
export interface PartSink {
  send(type: MessageType, plaintext: Buffer): void;
  isOpen(): boolean;
}

/** One message being sent in parts, with what the peer acknowledged. */
export class Outgoing {
  /**
   * Per part: `SENT` once sent at least once (an ACK that arrives while pacing is
   * still under way does not resend the rest), `ACKED` once the peer has it.
   */
  private readonly state: Uint8Array;
  private ackedCount = 0;

  constructor(readonly parts: Buffer[]) {
    this.state = new Uint8Array(parts.length);
  }

  /**
   * Sends the given parts as packets of `type`, `paceParts` per event-loop turn (§6.9):
   * the peer's receive buffer drains between bursts. An error of `send` in the first
   * burst reaches the caller; later, it abandons the rest (the session closed).
   */
  send(indexes: ReadonlyArray<number>, paceParts: number, type: MessageType, sink: PartSink): void {
    const first = Math.min(indexes.length, paceParts);
    this.sendRange(indexes, 0, first, type, sink);
    if (first < indexes.length) this.sendLater(indexes, first, paceParts, type, sink);
  }

  private sendRange(indexes: ReadonlyArray<number>, from: number, to: number, type: MessageType, sink: PartSink): void {
    for (let next = from; next < to; next++) {
      const index = indexes[next] as number;
      this.state[index] = (this.state[index] as number) | SENT;
      sink.send(type, this.parts[index] as Buffer);
    }
  }

  private sendLater(indexes: ReadonlyArray<number>, from: number, paceParts: number, type: MessageType, sink: PartSink): void {
    setImmediate(() => {
      try {
        if (!sink.isOpen()) return;
        const to = Math.min(indexes.length, from + paceParts);
        this.sendRange(indexes, from, to, type, sink);
        if (to < indexes.length) this.sendLater(indexes, to, paceParts, type, sink);
      } catch {
        // The session closed between bursts: the request fails through its own path.
      }
    });
  }

  get allAcknowledged(): boolean {
    return this.ackedCount === this.parts.length;
  }

  /** Records an ACK's bitmap; returns the parts it reports missing that were sent already (to resend now). */
  applyAck(count: number, bitmap: Buffer): number[] {
    if (count !== this.parts.length) return [];
    const missing: number[] = [];
    for (let i = 0; i < count; i++) {
      const state = this.state[i] as number;
      if ((state & ACKED) !== 0) continue;
      if (bitIsSet(bitmap, i)) {
        this.state[i] = state | ACKED;
        this.ackedCount++;
      } else if ((state & SENT) !== 0) missing.push(i);
    }
    return missing;
  }

  /** The parts not acknowledged yet (all of them before the first ACK). */
  unacknowledged(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.parts.length; i++) if (((this.state[i] as number) & ACKED) === 0) out.push(i);
    return out;
  }
}

/** 0, 1, ..., n − 1. */
export function allIndexes(count: number): number[] {
  if (count === 1) return ONE_PART;
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = i;
  return out;
}

const ONE_PART: number[] = [0];
