/**
 * The client's options (with their defaults), its events, and the CLI's
 * `--server` override parser.
 */
import { ConfigError } from "./errors";
import type { Clock } from "./clock";
import type { TransferTimers } from "./transfer";

export interface ClientOptions {
  clock?: Clock;
  /** Overrides `server_public_ip` / `server_udp_port` of the security file (e.g. behind NAT, or in tests). */
  server?: { host: string; port: number };
  /** The security file this client loaded: deleted by the compromised protocol. */
  securityFilePath?: string;
  /** HELLO retransmission. Defaults to 2,000 ms, 5 attempts. */
  handshakeRetryMs?: number;
  handshakeAttempts?: number;
  /** Chat / file retransmission while unanswered. Defaults to 3,000 ms, 20 times. */
  retransmitMs?: number;
  retransmits?: number;
  /** Keepalive PING period. Defaults to 15,000 ms (keeps NAT mappings open). */
  keepaliveMs?: number;
  /** Largest |local clock − packet timestamp| accepted. Defaults to 60,000 ms. */
  skewMs?: number;
  /** Old epoch keys still open packets this long after a key switch. Defaults to 60,000 ms. */
  previousKeyLifetimeMs?: number;
  /** ACK timing and pacing of multi-part messages (§6.9); `paceParts: Infinity` sends every part in one burst. */
  transfer?: Partial<TransferTimers>;
  /** SO_RCVBUF asked for the socket (the kernel caps it at net.core.rmem_max). Defaults to 4 MiB. */
  recvBufferBytes?: number;
}

/** What `on(...)` reports: rotations and the end of the session. No key material ever. */
export interface ClientEvents {
  portRotated: [{ port: number }];
  keyRotated: [{ epoch: number }];
  serverError: [{ code: number; text: string }];
  closed: [{ reason: string }];
}

/** Reads the CLI's `--server host:port` override. */
export function parseServerOverride(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError("server", `\`--server\` must be <host>:<port> (IPv6 as [addr]:port); got ${JSON.stringify(value)}`);
  }
  return { host: match[1] as string, port };
}
