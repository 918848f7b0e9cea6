/**
 * The compromised protocol on the server (protocol §9): verify the signed
 * signal, re-issue the security file, acknowledge (signed), drop every
 * session, and answer a repeated signal with the same acknowledgement for 10 s.
 * The signal's `reason` is user text: only its length is logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:dgram";
import type { EpochKeys } from "./channel";
import { signFields, wipe } from "./keys";
import { ackSignatureFields, parseJsonObject, signalSignatureFields, type CompromisedAck } from "./control-messages";
import { ErrorCode } from "./messages";
import type { ServerContext, ServerSession } from "./server-session";
import type { SecurityFiles } from "./server-security";
import { MessageType } from "./wire";

const MAX_TOMBSTONES = 16;

interface Tombstone {
  readonly ack: Buffer;
  readonly socket: Socket;
  readonly expiresAt: number;
}

export interface CompromiseTarget {
  readonly sessions: Map<string, ServerSession>;
  readonly security: SecurityFiles;
  /** The socket the ack leaves from (the session's data socket, or the current one). */
  replySocket(session: ServerSession): Socket;
  transmit(socket: Socket, datagram: Buffer, address: string, port: number): void;
  /** After the new file is in place: forget HELLO IDs of the old secret. */
  onRevoked(): void;
}

export class Compromise {
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly context: ServerContext,
    private readonly target: CompromiseTarget,
  ) {}

  /** A repeated signal (its ack was lost) gets the same ack, even though its session is gone. */
  replayAck(datagram: Buffer, address: string, port: number): boolean {
    if (this.tombstones.size === 0 || ((datagram[25] ?? 0) & 0x0f) !== MessageType.compromised) return false;
    const tombstone = this.tombstones.get(createHash("sha256").update(datagram).digest("base64"));
    if (!tombstone || tombstone.expiresAt <= this.context.clock.now()) return false;
    this.target.transmit(tombstone.socket, tombstone.ack, address, port);
    return true;
  }

  sweep(now: number): void {
    this.warned.clear();
    for (const [key, tombstone] of this.tombstones) if (tombstone.expiresAt < now) this.tombstones.delete(key);
  }

  /** Counted as a drop; logged as a security event once per session and kind per sweep period (a flood stays one line). */
  private refuse(session: ServerSession, kind: string, reason: string): void {
    this.context.drop(reason, session.address);
    const key = `${session.key}|${kind}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.context.logger.log("warn", "security_event", { kind, session: session.connectionId, address: session.address });
  }

  onSignal(session: ServerSession, keys: EpochKeys, plaintext: Buffer, datagram: Buffer): void {
    const body = parseJsonObject(plaintext);
    const { type, version, signal, timestamp, connection_id: connectionId, reason, signature } = body ?? {};
    if (type !== "compromised" || version !== "2.0" || signal !== "CLAWCHAT_COMPROMISED_V2" || typeof timestamp !== "number" || connectionId !== session.connectionId || typeof reason !== "string" || typeof signature !== "string") {
      return this.refuse(session, "compromised_signal_malformed", "malformed");
    }
    const expected = Buffer.from(signFields(keys.keys.macKey, signalSignatureFields({ type, version, signal, timestamp, connection_id: connectionId, reason })), "utf8");
    const given = Buffer.from(signature, "utf8");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return this.refuse(session, "compromised_signal_bad_signature", "signature");
    this.context.logger.log("warn", "security_event", { kind: "compromised_signal", session: session.connectionId, address: session.address, port: session.port, reason_bytes: Buffer.byteLength(reason) });
    const macKey = Buffer.from(keys.keys.macKey);
    const reply = { address: session.address, port: session.port, socket: this.target.replySocket(session), current: session.current, id: session.id };
    for (const other of this.target.sessions.values()) other.terminated = true;
    this.target.security.enqueue(async () => {
      await this.target.security.reissue("compromised");
      const now = this.context.clock.now();
      const unsigned: Omit<CompromisedAck, "signature"> = { type: "compromised_ack", version: "2.0", timestamp: Math.floor(now / 1000), connection_id: session.connectionId, action: "keys_deleted", new_file_ready: true };
      const ack: CompromisedAck = { ...unsigned, signature: signFields(macKey, ackSignatureFields(unsigned)) };
      wipe(macKey);
      const ackDatagram = reply.current.seal(reply.id, now, MessageType.compromisedAck, Buffer.from(JSON.stringify(ack), "utf8"));
      this.target.transmit(reply.socket, ackDatagram, reply.address, reply.port);
      if (this.tombstones.size >= MAX_TOMBSTONES) this.tombstones.clear();
      this.tombstones.set(createHash("sha256").update(datagram).digest("base64"), { ack: ackDatagram, socket: reply.socket, expiresAt: now + 10_000 });
      for (const other of [...this.target.sessions.values()]) {
        if (other !== session) {
          other.terminated = false;
          this.context.sendError(other, ErrorCode.sessionTerminated, undefined, "security event: all keys revoked; load the new security file");
        }
        this.context.dropSession(other, "compromised");
      }
      this.target.onRevoked();
    });
  }
}
