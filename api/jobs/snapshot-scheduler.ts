/**
 * The snapshot scheduler for DigitalOcean state volumes: DigitalOcean has no
 * schedule for block storage, so every worker runs the snapshot sweep
 * (`runtime/digitalocean-volume-job.ts`) for each user with a
 * live DigitalOcean instance, every `CLAWSTACK_SNAPSHOT_INTERVAL_MS` (default
 * one hour; 0 turns it off). Every worker keeps the timer, but each interval
 * slot is claimed in `scheduler_runs` first, so one worker sweeps per slot
 * however many run (the sweep itself is idempotent per snapshot slot too, so a
 * worker that dies mid-sweep costs at most that slot's retry).
 * The user's token is decrypted for the sweep only and never logged.
 */
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import { runDigitalOceanVolumeSnapshotSweep } from "../../runtime/digitalocean-volume-job";
import type { Database } from "../db/schema";
import type { CredentialProvider } from "./credentials";
import { listInstanceOwners } from "./instances-repo";
import { runInSlot, SlotTimer } from "./scheduler-slot";
import type { WorkerLogger } from "./worker";

export type SnapshotSweep = (params: { token: string; now?: Date }) => Promise<{
  results: readonly unknown[];
  failures: readonly { volumeName: string; error: Error }[];
}>;

export interface SnapshotSchedulerOptions {
  db: Kysely<Database>;
  credentials: CredentialProvider;
  intervalMs: number;
  logger: WorkerLogger;
  /** The sweep to run (tests pass a recorder); default: the DigitalOcean API. */
  sweep?: SnapshotSweep;
}

const TASK = "digitalocean-snapshot-sweep";
const DEFAULT_HOLDER = `${hostname()}-${process.pid}`;

/** Instances whose volumes exist: everything but never-provisioned and destroyed ones. */
const LIVE_STATUSES = ["ready", "refreshing", "provisioning", "destroying", "failed"] as const;

export class SnapshotScheduler {
  private readonly timer: SlotTimer<{ users: number; snapshots: number; failures: number } | undefined>;
  private readonly sweep: SnapshotSweep;

  constructor(private readonly options: SnapshotSchedulerOptions) {
    this.sweep = options.sweep ?? ((params) => runDigitalOceanVolumeSnapshotSweep(params));
    this.timer = new SlotTimer(options.intervalMs, () => this.runSlot(), {
      done: (summary) => (summary ? options.logger.info(summary, "snapshot sweep done") : options.logger.info({}, "snapshot slot taken by another worker")),
      crashed: (error) => options.logger.error({ err: String(error) }, "snapshot sweep crashed"),
    });
  }

  /** One pass over every user with a live DigitalOcean instance. Failures are per user. */
  async runOnce(now = new Date()): Promise<{ users: number; snapshots: number; failures: number }> {
    const owners = await listInstanceOwners(this.options.db, "digitalocean", LIVE_STATUSES);
    const seen = new Set<string>();
    let snapshots = 0;
    let failures = 0;
    for (const owner of owners) {
      // One sweep per user covers every volume their token can see.
      if (seen.has(owner.user_id)) continue;
      seen.add(owner.user_id);
      try {
        const credentials = await this.options.credentials.forJob({
          userId: owner.user_id,
          cloud: "digitalocean",
          region: owner.region,
          jobId: "snapshot-sweep",
          credentialId: owner.credential_id,
        });
        const token = credentials.env.DIGITALOCEAN_TOKEN;
        if (!token) throw new Error("no DigitalOcean token");
        const result = await this.sweep({ token, now });
        snapshots += result.results.length;
        failures += result.failures.length;
        for (const failure of result.failures) {
          this.options.logger.warn({ userId: owner.user_id, volume: failure.volumeName, err: failure.error.message }, "volume snapshot failed");
        }
      } catch (error) {
        failures += 1;
        this.options.logger.warn({ userId: owner.user_id, err: error instanceof Error ? error.message : String(error) }, "snapshot sweep failed");
      }
    }
    return { users: seen.size, snapshots, failures };
  }

  /**
   * Claims the interval slot of `now` for this worker and sweeps if the claim
   * won; undefined when another worker has the slot. Rows older than a week go.
   */
  async runSlot(now = new Date(), holder = DEFAULT_HOLDER): Promise<{ users: number; snapshots: number; failures: number } | undefined> {
    const { db, intervalMs } = this.options;
    return runInSlot({ db, task: TASK, intervalMs, keepMs: 7 * 86_400_000 }, now, holder, () => this.runOnce(now));
  }

  start(): void {
    this.timer.start();
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }
}
