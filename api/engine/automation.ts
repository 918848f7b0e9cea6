/**
 * The production engine: the Pulumi Automation API with an inline program that
 * calls the stack kind's `run` (for instances, `openClawStack(config)`).
 *
 * Design points (see `/docs/jobs.md`):
 * - one work directory per stack, so concurrent operations on different stacks
 *   never share a `workspace.json`;
 * - one `PULUMI_HOME` per worker, plugins installed ahead of time (`preparePlugins`);
 * - credentials, backend URL and passphrase reach the CLI only through the
 *   workspace's `envVars`; `process.env` is never written;
 * - CLI errors are classified: `StackNotFoundError` → not_found (404),
 *   `ConcurrentUpdateError` → conflict (409), config errors → invalid_config (400);
 * - each operation parses the job's config once (`selectJobStack`); the
 *   offline plan and the inline program run that parsed value.
 */
import { rmSync } from "node:fs";
import {
  CommandError,
  ConcurrentUpdateError,
  LocalWorkspace,
  StackAlreadyExistsError,
  StackNotFoundError,
  type EngineEvent,
  type LocalWorkspaceOptions,
  type OutputMap,
  type Stack,
} from "@pulumi/pulumi/automation";
import { ConfigError } from "../../core/errors";
import type { SelectedStack } from "../../program/run-stack";
import type { StackLayout } from "../stacks/layout";
import { engineErrorOf, selectJobStack } from "./host-config";
import { findPulumiCli, missingCliMessage, PULUMI_INSTALL_HINT } from "./pulumi-cli";
import { toProgressEvent } from "./progress";
import {
  EngineError,
  type DeployOutcome,
  type Engine,
  type EngineCapabilities,
  type PreviewOutcome,
  type StackSpec,
} from "./types";

/**
 * Offline plan of a stack: the kind's program under Pulumi mocks plus the policy review. `stack` is the
 * config as parsed (once) by the engine; `config` the same config as stored, for the policy review.
 */
export type Planner = (spec: Pick<StackSpec, "stackName" | "config"> & { stack: SelectedStack }) => Promise<PreviewOutcome>;

export interface AutomationEngineOptions {
  layout: StackLayout;
  planner: Planner;
  /** Pulumi project name of every stack (default `clawstack`, as in `Pulumi.yaml`). */
  projectName?: string;
  /** Override the CLI lookup (tests); default: `pulumi` on PATH. */
  cliPath?: string | null;
}

/** Matches CLI failures worth retrying later: network trouble and throttling. */
const TRANSIENT_PATTERN =
  /(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EAI_AGAIN|socket hang up|TLS handshake timeout|i\/o timeout|RequestLimitExceeded|Throttling|rate limit|too many requests|\b429\b|\b502\b|\b503\b|\b504\b)/i;

export class AutomationEngine implements Engine {
  readonly name = "pulumi-automation";
  private readonly projectName: string;
  private readonly cli: string | undefined;

  constructor(private readonly options: AutomationEngineOptions) {
    this.projectName = options.projectName ?? "clawstack";
    this.cli = options.cliPath === undefined ? findPulumiCli() : (options.cliPath ?? undefined);
  }

  capabilities(): EngineCapabilities {
    return this.cli ? { deploy: true } : { deploy: false, reason: `the \`pulumi\` CLI is not on PATH: ${PULUMI_INSTALL_HINT}` };
  }

  async preview(spec: StackSpec): Promise<PreviewOutcome> {
    const selected = selectJobStack(spec.kind, spec.config);
    spec.onEvent?.({ type: "step", message: "offline synth and policy review" });
    const outcome = await this.options.planner({ stackName: spec.stackName, config: spec.config, stack: selected });
    if (!this.cli || Object.keys(spec.envVars).length === 0) {
      spec.onEvent?.({
        type: "step",
        message: this.cli
          ? "no cloud credentials for this preview: returning the offline plan only"
          : "the `pulumi` CLI is not installed: returning the offline plan only",
      });
      return outcome;
    }
    const stack = await this.stack(spec, selected, "create-or-select");
    const result = await this.run(spec, () =>
      stack.preview({ ...this.streams(spec), ...(spec.signal ? { signal: spec.signal } : {}) }),
    );
    return { ...outcome, changeSummary: countChanges(result.changeSummary) };
  }

  async up(spec: StackSpec): Promise<DeployOutcome> {
    this.requireCli("up");
    const stack = await this.stack(spec, selectJobStack(spec.kind, spec.config), "create-or-select");
    const result = await this.run(spec, () =>
      stack.up({ ...this.streams(spec), ...(spec.signal ? { signal: spec.signal } : {}) }),
    );
    return { outputs: publicOutputs(result.outputs), changes: countChanges(result.summary.resourceChanges) };
  }

  async refresh(spec: StackSpec): Promise<DeployOutcome> {
    this.requireCli("refresh");
    const stack = await this.stack(spec, selectJobStack(spec.kind, spec.config), "select");
    const result = await this.run(spec, () =>
      stack.refresh({ ...this.streams(spec), ...(spec.signal ? { signal: spec.signal } : {}) }),
    );
    const outputs = await this.run(spec, () => stack.outputs());
    return { outputs: publicOutputs(outputs), changes: countChanges(result.summary.resourceChanges) };
  }

