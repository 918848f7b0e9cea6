/**
 * A job worker: claims jobs it can start at once (a free slot, memory left in
 * its budget, a free preview slot for a preview), runs each through the
 * engine with a heartbeat on its lease, stores progress as job events, and
 * finishes, retries (retryable failures only, exponential backoff) or cancels.
 * Many workers may share one PostgreSQL database; on SQLite one worker runs
 * inside the API process.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Database, Instance, InstanceStatus, Job } from "../db/schema";
import { type PowerOptions, PowerError, runPowerAction } from "../engine/power";
import { listStateSnapshots, StateSnapshotsError } from "../engine/state-snapshots";
import {
  EngineError,
  type Engine,
  type JobOperation,
  type SnapshotsOperation,
  type StackSpec,
  isPowerOperation,
  isSupportFirewallOperation,
  type SupportFirewallOperation,
} from "../engine/types";
import { cloudFirewallFailure, failCloudFirewallJob, runCloudFirewallJob } from "../support/cloud-firewall";
import type { ConfigPreparer } from "../engine/preparer";
import { stackWorkDir, type StackLayout } from "../stacks/layout";
import type { CredentialProvider } from "./credentials";
import { JobEventWriter } from "./events";
import { getInstance, setInstanceStatus } from "./instances-repo";
import {
  claimJob,
  clearTakeover,
  finishJob,
  locksStack,
  requeueJob,
  retryDelayMs,
  type Dialect,
  type FinishRequest,
  heartbeat,
} from "./queue";
import { createRedactor } from "./redact";
import type { QueueSettings, WorkerSettings } from "./settings";

export interface WorkerLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

export interface JobWorkerOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  engine: Engine;
  layout: Pick<StackLayout, "stacksDir" | "secretEnv">;
  credentials: CredentialProvider;
  worker: WorkerSettings;
  queue: QueueSettings;
  /** Stable id of this worker in leases and logs. Default `<hostname>-<pid>-<random>`. */
  workerId?: string;
  prepareConfig?: ConfigPreparer;
  logger?: WorkerLogger;
  /** Power, support-firewall and snapshots jobs' cloud endpoints and waits (tests point them at stand-ins). */
  power?: PowerOptions;
}

const RUNNING_STATUS: Record<Exclude<JobOperation, "preview" | SupportFirewallOperation | SnapshotsOperation>, InstanceStatus> = {
  up: "provisioning",
  refresh: "refreshing",
  destroy: "destroying",
  stop: "stopping",
  start: "starting",
  reboot: "rebooting",
};

const SILENT: WorkerLogger = { info() {}, warn() {}, error() {} };

interface RunningJob {
  job: Job;
  controller: AbortController;
  done: Promise<void>;
}

export class JobWorker {
  readonly workerId: string;
  private readonly running = new Map<string, RunningJob>();
  private readonly logger: WorkerLogger;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private peakMemoryMb = 0;

  constructor(private readonly options: JobWorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.logger = options.logger ?? SILENT;
  }

  start(): void {
    if (this.loopDone) return;
    this.stopping = false;
    this.loopDone = this.loop();
  }

