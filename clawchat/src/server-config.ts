/**
 * The ClawChat server's options, timers and limits, with their defaults in one
 * place (protocol §7, §8, §11). Everything the server does is tuned from here.
 */
import type { Clock } from "./clock";
import type { ChatContext, ChatHandler } from "./gateway";
import type { Logger } from "./log";
import type { RateLimit } from "./rate-limit";
import { DEFAULT_TRANSFER, type TransferTimers } from "./transfer";

export interface FileContext extends ChatContext {}
/** Receives a completed file transfer; true accepts it. The default refuses every file. */
export type FileHandler = (file: { name: string; data: Buffer }, context: FileContext) => Promise<boolean>;

/** Every timer of the protocol (docs §8). Tests shorten or stretch them; hosts use the defaults. */
export interface ProtocolTimers {
  /** Port rotation interval (§7.1). Defaults to 3,600,000 ms. */
  portRotationIntervalMs: number;
  /** Announcement lead time (§7.1). Defaults to 120,000 ms. */
  announceBeforeMs: number;
  /** Both ports accepted after the switch (§7.1). Defaults to 300,000 ms. */
  graceMs: number;
  /** Key rotation after this many bytes in one epoch (§10.2). Defaults to 1 GiB. */
  rekeyBytes: number;
  /** How long an epoch's keys still open packets after the switch. Defaults to 60,000 ms. */
  previousKeyLifetimeMs: number;
  /** A session with no valid packet for this long is closed. Defaults to 180,000 ms. */
  sessionIdleMs: number;
  /** A session must send its first packet within this after WELCOME. Defaults to 30,000 ms. */
  handshakeTimeoutMs: number;
  /** Largest accepted |receiver clock − packet timestamp|. Defaults to 60,000 ms. */
  skewMs: number;
  /** Key rotation offer retransmission. Defaults to 2,000 ms, 10 times. */
  offerRetryMs: number;
  offerRetries: number;
  /** Port announcement retransmission to sessions that have not acknowledged. Defaults to 5,000 ms. */
  announceRetryMs: number;
  /** Housekeeping period (idle sessions, caches, aggregated drop logs, status file). Defaults to 10,000 ms. */
  sweepMs: number;
  /** A partly received message or file is forgotten after this long without a new part. Defaults to 60,000 ms. */
  assemblyTimeoutMs: number;
  /** ACK timing and pacing of multi-part messages (§6.9). */
  transfer: TransferTimers;
}

export const DEFAULT_TIMERS: ProtocolTimers = {
  portRotationIntervalMs: 3_600_000,
  announceBeforeMs: 120_000,
  graceMs: 300_000,
  rekeyBytes: 1024 ** 3,
  previousKeyLifetimeMs: 60_000,
  sessionIdleMs: 180_000,
  handshakeTimeoutMs: 30_000,
  skewMs: 60_000,
  offerRetryMs: 2_000,
  offerRetries: 10,
  announceRetryMs: 5_000,
  sweepMs: 10_000,
  assemblyTimeoutMs: 60_000,
  transfer: DEFAULT_TRANSFER,
};

export interface ServerLimits {
  /** Concurrent sessions (§11.2). Defaults to 100. */
  maxSessions: number;
  /** Every datagram, per source address, before any parsing. Defaults to 20,000/s, burst 40,000. */
  packets: RateLimit;
  /** HELLOs per source address, before the handshake key is tried. Defaults to 5/s, burst 20. */
  hellos: RateLimit;
  /** Largest chat message in either direction. Defaults to 256 KiB. */
  maxChatBytes: number;
  /** Largest file transfer. Defaults to 1 MiB. */
  maxFileBytes: number;
  /** Gateway (chat handler) calls running at once for one session; more are refused with error 6. Defaults to 2. */
  maxGatewayCallsPerSession: number;
  /** Gateway calls running at once for the whole server; more are refused with error 6. Defaults to 16. */
  maxGatewayCalls: number;
  /** SO_RCVBUF asked for every socket (the kernel caps it at net.core.rmem_max). Defaults to 4 MiB. */
  recvBufferBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxSessions: 100,
  packets: { perSecond: 20_000, burst: 40_000 },
  hellos: { perSecond: 5, burst: 20 },
  maxChatBytes: 256 * 1024,
  maxFileBytes: 1024 * 1024,
  maxGatewayCallsPerSession: 2,
  maxGatewayCalls: 16,
  recvBufferBytes: 4 * 1024 * 1024,
};

export interface ServerOptions {
  /** The security directory (mode 700) holding `bootstrap.key` and the `.sec` files. */
  dir: string;
  /** Defaults to 127.0.0.1 (closed by default); hosts pass 0.0.0.0 explicitly. */
  bind?: string;
  /** The home port. Defaults to `server_udp_port` of the newest security file. */
  port?: number;
  /** Data ports are drawn from this range (§7.3). Defaults to 49152-65535 (`CLAWCHAT_PORT_RANGE`, which the host firewalls open). */
  portRange?: readonly [number, number];
  clock?: Clock;
  logger?: Logger;
  /** Defaults to the OpenClaw gateway relay (`gatewayChatHandler()`). */
  chatHandler?: ChatHandler;
  fileHandler?: FileHandler;
  timers?: TimerOverrides;
  /** Where the server writes its status (sessions, drops by reason) every sweep, mode 600. Defaults to `<dir>/status.json`; `false` writes none. */
  statusFile?: string | false;
  limits?: Partial<ServerLimits>;
  /** PBKDF2 iterations of the files this server issues. Defaults to 600,000. */
  iterations?: number;
}

/** `timers` as callers give them: any subset, `transfer` merged field by field. */
export type TimerOverrides = Partial<Omit<ProtocolTimers, "transfer">> & { transfer?: Partial<TransferTimers> };

export function resolveTimers(overrides: TimerOverrides = {}): ProtocolTimers {
  return { ...DEFAULT_TIMERS, ...overrides, transfer: { ...DEFAULT_TRANSFER, ...overrides.transfer } };
}
