/**
 * The open pass-through connections of this API process (and nothing more:
 * no other process knows them, none is in shared state). It enforces the
 * per-user and per-process caps, runs one sweep for idle timeouts and pings
 * (one timer for every connection, not one per connection), and one for
 * revocation: every `revocationCheckMs` it reads, in a few batched queries,
 * whether each connection's account was signed out everywhere (or deleted),
 * its API key revoked, or its instance deleted, and closes those it must.
 * The database is the one source of truth, so a sign-out or a deletion made
 * through any API process closes the connections held by every process.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import type { CloseReason } from "./close-codes";
import type { GatewayBridge } from "./gateway-bridge";
import { readRevocationFacts } from "./revocation-repo";
import type { ProxySettings } from "./settings";

export class ProxyConnections {
  private readonly open = new Set<GatewayBridge>();
  private readonly perUser = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private revocationTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly settings: ProxySettings,
    private readonly onCheckFailed: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** The open connections (read-only view, for metrics and tests). */
  list(): readonly GatewayBridge[] {
    return [...this.open];
  }

  /** Why a new connection of `userId` is refused now, or undefined. */
  refusal(userId: string): CloseReason | undefined {
    if (this.open.size >= this.settings.maxConnections) return "tooManyConnections";
    if ((this.perUser.get(userId) ?? 0) >= this.settings.maxConnectionsPerUser) return "tooManyConnections";
    return undefined;
  }

  add(bridge: GatewayBridge): void {
    this.open.add(bridge);
    this.perUser.set(bridge.meta.userId, (this.perUser.get(bridge.meta.userId) ?? 0) + 1);
    this.start();
  }

  remove(bridge: GatewayBridge): void {
    if (!this.open.delete(bridge)) return;
    const left = (this.perUser.get(bridge.meta.userId) ?? 1) - 1;
    if (left <= 0) this.perUser.delete(bridge.meta.userId);
    else this.perUser.set(bridge.meta.userId, left);
  }

  /** Closes every connection matching `which` with `reason`. Returns how many. */
  closeWhere(which: (bridge: GatewayBridge) => boolean, reason: CloseReason): number {
    let closed = 0;
    for (const bridge of [...this.open]) {
      if (which(bridge)) {
        bridge.close(reason);
        closed += 1;
      }
    }
    return closed;
  }

  /** One revocation pass over every open connection (also run on its timer). */
  async checkRevocations(now = new Date()): Promise<void> {
    if (this.open.size === 0) return;
    const bridges = [...this.open];
    const userIds = [...new Set(bridges.map((b) => b.meta.userId))];
    const instanceIds = [...new Set(bridges.map((b) => b.meta.instanceId))];
    const keyIds = [...new Set(bridges.map((b) => b.meta.apiKeyId).filter((id): id is string => id !== null))];
    const { users, keys, instances, beingDestroyed } = await readRevocationFacts(this.db, { userIds, keyIds, instanceIds });
    const at = now.toISOString();
    for (const bridge of bridges) {
      const user = users.get(bridge.meta.userId);
      const key = bridge.meta.apiKeyId ? keys.get(bridge.meta.apiKeyId) : undefined;
      const revoked =
        !user ||
        (user.tokens_valid_after != null && user.tokens_valid_after > bridge.meta.issuedAt) ||
        (bridge.meta.apiKeyId !== null && (!key || key.revoked_at !== null || (key.expires_at !== null && key.expires_at <= at)));
      if (revoked) {
        bridge.close("sessionRevoked");
        continue;
      }
      const instance = instances.get(bridge.meta.instanceId);
      if (!instance || instance.status === "destroying" || instance.status === "destroyed" || instance.registered_at === null || beingDestroyed.has(instance.id)) {
        bridge.close("instanceDeleted");
      }
    }
  }

  private start(): void {
    if (this.sweepTimer) return;
    const sweepMs = Math.min(this.settings.pingIntervalMs, Math.max(100, Math.floor(this.settings.idleTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const bridge of this.open) bridge.tick(now);
    }, sweepMs);
    this.sweepTimer.unref();
    this.revocationTimer = setInterval(() => {
      this.checking ??= this.checkRevocations()
        .catch((error: unknown) => this.onCheckFailed(error))
        .finally(() => {
          this.checking = undefined;
        });
    }, this.settings.revocationCheckMs);
    this.revocationTimer.unref();
  }

  /** Closes every connection (`1001`: reconnect elsewhere) and stops the timers. */
  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.revocationTimer);
    this.sweepTimer = undefined;
    this.revocationTimer = undefined;
    this.closeWhere(() => true, "shuttingDown");
    await this.checking;
  }
}