  /** Looks for work now instead of at the next poll (the API calls it after enqueueing). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs` (default:
   * no limit), then aborts the rest: their leases expire and another worker
   * (or this one after a restart) takes them over. `abort: true` is `graceMs: 0`.
   */
  async stop(options: { abort?: boolean; graceMs?: number } = {}): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    const graceMs = options.abort ? 0 : options.graceMs;
    const all = Promise.all([...this.running.values()].map((entry) => entry.done));
    if (graceMs !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) for (const entry of this.running.values()) entry.controller.abort("shutdown");
    }
    await all;
    this.loopDone = undefined;
  }

  /** Aborts a job this worker runs now (a cancel request seen by this process); others see it at their next heartbeat. */
  cancelLocal(jobId: string): boolean {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.controller.abort("cancel");
    return true;
  }

  /** Jobs this worker is running now. */
  get runningJobs(): number {
    return this.running.size;
  }

  get committedMemoryMb(): number {
    let total = 0;
    for (const entry of this.running.values()) total += entry.job.memory_mb;
    return total;
  }

  /** Highest memory committed at once since start (for benchmarks and admission checks). */
  get peakCommittedMemoryMb(): number {
    return this.peakMemoryMb;
  }

  private async loop(): Promise<void> {
    const { worker } = this.options;
    while (!this.stopping) {
      // A claim is for a job this worker starts now: a free slot, memory left, and for a preview a free preview slot.
      // An idle worker takes any job, even one larger than its budget, so no job waits forever.
      const free = this.running.size === 0 ? undefined : worker.memoryBudgetMb - this.committedMemoryMb;
      const previewsRunning = [...this.running.values()].filter((entry) => entry.job.operation === "preview").length;
      let job: Job | undefined;
      if (this.running.size < worker.slots && (free === undefined || free > 0)) {
        try {
          job = await claimJob(this.options.db, this.options.dialect, {
            workerId: this.workerId,
            freeMemoryMb: free,
            excludeOperations: previewsRunning >= worker.previewSlots ? ["preview"] : [],
            leaseMs: worker.leaseMs,
          });
        } catch (error) {
          this.logger.error({ err: errorMessage(error) }, "claiming a job failed");
        }
      }
      if (job) {
        this.launch(job);
        continue;
      }
      await this.sleep(worker.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private launch(job: Job): void {
    const controller = new AbortController();
    const entry: RunningJob = { job, controller, done: Promise.resolve() };
    this.running.set(job.id, entry);
    this.peakMemoryMb = Math.max(this.peakMemoryMb, this.committedMemoryMb);
    entry.done = this.run(job, controller)
      .catch((error: unknown) => this.logger.error({ jobId: job.id, err: errorMessage(error) }, "job runner crashed"))
      .finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
  }

  private async run(job: Job, controller: AbortController): Promise<void> {
    const { db, engine, queue, worker } = this.options;
    const secrets: string[] = Object.values(this.options.layout.secretEnv);
    const redact = <T>(value: T): T => createRedactor(secrets)(value);
    const events = await JobEventWriter.open(db, job.id, redact);
    const log = { jobId: job.id, operation: job.operation, attempt: job.attempt };
    const mutating = locksStack(job.operation);

    let lostLease = false;
    const beat = setInterval(() => {
      heartbeat(db, job.id, this.workerId, worker.leaseMs)
        .then((result) => {
          if (!result.held) {
            lostLease = true;
            controller.abort("lease lost");
          } else if (result.cancelRequested) {
            controller.abort("cancel");
          }
        })
        .catch((error: unknown) => this.logger.warn({ ...log, err: errorMessage(error) }, "heartbeat failed"));
    }, worker.heartbeatMs);

    const support = isSupportFirewallOperation(job.operation) ? job.operation : undefined;
    // A snapshots listing reads the cloud only: whatever happens, the instance's status stays as it is.
    const listing = job.operation === "snapshots";
    const finish = async (request: FinishRequest, message?: string): Promise<void> => {
      if (support && request.state !== "succeeded") {
        // The grants this job was for say so (`failed` with the reason); the sweep closes ended ones again.
        await failCloudFirewallJob(db, support, job.instance_id, request.error?.message ?? request.state).catch((error: unknown) =>
          this.logger.error({ ...log, err: errorMessage(error) }, "could not mark the grants' cloud rule failed"),
        );
      }
      await events.flush().catch(() => undefined);
      // The final state and the `result` event commit together (finishJob writes both).
      let finished: boolean;
      try {
        finished = await finishJob(db, job, this.workerId, request);
      } catch (error) {
        this.logger.error({ ...log, err: errorMessage(error) }, "the job's end could not be recorded; its lease expires and a worker runs it again");
        return;
      }
      if (!finished) {
        this.logger.warn(log, "lease lost before the job could be finished; another worker owns it");
        return;
      }
      this.logger.info({ ...log, state: request.state }, message ?? `job ${request.state}`);
    };

    try {
      const instance = await getInstance(db, job.instance_id);
      if (!instance) {
        await finish({ state: "failed", error: { code: "failed", message: "the instance no longer exists" } });
        return;
      }
      const power = isPowerOperation(job.operation) ? job.operation : undefined;
      // A power action that fails leaves the instance as it was (it still runs, or is still stopped);
      // a support-firewall job never changes the instance's status.
      const failedStatus: InstanceStatus | undefined = support || listing ? undefined : power ? instance.status : mutating ? "failed" : undefined;
      const statusOnFailure = failedStatus ? { instance: { status: failedStatus } } : {};

      const capabilities = engine.capabilities();
      if (mutating && !power && !support && !listing && !capabilities.deploy) {
        void events.append({ type: "state", state: "running", attempt: job.attempt });
        await finish({
          state: "failed",
          error: { code: "tool_missing", message: `\`${job.operation}\` cannot run on this worker: ${capabilities.reason ?? "deployments are unavailable"}` },
          ...statusOnFailure,
        });
        return;
      }

      let envVars: Record<string, string> = {};
      if (mutating) {
        const credentials = await this.options.credentials.forJob({
          userId: job.user_id,
          cloud: instance.cloud,
          region: instance.region,
          jobId: job.id,
          credentialId: instance.credential_id,
        });
        envVars = credentials.env;
        secrets.push(...credentials.secrets);
      }
      const workDir = stackWorkDir(this.options.layout, job.stack_name);

      if (job.takeover === 1) {
        void events.append({
          type: "state",
          state: "running",
          attempt: job.attempt,
          message: "taken over from a worker whose lease expired; cancelling its stale stack lock",
        });
        if (mutating && !power && !support && !listing) await engine.cancel({ stackName: job.stack_name, workDir, envVars });
        await clearTakeover(db, job.id, this.workerId);
      }

      if (job.cancel_requested === 1) {
        await finish({ state: "cancelled", error: { code: "cancelled", message: "cancelled" }, ...statusOnFailure });
        return;
      }
      if (job.attempt > job.max_attempts) {
        await finish({
          state: "failed",
          error: { code: "failed", message: `gave up after ${job.max_attempts} attempts (workers were lost or the failure kept recurring)` },
          ...statusOnFailure,
        });
        return;
      }

      if (support) {
        void events.append({ type: "state", state: "running", attempt: job.attempt, message: `worker ${this.workerId}` });
        const outcome = await runCloudFirewallJob(db, support, instance, envVars, this.options.power, (text) => redact(text));
        if (lostLease) return;
        for (const line of outcome.log) void events.append({ type: "log", line: `${support}: ${line}` });
        const failure = cloudFirewallFailure(support, outcome);
        if (failure) await finish({ state: "failed", error: { code: "support_firewall_failed", message: redact(failure.message) } });
        else await finish({ state: "succeeded", result: { opened: outcome.opened, closed: outcome.closed } });
        return;
      }
      if (listing) {
        void events.append({ type: "state", state: "running", attempt: job.attempt, message: `worker ${this.workerId}` });
        try {
          const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
          const list = await listStateSnapshots({ cloud: instance.cloud, region: instance.region, outputs }, envVars, this.options.power);
          if (lostLease) return;
          void events.append({ type: "log", line: `snapshots: ${list.total} of ${list.stateDiskId}` });
          await finish({ state: "succeeded", result: { listedAt: new Date().toISOString(), ...list } });
        } catch (error) {
          if (lostLease) return;
          const code = error instanceof StateSnapshotsError ? `snapshots_${error.code.replace(/-/g, "_")}` : "failed";
          await finish({ state: "failed", error: { code, message: redact(errorMessage(error)) } });
        }
        return;
      }
      let config = JSON.parse(instance.config) as Record<string, unknown>;
      if (power) {
        await setInstanceStatus(db, instance.id, RUNNING_STATUS[power]);
        void events.append({ type: "state", state: "running", attempt: job.attempt, message: `worker ${this.workerId}` });
        try {
          const outputs = instance.outputs === null ? {} : (JSON.parse(instance.outputs) as Record<string, unknown>);
          const result = await runPowerAction(power, { cloud: instance.cloud, region: instance.region, config, outputs }, envVars, this.options.power);
          if (lostLease) return;
          void events.append({ type: "log", line: `${power}: ${result.changed ? "done" : `already ${result.state}`} after ${result.seconds.toFixed(1)} s` });
          await finish({ state: "succeeded", result, instance: { status: result.state === "stopped" ? "stopped" : "ready" } });
        } catch (error) {
          if (lostLease) return;
          const code = error instanceof PowerError ? `power_${error.code.replace(/-/g, "_")}` : "failed";
          await finish({ state: "failed", error: { code, message: redact(errorMessage(error)) }, ...statusOnFailure });
        }
        return;
      }
      if (this.options.prepareConfig) {
        const prepared = await this.options.prepareConfig(job, instance, config);
        config = prepared.config;
        secrets.push(...prepared.secrets);
        if (prepared.note) void events.append({ type: "log", line: prepared.note });
      }

      // Support-firewall jobs returned above: what is left is a Pulumi operation.
      if (job.operation !== "preview") await setInstanceStatus(db, instance.id, RUNNING_STATUS[job.operation as keyof typeof RUNNING_STATUS]);
      void events.append({ type: "state", state: "running", attempt: job.attempt, message: `worker ${this.workerId}` });

      const spec: StackSpec = {
        stackName: job.stack_name,
        workDir,
        kind: "host",
        config,
        envVars,
        signal: controller.signal,
        onEvent: (event) => void events.append({ type: "progress", event }),
        onOutput: (line) => void events.append({ type: "log", line }),
      };

      try {
        if (job.operation === "preview") {
          const outcome = await engine.preview(spec);
          if (lostLease) return;
          await finish({ state: "succeeded", result: outcome });
        } else {
          const outcome = await engine[job.operation as "up" | "refresh" | "destroy"](spec);
          if (lostLease) return;
          await finish({
            state: "succeeded",
            result: outcome,
            instance:
              job.operation === "destroy"
                ? { status: "destroyed", outputs: {} }
                : { status: "ready", outputs: outcome.outputs },
          });
        }
      } catch (error) {
        if (lostLease) {
          this.logger.warn(log, "lease lost during the operation; another worker took the job over");
          return;
        }
        const reason: unknown = controller.signal.reason;
        if (reason === "cancel") {
          await finish({ state: "cancelled", error: { code: "cancelled", message: "cancelled while running" }, ...statusOnFailure });
          return;
        }
        if (reason === "shutdown") return; // the lease expires and another worker resumes the job
        const failure = error instanceof EngineError ? error : new EngineError("failed", errorMessage(error));
        const message = redact(failure.message);
        if (failure.retryable && job.attempt < job.max_attempts) {
          const delay = retryDelayMs(job.attempt, queue.retryBaseMs, queue.retryMaxMs);
          void events.append({
            type: "state",
            state: "queued",
            attempt: job.attempt,
            message: `retryable failure (${failure.code}); retrying in ${Math.ceil(delay / 1000)} s: ${message}`,
          });
          await events.flush().catch(() => undefined);
          await requeueJob(db, job.id, this.workerId, delay, { code: failure.code, message });
          return;
        }
        await finish({ state: "failed", error: { code: failure.code, message, field: failure.field }, ...statusOnFailure });
      }
    } catch (error) {
      // Failures before the engine ran (credentials, config): not retryable.
      const message = redact(errorMessage(error));
      const code = (error as { name?: string }).name === "MissingCredentialError" ? "missing_credential" : "failed";
      await finish({
        state: "failed",
        error: { code, message },
        ...(mutating && !support && !listing ? { instance: { status: "failed" as const } } : {}),
      });
    } finally {
      clearInterval(beat);
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
