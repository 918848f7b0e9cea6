/**
 * The engine contract: what the job queue asks of whatever runs a stack
 * operation. The production implementation drives the Pulumi Automation API
 * (`automation.ts`); tests put a small stand-in behind the same interface.
 */

/** The four operations a job can run against a stack. */
export type Operation = "preview" | "up" | "refresh" | "destroy";

export const OPERATIONS: readonly Operation[] = ["preview", "up", "refresh", "destroy"];

/**
 * Power actions on the instance itself (runtime/power.ts through
 * api/engine/power.ts), run as jobs on the stack's lock like the operations
 * above, without Pulumi.
 */
export type PowerOperation = "stop" | "start" | "reboot";
export const POWER_OPERATIONS: readonly PowerOperation[] = ["stop", "start", "reboot"];
/**
 * A support grant's SSH rule in the host's cloud firewall (api/support/cloud-firewall.ts through
 * api/engine/support-firewall.ts): opened for the instance's grants waiting for it, closed for its
 * revoked and ended ones. On the stack's lock too, so never during an `up` that rewrites the firewall.
 */
export type SupportFirewallOperation = "support-open" | "support-close";
export const SUPPORT_FIREWALL_OPERATIONS: readonly SupportFirewallOperation[] = ["support-open", "support-close"];
/**
 * Listing the state disk's snapshots in the cloud (api/engine/state-snapshots.ts): read only, but it needs the
 * job's short-lived credentials, which only a worker has; on the stack's lock like the others, so one listing at a
 * time and never beside an `up` or a `destroy` that replaces the disk. The list is the job's result.
 */
export type SnapshotsOperation = "snapshots";
/** Everything a job can run. */
export type JobOperation = Operation | PowerOperation | SupportFirewallOperation | SnapshotsOperation;
export const JOB_OPERATIONS: readonly JobOperation[] = [...OPERATIONS, ...POWER_OPERATIONS, ...SUPPORT_FIREWALL_OPERATIONS, "snapshots"];
/** Memory a power, support-firewall or snapshots job is admitted with: a few HTTPS calls, no Pulumi process. */
export const POWER_JOB_MEMORY_MB = 64;

export function isPowerOperation(operation: JobOperation): operation is PowerOperation {
  return (POWER_OPERATIONS as readonly string[]).includes(operation);
}

export function isSupportFirewallOperation(operation: JobOperation): operation is SupportFirewallOperation {
  return (SUPPORT_FIREWALL_OPERATIONS as readonly string[]).includes(operation);
}

/** Operations that call the cloud's API directly (no Pulumi): power actions, the support firewall, the snapshot listing. */
export function isDirectOperation(operation: JobOperation): operation is PowerOperation | SupportFirewallOperation | SnapshotsOperation {
  return isPowerOperation(operation) || isSupportFirewallOperation(operation) || operation === "snapshots";
}

/** One progress record, already stripped down to what a follower needs to see. */
export type ProgressEvent =
  | { type: "resource"; phase: "start" | "done" | "failed"; op: string; urn: string; resourceType: string }
  | { type: "diagnostic"; severity: "info" | "warning" | "error"; message: string; urn?: string }
  | { type: "policy"; level: string; policy: string; message: string; urn?: string }
  | { type: "summary"; changes: Record<string, number>; durationSeconds?: number }
  | { type: "step"; message: string };

/** Everything an engine needs to run one operation on one stack. */
export interface StackSpec {
  /** Stable stack name (see `api/stacks/naming.ts`). */
  stackName: string;
  /** The stack's own working directory (never shared between stacks). */
  workDir: string;
  /** Stack kind from `program/kinds.ts`; the provisioning API uses `host`. */
  kind: string;
  /** The stack's `clawstack:*` config with the prefix stripped (no secrets). */
  config: Record<string, unknown>;
  /**
   * Cloud credentials and other secret environment for this operation only.
   * They reach the Pulumi CLI through the workspace's `envVars`, never
   * through `process.env`, and are dropped when the operation ends.
   */
  envVars: Record<string, string>;
  /** Structured progress (resource steps, diagnostics, summary). */
  onEvent?: (event: ProgressEvent) => void;
  /** Raw output lines from the engine. */
  onOutput?: (line: string) => void;
  /** Aborts the operation (job cancel, lost lease). */
  signal?: AbortSignal;
}

