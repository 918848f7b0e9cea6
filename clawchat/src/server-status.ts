/**
 * The server's status for operators (`clawchat status`): counts only, never
 * content or keys, written every sweep to a file of mode 600, replaced atomically.
 */
import { promises as fs } from "node:fs";
import type { Logger } from "./log";
import type { ServerStats } from "./server-session";

/** What `status()` and the status file report: counts only, never content or keys. */
export interface ServerStatus {
  time: string;
  uptime_s: number;
  home_port: number;
  data_ports: number[];
  sessions: number;
  gateway_calls: number;
  handshakes: number;
  refused: number;
  overloaded: number;
  received: number;
  sent: number;
  dropped: Record<string, number>;
  /** The AES-256-GCM backend sealing session packets (`openssl-context` or `node-crypto`). */
  aead: string;
}

/** The status at `now` from the server's counters and what it has open. */
export function statusOf(now: number, startedAt: number, stats: ServerStats, open: { home: number; data: number[]; sessions: number; gatewayCalls: number; aead: string }): ServerStatus {
  const { received, sent, handshakes, refused, overloaded } = stats;
  return {
    time: new Date(now).toISOString(),
    uptime_s: Math.round((now - startedAt) / 1000),
    home_port: open.home,
    data_ports: open.data,
    sessions: open.sessions,
    gateway_calls: open.gatewayCalls,
    handshakes,
    refused,
    overloaded,
    received,
    sent,
    dropped: { ...stats.dropped },
    aead: open.aead,
  };
}

export class StatusFile {
  private writing = false;
  private closed = false;

  constructor(
    private readonly path: string | false,
    private readonly logger: Logger,
  ) {}

  /** Writes in the background; a write in progress skips this one; a failure is logged, never thrown. */
  write(status: ServerStatus): void {
    if (this.path === false || this.writing || this.closed) return;
    this.writing = true;
    const path = this.path;
    const temporary = `${path}.${process.pid}.tmp`;
    fs.writeFile(temporary, `${JSON.stringify(status)}\n`, { mode: 0o600 })
      .then(() => fs.rename(temporary, path))
      .catch((error: unknown) => {
        if (!this.closed) this.logger.log("warn", "status_write_failed", { reason: error instanceof Error ? error.message : "unknown" });
      })
      .finally(() => {
        this.writing = false;
      });
  }

  close(): void {
    this.closed = true;
  }
}
