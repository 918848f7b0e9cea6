/**
 * Queue and worker settings: the job section of the API's configuration,
 * parsed from the variables `api/config.ts` reads once at boot.
 * Admission is by memory and by slots: each operation has an estimate (an
 * `up` runs the CLI, the language host and provider plugins, hundreds of MB),
 * and a worker only claims a job it starts at once: one whose estimate fits in
 * what its budget has left, while it has a free slot (and a free preview slot
 * for a preview).
 */
import { availableParallelism, totalmem } from "node:os";
import { ConfigError } from "../../core/errors";

/** The variables `api/config.ts` hands over (the only module that reads `process.env`). */
type Environment = Record<string, string | undefined>;
import { OPERATIONS, type Operation } from "../engine/types";

export interface QueueSettings {
  /** Memory estimate per operation, in MB. */
  memoryMb: Record<Operation, number>;
  /** Attempts per job, including the first (retryable failures and lost workers). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, with jitter. */
  retryBaseMs: number;
  /** Largest retry delay. */
  retryMaxMs: number;
}

export interface WorkerSettings {
  /** Memory this worker may commit to running jobs, in MB. */
  memoryBudgetMb: number;
  /**
   * Jobs this worker runs at once, whatever their memory (`CLAWSTACK_WORKER_SLOTS`,
   * default two per CPU core: an operation spends much of its time waiting on the cloud).
   */
  slots: number;
  /**
   * Previews this worker runs at once (`CLAWSTACK_WORKER_PREVIEW_SLOTS`, default 1): the
   * offline synth behind every preview runs one at a time per process
   * (`api/engine/plan.ts`), so a second claimed preview would only wait while
   * holding its lease, and after a crash every such job would wait a full lease.
   */
  previewSlots: number;
  /** How long a claim stays valid without a heartbeat. */
  leaseMs: number;
  /** Heartbeat period (a third of the lease). */
  heartbeatMs: number;
  /** How often an idle worker looks for work. */
  pollMs: number;
}

export const DEFAULT_MEMORY_MB: Record<Operation, number> = { up: 600, refresh: 400, destroy: 400, preview: 150 };

export function loadQueueSettings(env: Environment): QueueSettings {
  return {
    memoryMb: parseMemoryEstimates(env.CLAWSTACK_JOB_MEMORY_MB),
    maxAttempts: integer(env, "CLAWSTACK_JOB_MAX_ATTEMPTS", 3, 1, 20),
    retryBaseMs: integer(env, "CLAWSTACK_JOB_RETRY_BASE_MS", 5_000, 10, 3_600_000),
    retryMaxMs: integer(env, "CLAWSTACK_JOB_RETRY_MAX_MS", 300_000, 10, 86_400_000),
  };
}

export function loadWorkerSettings(env: Environment): WorkerSettings {
  const defaultBudget = Math.max(DEFAULT_MEMORY_MB.up, Math.floor((totalmem() / 1024 / 1024) * 0.5));
  const leaseMs = integer(env, "CLAWSTACK_JOB_LEASE_MS", 30_000, 300, 3_600_000);
  return {
    memoryBudgetMb: integer(env, "CLAWSTACK_WORKER_MEMORY_MB", defaultBudget, 64, 1_048_576),
    slots: integer(env, "CLAWSTACK_WORKER_SLOTS", Math.max(2, availableParallelism() * 2), 1, 1_000),
    previewSlots: integer(env, "CLAWSTACK_WORKER_PREVIEW_SLOTS", 1, 1, 1_000),
    leaseMs,
    heartbeatMs: Math.max(100, Math.floor(leaseMs / 3)),
    pollMs: integer(env, "CLAWSTACK_WORKER_POLL_MS", 500, 10, 60_000),
  };
}

/** `up=600,preview=150`: operations not named keep their default. */
export function parseMemoryEstimates(value: string | undefined): Record<Operation, number> {
  const result = { ...DEFAULT_MEMORY_MB };
  if (!value) return result;
  for (const entry of value.split(",").map((part) => part.trim()).filter(Boolean)) {
    const match = /^([a-z]+)=(\d+)$/.exec(entry);
    const operation = match?.[1] as Operation | undefined;
    if (!match || !operation || !OPERATIONS.includes(operation) || Number(match[2]) < 1) {
      throw new ConfigError(
        "CLAWSTACK_JOB_MEMORY_MB",
        `\`CLAWSTACK_JOB_MEMORY_MB\`: each entry must be <operation>=<MB> with operation one of ${OPERATIONS.join(", ")}; given \`${entry}\``,
      );
    }
    result[operation] = Number(match[2]);
  }
  return result;
}

function integer(env: Environment, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `\`${key}\` must be an integer from ${min} to ${max}; given \`${raw}\``);
  }
  return value;
}

export interface JobsSettings {
  queue: QueueSettings;
  worker: WorkerSettings;
  /**
   * Whether the API process runs a worker itself: `auto` (the default) runs
   * one on SQLite only, where it must be the only worker; on PostgreSQL
   * workers run as `npm run worker`, as many as wanted.
   */
  embeddedWorker: "auto" | "on" | "off";
  /**
   * The API's public https:// base URL hosts call back at first boot
   * (`CLAWSTACK_PUBLIC_URL`). Unset: no registration step in user-data.
   */
  publicUrl: string | undefined;
  /** How often a worker runs the DigitalOcean volume snapshot sweep (`CLAWSTACK_SNAPSHOT_INTERVAL_MS`); 0: never. */
  snapshotIntervalMs: number;
  /**
   * How often a worker runs the support grants' cloud firewall sweep (`CLAWSTACK_SUPPORT_FIREWALL_INTERVAL_MS`,
   * default 60 s, 5 s to 1 h): it closes ended grants' SSH rules and retries failed closes. Not switchable off.
   */
  supportFirewallIntervalMs: number;
}

export function loadJobsSettings(env: Environment): JobsSettings {
  const embedded = env.CLAWSTACK_EMBEDDED_WORKER ?? "auto";
  if (embedded !== "auto" && embedded !== "on" && embedded !== "off") {
    throw new ConfigError("CLAWSTACK_EMBEDDED_WORKER", `\`CLAWSTACK_EMBEDDED_WORKER\` must be auto, on or off; given \`${embedded}\``);
  }
  const publicUrl = env.CLAWSTACK_PUBLIC_URL?.replace(/\/+$/, "") || undefined;
  if (publicUrl !== undefined && !/^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/.test(publicUrl)) {
    throw new ConfigError(
      "CLAWSTACK_PUBLIC_URL",
      `\`CLAWSTACK_PUBLIC_URL\` must be an https:// URL the hosts can reach (registration runs over TLS only); given \`${publicUrl}\``,
    );
  }
  return {
    queue: loadQueueSettings(env),
    worker: loadWorkerSettings(env),
    embeddedWorker: embedded,
    publicUrl,
    snapshotIntervalMs: env.CLAWSTACK_SNAPSHOT_INTERVAL_MS === "0" ? 0 : integer(env, "CLAWSTACK_SNAPSHOT_INTERVAL_MS", 3_600_000, 60_000, 86_400_000),
    supportFirewallIntervalMs: integer(env, "CLAWSTACK_SUPPORT_FIREWALL_INTERVAL_MS", 60_000, 5_000, 3_600_000),
  };
}
