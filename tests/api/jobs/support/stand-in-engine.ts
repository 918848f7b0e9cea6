/**
 * The stand-in engine: the `Engine` contract without Pulumi, for tests. It
 * keeps a tiny "state backend" on disk (one JSON file per stack) and, like a
 * Pulumi DIY backend, a lock file per stack while an update runs: a worker
 * killed mid-update leaves the lock behind, and the next `up` fails with
 * `conflict` unless `cancel` removed it first.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  EngineError,
  type DeployOutcome,
  type Engine,
  type EngineCapabilities,
  type EngineErrorCode,
  type PreviewOutcome,
  type StackSpec,
} from "../../../../api/engine/types";

export interface StandInOptions {
  /** Where stack state and locks live (shared by every worker process of a test). */
  stateDir: string;
  /** Progress steps per operation. */
  steps?: number;
  /** Delay per step in ms. */
  stepMs?: number;
  /** Whether deployments are possible (false mimics "no Pulumi CLI"). */
  deploy?: boolean;
  /** Prints the operation's environment values in an output line, as a careless engine might (redaction tests). */
  echoEnv?: boolean;
  /** Appends `{ operation, stackName, pid }` as a JSON line per operation started (shared by worker processes). */
  journal?: string;
}

interface StackState {
  outputs: Record<string, unknown>;
  /** How many `up` operations completed on this stack. */
  ups: number;
}

export class StandInEngine implements Engine {
  readonly name = "stand-in";
  /** Failures to inject, consumed in order: `{ operation, code }`. */
  readonly failures: { operation: string; code: EngineErrorCode }[] = [];
  /** Every operation started, in order (this process only). */
  readonly calls: { operation: string; stackName: string; envVars: Record<string, string>; config: Record<string, unknown> }[] = [];
  private readonly steps: number;
  private readonly stepMs: number;

  constructor(private readonly options: StandInOptions) {
    mkdirSync(options.stateDir, { recursive: true });
    this.steps = options.steps ?? 3;
    this.stepMs = options.stepMs ?? 5;
  }

  capabilities(): EngineCapabilities {
    return this.options.deploy === false ? { deploy: false, reason: "the `pulumi` CLI is not on PATH: install it" } : { deploy: true };
  }

  async preview(spec: StackSpec): Promise<PreviewOutcome> {
    this.record("preview", spec);
    await this.progress(spec, "preview");
    return {
      plan: {
        resources: [
          { type: "stand-in:index:Host", name: String(spec.config.name ?? "openclaw"), urn: `urn:pulumi:${spec.stackName}::clawstack::stand-in:index:Host::host`, parent: "", inputs: { ...spec.config } },
        ],
        outputs: {},
      },
      violations: [],
      mandatoryViolations: 0,
    };
  }

  async up(spec: StackSpec): Promise<DeployOutcome> {
    this.record("up", spec);
    return this.locked(spec, async () => {
      await this.progress(spec, "create");
      const state = this.readState(spec.stackName) ?? { outputs: {}, ups: 0 };
      state.ups += 1;
      state.outputs = { stack: spec.stackName, ipv4: "203.0.113.10", cloud: spec.config.cloud };
      this.writeState(spec.stackName, state);
      return { outputs: state.outputs, changes: { create: this.steps } };
    });
  }

  async refresh(spec: StackSpec): Promise<DeployOutcome> {
    this.record("refresh", spec);
    const state = this.readState(spec.stackName);
    if (!state) throw new EngineError("not_found", "the stack does not exist");
    return this.locked(spec, async () => {
      await this.progress(spec, "refresh");
      return { outputs: state.outputs, changes: { same: this.steps } };
    });
  }

  async destroy(spec: StackSpec): Promise<DeployOutcome> {
    this.record("destroy", spec);
    return this.locked(spec, async () => {
      await this.progress(spec, "delete");
      rmSync(this.statePath(spec.stackName), { force: true });
      return { outputs: {}, changes: { delete: this.steps } };
    });
  }

  async cancel(spec: Pick<StackSpec, "stackName">): Promise<void> {
    rmSync(this.lockPath(spec.stackName), { force: true });
  }

  readState(stackName: string): StackState | undefined {
    const path = this.statePath(stackName);
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as StackState) : undefined;
  }

  writeState(stackName: string, state: StackState): void {
    writeFileSync(this.statePath(stackName), JSON.stringify(state));
  }

  isLocked(stackName: string): boolean {
    return existsSync(this.lockPath(stackName));
  }

  private record(operation: string, spec: StackSpec): void {
    this.calls.push({ operation, stackName: spec.stackName, envVars: { ...spec.envVars }, config: { ...spec.config } });
    if (this.options.journal) {
      appendFileSync(this.options.journal, `${JSON.stringify({ operation, stackName: spec.stackName, pid: process.pid })}\n`);
    }
    if (this.options.echoEnv) {
      spec.onOutput?.(`environment: ${Object.entries(spec.envVars).map(([key, value]) => `${key}=${value}`).join(" ")}`);
      spec.onOutput?.(`config: ${JSON.stringify(spec.config)}`);
    }
    const failure = this.failures.findIndex((entry) => entry.operation === operation);
    if (failure >= 0) {
      const [entry] = this.failures.splice(failure, 1);
      throw new EngineError(entry!.code, `injected ${entry!.code} failure of ${operation}`);
    }
  }

  private async locked<T>(spec: StackSpec, body: () => Promise<T>): Promise<T> {
    const lock = this.lockPath(spec.stackName);
    if (existsSync(lock)) throw new EngineError("conflict", "the stack is currently locked by another update");
    writeFileSync(lock, String(process.pid));
    const result = await body();
    rmSync(lock, { force: true });
    return result;
  }

  private async progress(spec: StackSpec, op: string): Promise<void> {
    for (let step = 1; step <= this.steps; step += 1) {
      if (spec.signal?.aborted) throw new EngineError("cancelled", "the operation was cancelled");
      spec.onEvent?.({ type: "resource", phase: "start", op, urn: `urn:${spec.stackName}:${step}`, resourceType: "stand-in:index:Thing" });
      spec.onOutput?.(`step ${step}/${this.steps} ${op}`);
      await new Promise((resolve) => setTimeout(resolve, this.stepMs));
    }
    if (spec.signal?.aborted) throw new EngineError("cancelled", "the operation was cancelled");
    spec.onEvent?.({ type: "summary", changes: { [op]: this.steps } });
  }

  private statePath(stackName: string): string {
    return join(this.options.stateDir, `${stackName}.json`);
  }

  private lockPath(stackName: string): string {
    return join(this.options.stateDir, `${stackName}.lock`);
  }
}
