/**
 * Chat and files on the server (protocol §6.1, §6.2, §6.9): parts are collected
 * and acknowledged, a complete question goes to the chat handler (the OpenClaw
 * gateway) within the gateway-call limits, and the answer goes back paced, kept
 * for repeats and resent selectively when the client's ACK says parts are missing.
 */
import type { ChatContext, ChatHandler } from "./gateway";
import { decodeChatPart, decodeFileMessage, decodeUtf8, encodeChatParts, encodeFileResult, ErrorCode, FileStatus } from "./messages";
import type { FileHandler } from "./server-config";
import type { Answered, ServerContext, ServerSession, ServerStats } from "./server-session";
import { AckKind, allIndexes, decodeAck, encodeAck, fullBitmap, Incoming, Outgoing, type PartSink } from "./transfer";
import { CHUNK_BYTES, MessageType } from "./wire";

const ANSWER_CACHE_MS = 300_000;
const MAX_ASSEMBLIES = 16;
const MAX_ANSWERED = 64;

type Collected = Incoming | "too_large" | "busy" | undefined;

export class Relay {
  /** Gateway calls running on the whole server (bounded by `maxGatewayCalls`). */
  gatewayCalls = 0;

  constructor(
    private readonly context: ServerContext,
    private readonly chatHandler: ChatHandler,
    private readonly fileHandler: FileHandler,
    private readonly stats: ServerStats,
  ) {}

  onChat(session: ServerSession, plaintext: Buffer): void {
    const chunk = decodeChatPart(plaintext);
    if (!chunk) return this.context.drop("malformed", session.address);
    const key = chunk.id.toString("latin1");
    const answered = session.answered.get(key);
    // A retransmitted question whose answer was (partly) lost: send the missing parts again, never ask twice.
    if (answered) return this.resend(session, MessageType.chat, answered, answered.outgoing.unacknowledged());
    // A repeat while the gateway works: the ACK tells the client that every part arrived and the answer is coming.
    if (session.inProgress.has(key)) return this.sendAck(session, AckKind.chat, chunk.id, chunk.count, fullBitmap(chunk.count));
    let question: Buffer;
    if (chunk.count === 1 && chunk.data.length <= this.context.limits.maxChatBytes && !session.chats.has(key)) {
      // The common one-part message: complete on arrival, nothing to keep or acknowledge.
      question = chunk.data;
    } else {
      const collected = this.collect(session, session.chats, AckKind.chat, chunk.id, chunk.index, chunk.count, chunk.data, this.context.limits.maxChatBytes);
      if (!(collected instanceof Incoming)) {
        if (collected === "too_large" || collected === "busy") {
          this.context.sendError(session, collected === "busy" ? ErrorCode.busy : ErrorCode.tooLarge, chunk.id, collected === "busy" ? "too many messages in flight" : "message too large");
        }
        return;
      }
      question = collected.join();
    }
    // A view into this packet's own plaintext (never written to): its bytes are copied into the answer or error.
    const chatId = chunk.id;
    const text = decodeUtf8(question);
    if (text === undefined) {
      this.context.drop("invalid_utf8", session.address);
      return this.context.sendError(session, ErrorCode.badRequest, chatId, "message text is not valid UTF-8");
    }
    const { maxGatewayCallsPerSession, maxGatewayCalls } = this.context.limits;
    if (session.gatewayCalls >= maxGatewayCallsPerSession || this.gatewayCalls >= maxGatewayCalls) {
      this.stats.overloaded++;
      this.context.drop(session.gatewayCalls >= maxGatewayCallsPerSession ? "session_gateway_limit" : "server_gateway_limit", session.address);
      return this.context.sendError(session, ErrorCode.overloaded, chatId, "too many requests in progress; retry when an answer arrived");
    }
    this.ask(session, key, chatId, question.length, text);
  }

  private ask(session: ServerSession, key: string, chatId: Buffer, bytesIn: number, text: string): void {
    const { clock, logger, limits } = this.context;
    session.inProgress.add(key);
    session.gatewayCalls++;
    this.gatewayCalls++;
    const release = (): void => {
      session.inProgress.delete(key);
      session.gatewayCalls--;
      this.gatewayCalls--;
    };
    const context: ChatContext = { connectionId: session.connectionId, address: session.address };
    const started = clock.now();
    this.chatHandler(text, context).then(
      (answer) => {
        release();
        if (session.terminated) return;
        const parts = encodeChatParts(chatId, answer, limits.maxChatBytes);
        const now = clock.now();
        const entry = this.remember(session.answered, key, new Outgoing(parts), now);
        this.resend(session, MessageType.chat, entry, allIndexes(parts.length), false, now);
        logger.log("info", "chat", { session: session.connectionId, address: session.address, bytes_in: bytesIn, bytes_out: chatBytes(parts), outcome: "answered", ms: now - started });
      },
      (error: unknown) => {
        release();
        logger.log("warn", "chat", { session: session.connectionId, address: session.address, bytes_in: bytesIn, outcome: "handler_failed", reason: error instanceof Error ? error.message.slice(0, 120) : "unknown" });
        this.context.sendError(session, ErrorCode.gatewayError, chatId, "the assistant is unavailable; try again later");
      },
    );
  }

