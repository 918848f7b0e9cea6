/**
 * The client's requests in flight (chat messages and files, protocol §6.1,
 * §6.2, §6.9): parts sent paced, resent selectively when the server's ACK
 * reports them missing, answers collected and acknowledged. One timer serves
 * every request (no timer per message): it fires at the earliest retransmission due.
 */
import type { Clock, TimerHandle } from "./clock";
import { decodeUtf8 } from "./messages";
import { AckKind, allIndexes, decodeAck, encodeAck, Incoming, Outgoing, type TransferTimers } from "./transfer";
import { MessageType } from "./wire";

export interface RequestsIo {
  readonly clock: Clock;
  readonly transfer: TransferTimers;
  /** Retransmission of an unanswered request, and how many times. */
  readonly retransmitMs: number;
  readonly retransmits: number;
  send(type: MessageType, plaintext: Buffer): void;
  arm(callback: () => void, delayMs: number): TimerHandle;
  isOpen(): boolean;
}

interface Pending {
  readonly kind: AckKind;
  /** The request's ID as a latin1 string: its key in the table of its kind. */
  readonly key: string;
  readonly type: MessageType;
  readonly outgoing: Outgoing;
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
  tries: number;
  dueAt: number;
  answer?: Incoming;
}

export class Requests {
  /** Requests in flight by kind, keyed by their ID as a latin1 string. */
  private readonly chats = new Map<string, Pending>();
  private readonly files = new Map<string, Pending>();
  private ticker?: TimerHandle;

  constructor(private readonly io: RequestsIo) {}

  /** Sends the parts of one request; resolves with the decoded answer. */
  start<T>(kind: AckKind, type: MessageType, id: Buffer, parts: Buffer[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = id.toString("latin1", 0, 8);
      const pending: Pending = { kind, key, type, outgoing: new Outgoing(parts), resolve: resolve as (value: never) => void, reject, tries: 0, dueAt: this.io.clock.now() + this.io.retransmitMs };
      try {
        this.transmit(pending, allIndexes(parts.length));
      } catch (error) {
        return reject(error as Error);
      }
      this.table(kind).set(key, pending);
      this.tick();
    });
  }

  /** A part of the answer to a chat message. */
  onChatPart(id: Buffer, index: number, count: number, data: Buffer): void {
    const pending = this.chats.get(id.toString("latin1", 0, 8));
    if (!pending) return;
    if (count === 1 && !pending.answer) return this.answered(pending, data); // one part: nothing to collect
    const clock = this.io.clock;
    const answer = (pending.answer ??= new Incoming(count, clock.now()));
    if (answer.count !== count) return;
    answer.add(index, data, clock.now());
    const ackId = Buffer.from(id);
    if (!answer.complete) {
      answer.scheduleAck(clock, this.io.transfer, () => this.sendAck(AckKind.chat, ackId, count, answer.bitmap()));
      return;
    }
    this.sendAck(AckKind.chat, ackId, count, answer.bitmap());
    this.answered(pending, answer.join());
  }

  private answered(pending: Pending, bytes: Buffer): void {
    this.finish(pending);
    const text = decodeUtf8(bytes);
    if (text === undefined) pending.reject(new Error("the server's answer is not valid UTF-8"));
    else pending.resolve(text as never);
  }

  onFileResult(id: Buffer, result: { status: number; reason: string }): void {
    const pending = this.files.get(id.toString("latin1", 0, 8));
    if (!pending) return;
    this.finish(pending);
    pending.resolve(result as never);
  }

  /** The server's ACK of our parts: resend what it misses; an ACK also says the server is alive. */
  onAck(plaintext: Buffer): void {
    const ack = decodeAck(plaintext);
    const pending = ack && this.table(ack.kind).get(ack.id.toString("latin1", 0, 8));
    if (!ack || !pending) return;
    pending.tries = 0;
    pending.dueAt = this.io.clock.now() + this.io.retransmitMs;
    this.transmit(pending, pending.outgoing.applyAck(ack.count, ack.bitmap));
  }

  /** An error answering one of our requests; false when it answers none. */
  onError(reference: Buffer, error: Error): boolean {
    const key = reference.toString("latin1", 0, 8);
    const pending = this.chats.get(key) ?? this.files.get(key);
    if (!pending) return false;
    this.finish(pending);
    pending.reject(error);
    return true;
  }

  rejectAll(error: Error): void {
    for (const table of [this.chats, this.files]) {
      for (const pending of table.values()) {
        pending.answer?.cancel(this.io.clock);
        pending.reject(error);
      }
      table.clear();
    }
  }

  private table(kind: AckKind): Map<string, Pending> {
    return kind === AckKind.chat ? this.chats : this.files;
  }

  private finish(pending: Pending): void {
    this.table(pending.kind).delete(pending.key);
    pending.answer?.cancel(this.io.clock);
  }

  private transmit(pending: Pending, indexes: number[]): void {
    pending.outgoing.send(indexes, this.io.transfer.paceParts, pending.type, this.io);
  }

  private sendAck(kind: AckKind, id: Buffer, count: number, bitmap: Buffer): void {
    if (this.io.isOpen()) this.io.send(MessageType.ack, encodeAck({ kind, id, count, bitmap }));
  }

  /**
   * Fires at the earliest due retransmission: resends the parts the server has
   * not acknowledged, or, once it holds them all, one part as a poll (it answers
   * with an ACK while the gateway works, or resends the answer).
   */
  private tick(): void {
    if (this.ticker || (this.chats.size === 0 && this.files.size === 0)) return;
    let earliest = Infinity;
    for (const table of [this.chats, this.files]) for (const pending of table.values()) earliest = Math.min(earliest, pending.dueAt);
    this.ticker = this.io.arm(() => {
      this.ticker = undefined;
      const now = this.io.clock.now();
      for (const table of [this.chats, this.files]) {
        for (const pending of [...table.values()]) {
          if (pending.dueAt > now) continue;
          if (pending.tries++ >= this.io.retransmits) {
            this.finish(pending);
            pending.reject(new Error("no answer from the server"));
            continue;
          }
          pending.dueAt = now + this.io.retransmitMs;
          const missing = pending.outgoing.unacknowledged();
          this.transmit(pending, missing.length > 0 ? missing : [pending.outgoing.parts.length - 1]);
        }
      }
      this.tick();
    }, Math.max(0, earliest - this.io.clock.now()));
  }
}
