/**
 * What the server keeps per session (keys and replay state live in
 * `EpochKeys`), and the small context every server module works through:
 * the clock, the log, timers, limits, sending, drop counting.
 */
import type { Socket } from "node:dgram";
import type { EpochKeys } from "./channel";
import type { Clock, TimerHandle } from "./clock";
import type { EphemeralKey } from "./keys";
import type { Logger } from "./log";
import type { PresenceName } from "./messages";
import type { ProtocolTimers, ServerLimits } from "./server-config";
import type { Incoming, Outgoing, PartSink } from "./transfer";
import type { MessageType } from "./wire";

/** An answer kept for a repeated question (§6.1): sent again, never asked again. */
export interface Answered {
  readonly outgoing: Outgoing;
  readonly expiresAt: number;
  /** When parts of it were last sent (0: not yet). */
  sentAt: number;
}

export interface PendingRotation {
  readonly epoch: number;
  readonly ephemeral: EphemeralKey;
  readonly timestampMs: number;
  tries: number;
  timer?: TimerHandle;
}

export interface ServerSession {
  readonly id: Buffer;
  readonly key: string;
  readonly connectionId: string;
  readonly sharedSecret: Buffer;
  readonly startedAt: number;
  address: string;
  port: number;
  socket: Socket;
  current: EpochKeys;
  previous?: EpochKeys;
  previousTimer?: TimerHandle;
  pending?: PendingRotation;
  lastConfirmAt: number;
  established: boolean;
  lastSeen: number;
  bytesIn: number;
  bytesOut: number;
  presence: PresenceName;
  acknowledgedRotation: number;
  terminated: boolean;
  /** Gateway calls running for this session (bounded by `maxGatewayCallsPerSession`). */
  gatewayCalls: number;
  readonly chats: Map<string, Incoming>;
  readonly inProgress: Set<string>;
  readonly answered: Map<string, Answered>;
  readonly files: Map<string, Incoming>;
  readonly fileResults: Map<string, Answered>;
  /** Where the relay sends answer parts: this session while it lasts (made on first use, one per session). */
  sink?: PartSink;
}

export function newSession(fields: Pick<ServerSession, "id" | "connectionId" | "sharedSecret" | "startedAt" | "address" | "port" | "socket" | "current" | "acknowledgedRotation">): ServerSession {
  return {
    ...fields,
    key: fields.id.toString("latin1"),
    lastConfirmAt: 0,
    established: false,
    lastSeen: fields.startedAt,
    bytesIn: 0,
    bytesOut: 0,
    presence: "online",
    terminated: false,
    gatewayCalls: 0,
    chats: new Map(),
    inProgress: new Set(),
    answered: new Map(),
    files: new Map(),
    fileResults: new Map(),
  };
}

export interface ServerStats {
  received: number;
  sent: number;
  /** Every dropped packet by reason, since the server started. */
  dropped: Record<string, number>;
  handshakes: number;
  refused: number;
  /** Requests refused because the gateway-call limits were reached (error 6). */
  overloaded: number;
}

/** The server facilities the handshake, relay, rotation and compromise modules use. */
export interface ServerContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: ProtocolTimers;
  readonly limits: ServerLimits;
  /** A timer cancelled when the server closes. */
  arm(callback: () => void, delayMs: number): TimerHandle;
  disarm(handle: TimerHandle | undefined): void;
  /** Seals under the session's current epoch and sends from its data socket. */
  send(session: ServerSession, type: MessageType, plaintext: Buffer): void;
  sendError(session: ServerSession, code: number, reference: Buffer | undefined, text: string): void;
  /** Counts a dropped packet by reason (and source address, for the aggregated log line). */
  drop(reason: string, address: string): void;
  dropSession(session: ServerSession, reason: string): void;
}
