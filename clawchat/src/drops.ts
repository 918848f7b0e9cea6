/**
 * Every dropped packet, counted by reason (totals since start) and by source
 * address and reason per period, for one aggregated `packets_dropped` log line
 * per pair at each sweep (§11.3). The per-period table is bounded: pairs beyond
 * 1,024 are counted under the address `other`.
 */
import type { Logger } from "./log";

const MAX_PAIRS = 1024;

export class DropCounter {
  /** Totals by reason since the server started (also in `stats.dropped` and the status file). */
  readonly totals: Record<string, number> = {};
  private readonly period = new Map<string, number>();

  count(reason: string, address: string): void {
    this.totals[reason] = (this.totals[reason] ?? 0) + 1;
    let key = `${address}|${reason}`;
    if (!this.period.has(key) && this.period.size >= MAX_PAIRS) key = `other|${reason}`;
    this.period.set(key, (this.period.get(key) ?? 0) + 1);
  }

  /** Logs and clears the period's counts: one warn line per (address, reason). */
  flush(logger: Logger): void {
    for (const [key, count] of this.period) {
      const split = key.lastIndexOf("|");
      logger.log("warn", "packets_dropped", { address: key.slice(0, split), reason: key.slice(split + 1), count });
    }
    this.period.clear();
  }
}
