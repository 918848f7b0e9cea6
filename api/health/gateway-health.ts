/**
 * Gateway health: every `CLAWSTACK_HEALTH_INTERVAL_MS` (default 60 s; 0 turns
 * it off) a worker asks each registered instance's gateway `GET /readyz`
 * through the same pinned TLS the proxy uses, and records on the instance
 * its status (`up`, `down`, `cert_mismatch`), when it was checked, when it
 * last answered ready, the round trip and the certificate state. Every worker
 * keeps the timer, but each interval slot is claimed in `scheduler_runs`
 * first (as the snapshot sweep does), so one worker checks per slot however
 * many run. Each change of status is audited (`instance.health.<status>`,
 * actor `system`). A certificate that no longer matches the registered one is
 * an alarm (logged at error level with both fingerprints, audited), never
 * re-pinned: only the host's registration changes a pin.
 */
import { hostname } from "node:os";
import { request as httpsRequest } from "node:https";
import type { Kysely } from "kysely";
import { AuditLog } from "../audit/audit-log";
import { type CertState, type Database, type HealthStatus, withHealth } from "../db/schema";
import { runInSlot, SlotTimer } from "../jobs/scheduler-slot";
import type { WorkerLogger } from "../jobs/worker";
import { connectPinned, PinnedConnectError } from "../proxy/pinned-tls";
import { gatewayAddress } from "../proxy/target";
import { type HealthObservation, listHealthTargets, recordHealth } from "./health-repo";

export type { HealthObservation };

const TASK = "gateway-health";
const DEFAULT_HOLDER = `${hostname()}-${process.pid}`;
/** Instances checked at once. */
const CONCURRENCY = 8;

export interface GatewayHealthOptions {
  db: Kysely<Database>;
  intervalMs: number;
  logger: WorkerLogger;
  /** Per gateway, TLS handshake and answer together (default 5 s). */
  timeoutMs?: number;
  /** Run when an instance's gateway comes up (the proxy device's pairing probe, docs/proxy.md); its outcome is logged. */
  onUp?: (instanceId: string) => Promise<string>;
}

/** One readiness probe over pinned TLS. Pure of the database: tests call it directly. */
export async function probeGateway(target: { host: string; port: number; sha256: string }, timeoutMs: number): Promise<HealthObservation> {
  const started = performance.now();
  let socket;
  try {
    socket = await connectPinned(target, timeoutMs);
  } catch (error) {
    if (error instanceof PinnedConnectError && error.reason === "certificate_mismatch") {
      return { status: "cert_mismatch", latencyMs: null, certState: "mismatch", presentedSha256: error.presentedSha256 ?? null };
    }
    return { status: "down", latencyMs: null, certState: null, presentedSha256: null };
  }
  const pinned = socket;
  const status = await new Promise<number>((resolve) => {
    const request = httpsRequest(
      { host: target.host, port: target.port, method: "GET", path: "/readyz", createConnection: () => pinned, timeout: timeoutMs, headers: { connection: "close" } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(0));
    request.end();
  });
  pinned.destroy();
  const latencyMs = Math.round(performance.now() - started);
  return status === 200 ? { status: "up", latencyMs, certState: "match", presentedSha256: null } : { status: "down", latencyMs: null, certState: "match", presentedSha256: null };
}

export class GatewayHealthChecker {
  private readonly timer: SlotTimer<Awaited<ReturnType<GatewayHealthChecker["runOnce"]>> | undefined>;
  private readonly audit: AuditLog;

  constructor(private readonly options: GatewayHealthOptions) {
    this.audit = new AuditLog(options.db);
    this.timer = new SlotTimer(options.intervalMs, () => this.runSlot(), {
      done: (summary) => {
        if (summary) options.logger.info(summary, "gateway health checked");
      },
      crashed: (error) => options.logger.error({ err: error instanceof Error ? error.message : String(error) }, "gateway health check crashed"),
    });
  }

  /** Checks every registered, not destroyed instance once. */
  async runOnce(now = new Date()): Promise<{ checked: number; up: number; down: number; certMismatch: number }> {
    const instances = await listHealthTargets(this.options.db);
    const counts = { checked: 0, up: 0, down: 0, certMismatch: 0 };
    const queue = [...instances];
    const work = async () => {
      for (let instance = queue.shift(); instance; instance = queue.shift()) {
        const address = gatewayAddress(instance.outputs);
        if (!address || !instance.tls_fingerprint) continue;
        const seen = await probeGateway({ ...address, sha256: instance.tls_fingerprint }, this.options.timeoutMs ?? 5_000);
        counts.checked += 1;
        if (seen.status === "up") counts.up += 1;
        else if (seen.status === "down") counts.down += 1;
        else counts.certMismatch += 1;
        await this.record(instance, seen, now);
        if (seen.status === "up" && instance.health_status !== "up" && this.options.onUp) {
          const outcome = await this.options.onUp(instance.id).catch(() => "failed");
          this.options.logger.info({ event: "proxy_device_pairing", instanceId: instance.id, outcome }, "proxy device pairing probed");
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, work));
    return counts;
  }

  private async record(
    instance: { id: string; user_id: string; health_status: HealthStatus },
    seen: HealthObservation,
    now: Date,
  ): Promise<void> {
    const at = now.toISOString();
    await this.options.db.transaction().execute(async (trx) => {
      await recordHealth(trx, instance.id, seen, at);
      if (instance.health_status === seen.status) return;
      await this.audit.record(
        {
          action: `instance.health.${seen.status}`,
          result: seen.status === "up" ? "ok" : "error",
          actorKind: "system",
          target: instance.id,
          latencyMs: seen.latencyMs ?? 0,
        },
        trx,
      );
    });
    if (seen.status === "cert_mismatch") {
      this.options.logger.error(
        { event: "gateway_certificate_mismatch", instanceId: instance.id, userId: instance.user_id, presentedSha256: seen.presentedSha256 },
        "ALARM: the gateway presents a certificate other than the registered one; not re-pinned",
      );
    } else if (instance.health_status !== seen.status) {
      this.options.logger.info({ event: "gateway_health", instanceId: instance.id, from: instance.health_status, to: seen.status }, "gateway health changed");
    }
  }

  /** Claims the interval slot of `now` and checks if the claim won; undefined when another worker has it. */
  async runSlot(now = new Date(), holder = DEFAULT_HOLDER): Promise<Awaited<ReturnType<GatewayHealthChecker["runOnce"]>> | undefined> {
    const { db, intervalMs } = this.options;
    return runInSlot({ db, task: TASK, intervalMs, keepMs: 86_400_000 }, now, holder, () => this.runOnce(now));
  }

  start(): void {
    this.timer.start();
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }
}