/** A resource in an offline plan: the real program run under Pulumi mocks. */
export interface PlanResource {
  type: string;
  name: string;
  urn: string;
  parent: string;
  inputs: Record<string, unknown>;
}

/** A policy finding on a planned resource or on the whole stack. */
export interface PlanViolation {
  policy: string;
  enforcement: string;
  message: string;
  urn?: string;
  resourceType?: string;
}

export interface PreviewOutcome {
  /** The offline plan (works with no CLI and no credentials). */
  plan: { resources: PlanResource[]; outputs: Record<string, unknown> };
  /** Policy pack findings on the plan. */
  violations: PlanViolation[];
  /** Count of findings whose enforcement is `mandatory` (preflight findings included). */
  mandatoryViolations: number;
  /**
   * Preflight against the clouds' own API constraints (`program/preflight`): its findings are also in
   * `violations` (policy `preflight:<rule>`, mandatory); `notes` say what the plan assumes of the account
   * (a default network), before anything is created.
   */
  preflight?: { findings: number; notes: string[] };
  /** `pulumi preview` change counts, when the CLI and credentials were available. */
  changeSummary?: Record<string, number>;
}

export interface DeployOutcome {
  /** Stack outputs; secret outputs are replaced by `[secret]`. */
  outputs: Record<string, unknown>;
  /** Resource change counts reported by the engine. */
  changes: Record<string, number>;
}

/** What an engine can do on this machine (e.g. whether the Pulumi CLI is installed). */
export interface EngineCapabilities {
  /** Whether up, refresh and destroy can run here. */
  deploy: boolean;
  /** Why not, and what to install, when `deploy` is false. */
  reason?: string;
}

export interface Engine {
  readonly name: string;
  capabilities(): EngineCapabilities;
  preview(spec: StackSpec): Promise<PreviewOutcome>;
  up(spec: StackSpec): Promise<DeployOutcome>;
  refresh(spec: StackSpec): Promise<DeployOutcome>;
  /** Destroys the stack's resources, then removes the stack and its work directory. */
  destroy(spec: StackSpec): Promise<DeployOutcome>;
  /**
   * Clears a stale lock left by an operation whose process died (DIY
   * backends keep locks until cancelled). Succeeds when there is nothing to cancel.
   */
  cancel(spec: Pick<StackSpec, "stackName" | "workDir" | "envVars">): Promise<void>;
}

/**
 * Why an engine operation failed, in terms the queue and the HTTP layer act on.
 * - `invalid_config` (400): the stack config is refused; `field` names the key.
 * - `not_found` (404): the stack does not exist.
 * - `conflict` (409): the stack is locked by another update.
 * - `tool_missing`: the Pulumi CLI is not installed; never retried.
 * - `transient`: network, throttling, a lock left by a dead worker; retried with backoff.
 * - `cancelled`: the job was cancelled or its lease was lost.
 * - `failed`: anything else; not retried.
 */
export type EngineErrorCode =
  | "invalid_config"
  | "not_found"
  | "conflict"
  | "tool_missing"
  | "transient"
  | "cancelled"
  | "failed";

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "EngineError";
  }

  /** Whether the queue should try again later. */
  get retryable(): boolean {
    return this.code === "transient" || this.code === "conflict";
  }

  /** The HTTP status this failure maps to when surfaced synchronously. */
  get httpStatus(): number {
    switch (this.code) {
      case "invalid_config":
        return 400;
      case "not_found":
        return 404;
      case "conflict":
        return 409;
      case "tool_missing":
        return 501;
      case "cancelled":
        return 409;
      case "transient":
        return 503;
      case "failed":
        return 500;
    }
  }
}