  onFile(session: ServerSession, plaintext: Buffer): void {
    const message = decodeFileMessage(plaintext);
    if (!message || message.op !== "chunk") return this.context.drop("malformed", session.address);
    const { chunk } = message;
    const key = chunk.id.toString("latin1");
    const done = session.fileResults.get(key);
    if (done) return this.resend(session, MessageType.fileTransfer, done, [0]);
    if (session.inProgress.has(key)) return;
    const collected = this.collect(session, session.files, AckKind.file, chunk.id, chunk.index, chunk.count, chunk.data, this.context.limits.maxFileBytes, message.name);
    if (collected === undefined) return;
    const fileId = Buffer.from(chunk.id);
    const reply = (status: number, reason: string): void => {
      const entry = this.remember(session.fileResults, key, new Outgoing([encodeFileResult(fileId, status, reason)]));
      this.resend(session, MessageType.fileTransfer, entry, [0]);
    };
    if (!(collected instanceof Incoming)) {
      return reply(FileStatus.tooLarge, collected === "busy" ? "too many transfers in flight" : `files are limited to ${this.context.limits.maxFileBytes} bytes`);
    }
    const data = collected.join();
    session.inProgress.add(key);
    this.fileHandler({ name: collected.name ?? message.name, data }, { connectionId: session.connectionId, address: session.address }).then(
      (accepted) => {
        session.inProgress.delete(key);
        this.context.logger.log("info", "file", { session: session.connectionId, address: session.address, bytes: data.length, outcome: accepted ? "accepted" : "refused" });
        reply(accepted ? FileStatus.accepted : FileStatus.refused, accepted ? "" : "file transfer is not enabled on this server");
      },
      () => {
        session.inProgress.delete(key);
        reply(FileStatus.refused, "the file handler failed");
      },
    );
  }

  /** The client's ACK of a multi-part answer: resend only what it reports missing (§6.9). */
  onAck(session: ServerSession, plaintext: Buffer): void {
    const ack = decodeAck(plaintext);
    if (!ack) return this.context.drop("malformed", session.address);
    if (ack.kind !== AckKind.chat) return;
    const answered = session.answered.get(ack.id.toString("latin1"));
    if (answered) this.resend(session, MessageType.chat, answered, answered.outgoing.applyAck(ack.count, ack.bitmap), true);
  }

  /** Expires kept answers and stalled assemblies; `all` forgets everything (the session ends). */
  sweep(session: ServerSession, now: number, all = false): void {
    for (const cache of [session.answered, session.fileResults]) for (const [key, entry] of cache) if (all || entry.expiresAt < now) cache.delete(key);
    for (const table of [session.chats, session.files]) {
      for (const [key, incoming] of table) {
        if (!all && now - incoming.lastPartAt <= this.context.timers.assemblyTimeoutMs) continue;
        incoming.cancel(this.context.clock);
        table.delete(key);
      }
    }
  }

  private collect(session: ServerSession, table: Map<string, Incoming>, kind: AckKind, id: Buffer, index: number, count: number, data: Buffer, maxBytes: number, name?: string): Collected {
    const { clock } = this.context;
    const key = id.toString("latin1");
    let incoming = table.get(key);
    if (!incoming && count === 1 && data.length <= maxBytes) {
      // The common one-part message: complete on arrival, nothing to keep or acknowledge.
      incoming = new Incoming(1, 0, name);
      incoming.add(0, data, 0);
      return incoming;
    }
    if (!incoming) {
      if (count * CHUNK_BYTES > maxBytes + CHUNK_BYTES) return "too_large";
      if (table.size >= MAX_ASSEMBLIES) return "busy";
      incoming = new Incoming(count, clock.now(), name);
      table.set(key, incoming);
    }
    if (incoming.count !== count) return undefined;
    incoming.add(index, data, clock.now());
    if (incoming.bytes > maxBytes) {
      incoming.cancel(clock);
      table.delete(key);
      return "too_large";
    }
    const ackId = Buffer.from(id);
    const held = incoming;
    if (!incoming.complete) {
      incoming.scheduleAck(clock, this.context.timers.transfer, () => this.sendAck(session, kind, ackId, count, held.bitmap()));
      return undefined;
    }
    incoming.cancel(clock);
    table.delete(key);
    if (count > 1) this.sendAck(session, kind, ackId, count, incoming.bitmap());
    return incoming;
  }

  private sendAck(session: ServerSession, kind: AckKind, id: Buffer, count: number, bitmap: Buffer): void {
    this.context.send(session, MessageType.ack, encodeAck({ kind, id, count, bitmap }));
  }

  /**
   * Sends parts of a kept answer, paced. A repeated question within `ackRepeatMs`
   * of the last send is ignored (the answer is still in flight); an ACK always resends.
   */
  private resend(session: ServerSession, type: MessageType, entry: Answered, indexes: number[], forAck = false, now = this.context.clock.now()): void {
    if (indexes.length === 0 || (!forAck && entry.sentAt > 0 && now - entry.sentAt < this.context.timers.transfer.ackRepeatMs)) return;
    entry.sentAt = now;
    entry.outgoing.send(indexes, this.context.timers.transfer.paceParts, type, (session.sink ??= this.sinkFor(session)));
  }

  private sinkFor(session: ServerSession): PartSink {
    const context = this.context;
    return { send: (type, plaintext) => context.send(session, type, plaintext), isOpen: () => !session.terminated };
  }

  private remember(cache: Map<string, Answered>, key: string, outgoing: Outgoing, now = this.context.clock.now()): Answered {
    if (cache.size >= MAX_ANSWERED) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    const entry: Answered = { outgoing, expiresAt: now + ANSWER_CACHE_MS, sentAt: 0 };
    cache.set(key, entry);
    return entry;
  }
}

/** Bytes of text in a chat message's encoded parts (each has a 12-byte part header). */
function chatBytes(parts: ReadonlyArray<Buffer>): number {
  let bytes = 0;
  for (const part of parts) bytes += part.length - 12;
  return bytes;
}