  async destroy(spec: StackSpec): Promise<DeployOutcome> {
    this.requireCli("destroy");
    let stack: Stack;
    try {
      stack = await this.stack(spec, selectJobStack(spec.kind, spec.config), "select");
    } catch (error) {
      // Nothing was ever deployed (e.g. the `up` failed before creating the stack).
      if (error instanceof EngineError && error.code === "not_found") {
        spec.onEvent?.({ type: "step", message: "no stack to destroy" });
        rmSync(spec.workDir, { recursive: true, force: true });
        return { outputs: {}, changes: {} };
      }
      throw error;
    }
    const result = await this.run(spec, () =>
      stack.destroy({ ...this.streams(spec), ...(spec.signal ? { signal: spec.signal } : {}) }),
    );
    await this.run(spec, () => stack.workspace.removeStack(spec.stackName));
    spec.onEvent?.({ type: "step", message: "stack removed" });
    rmSync(spec.workDir, { recursive: true, force: true });
    return { outputs: {}, changes: countChanges(result.summary.resourceChanges) };
  }

  async cancel(spec: Pick<StackSpec, "stackName" | "workDir" | "envVars">): Promise<void> {
    if (!this.cli) return;
    let stack: Stack;
    try {
      stack = await LocalWorkspace.selectStack(
        { stackName: spec.stackName, projectName: this.projectName, program: async () => ({}) },
        this.workspaceOptions(spec),
      );
    } catch (error) {
      if (error instanceof StackNotFoundError) return;
      throw classify(error);
    }
    try {
      await stack.cancel();
    } catch (error) {
      // "no update is currently running" is the common, harmless case.
      if (error instanceof CommandError && /no (update|stack) .*(running|in progress)|not currently/i.test(error.message)) return;
      throw classify(error);
    }
  }

  /**
   * Installs the provider plugins of the installed `@pulumi/*` packages into
   * this worker's `PULUMI_HOME`, once, before any job runs: concurrent plugin
   * installs into one home interfere.
   */
  async preparePlugins(plugins: { name: string; version: string }[]): Promise<void> {
    if (!this.cli) return;
    const workspace = await LocalWorkspace.create(this.workspaceOptions({ envVars: {}, workDir: undefined }));
    for (const plugin of plugins) await workspace.installPlugin(plugin.name, plugin.version, "resource");
  }

  private requireCli(operation: string): void {
    if (!this.cli) throw new EngineError("tool_missing", missingCliMessage(operation));
  }

  private workspaceOptions(spec: { envVars: Record<string, string>; workDir: string | undefined }): LocalWorkspaceOptions {
    const { layout } = this.options;
    return {
      ...(spec.workDir ? { workDir: spec.workDir } : {}),
      pulumiHome: layout.pulumiHome,
      secretsProvider: layout.secretsProvider,
      projectSettings: {
        name: this.projectName,
        runtime: "nodejs",
        backend: { url: layout.backendUrl },
      },
      envVars: {
        ...layout.secretEnv,
        ...spec.envVars,
        PULUMI_BACKEND_URL: layout.backendUrl,
        PULUMI_HOME: layout.pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    };
  }

  private async stack(spec: StackSpec, { kind, config }: SelectedStack, mode: "select" | "create-or-select"): Promise<Stack> {
    const args = {
      stackName: spec.stackName,
      projectName: this.projectName,
      program: async () => kind.run(config),
    };
    const options = this.workspaceOptions(spec);
    try {
      return mode === "select"
        ? await LocalWorkspace.selectStack(args, options)
        : await LocalWorkspace.createOrSelectStack(args, options);
    } catch (error) {
      throw classify(error);
    }
  }

  private streams(spec: StackSpec) {
    return {
      onOutput: (out: string) => {
        for (const line of out.split("\n")) if (line.trim()) spec.onOutput?.(line);
      },
      onEvent: (event: EngineEvent) => {
        const progress = toProgressEvent(event);
        if (progress) spec.onEvent?.(progress);
      },
    };
  }

  private async run<T>(spec: StackSpec, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (spec.signal?.aborted) throw new EngineError("cancelled", "the operation was cancelled");
      throw classify(error);
    }
  }
}

/** Maps Automation API errors to the queue's error codes. */
export function classify(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof StackNotFoundError) return new EngineError("not_found", "the stack does not exist");
  if (error instanceof ConcurrentUpdateError) {
    return new EngineError("conflict", "the stack is locked by another update (a stale lock is cancelled before a retry)");
  }
  if (error instanceof StackAlreadyExistsError) return new EngineError("conflict", "the stack already exists");
  if (error instanceof ConfigError) return engineErrorOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (TRANSIENT_PATTERN.test(message)) return new EngineError("transient", lastLines(message));
  return new EngineError("failed", lastLines(message));
}

/** CLI errors carry the whole stdout; the end says what went wrong. */
function lastLines(message: string, count = 12): string {
  return message.split("\n").filter((line) => line.trim()).slice(-count).join("\n");
}

function publicOutputs(outputs: OutputMap): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, output] of Object.entries(outputs)) result[key] = output.secret ? "[secret]" : output.value;
  return result;
}

function countChanges(changes: Record<string, number | undefined> | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [op, count] of Object.entries(changes ?? {})) if (typeof count === "number") result[op] = count;
  return result;
}
