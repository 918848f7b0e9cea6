import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";
import { ConfigError } from "../core/errors.js";
import { synthMocks } from "./mocks.js";
import { type SelectedStack, selectStack } from "./run-stack.js";
import { assertStackName, readStackConfig } from "./stack-config.js";
import { type PlannedInvoke, type PlannedOptions, type PlannedResource, SECRET_PLACEHOLDER, type SynthResult } from "./synth-types.js";

/** The Pulumi project name (`Pulumi.yaml`). */
export const PROJECT_NAME = "clawstack";
const STACK_TYPE = "pulumi:pulumi:Stack";

// Wire-format markers of Pulumi's serialized properties (`@pulumi/pulumi/runtime/rpc`).
const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Turns a serialized property value (as the resource monitor receives it) into
 * plain JSON: secrets become "[secret]", resource references their URN,
 * unknowns "[unknown]". Secrets are replaced before anything can print them.
 */
export function redactSerialized(value: unknown): unknown {
  if (value === UNKNOWN_VALUE) return "[unknown]";
  if (Array.isArray(value)) return value.map(redactSerialized);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const sig = record[SPECIAL_SIG_KEY];
    if (sig === SECRET_SIG) return SECRET_PLACEHOLDER;
    if (sig === RESOURCE_SIG) return record.urn;
    if (sig !== undefined) return "[asset]";
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, redactSerialized(inner)]));
  }
  return value;
}

interface StructLike {
  toJavaScript(): Record<string, unknown>;
}
interface RegisterResourceRequestLike {
  getType(): string;
  getName(): string;
  getParent(): string;
  getObject(): StructLike | undefined;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
  getReplacementTrigger(): { toJavaScript(): unknown } | undefined;
}
interface InvokeRequestLike {
  getTok(): string;
  getArgs(): StructLike | undefined;
}
interface RegisterOutputsRequestLike {
  getUrn(): string;
  getOutputs(): StructLike | undefined;
}

/**
 * The mock monitor, recording every registration in order with its parent URN
 * and redacted inputs (the `Mocks` interface sees neither parents nor secrets).
 */
class CapturingMonitor extends MockMonitor {
  readonly planned: PlannedResource[] = [];
  readonly invokes: PlannedInvoke[] = [];
  stackUrn = "";
  stackOutputs: Record<string, unknown> = {};

  override async registerResource(req: RegisterResourceRequestLike, callback: (err: unknown, response: unknown) => void): Promise<void> {
    const inputs = redactSerialized(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    return super.registerResource(req, (err, response) => {
      if (!err) {
        const urn = (response as { getUrn(): string }).getUrn();
        if (req.getType() === STACK_TYPE) this.stackUrn = urn;
        else {
          const options: PlannedOptions = {
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            dependencies: req.getDependenciesList(),
            ...(req.getReplacementTrigger() !== undefined ? { replacementTrigger: redactSerialized(req.getReplacementTrigger()!.toJavaScript()) } : {}),
          };
          this.planned.push({ type: req.getType(), name: req.getName(), parent: req.getParent() || this.stackUrn, urn, inputs, options });
        }
      }
      callback(err, response);
    });
  }

  override async invoke(req: InvokeRequestLike, callback: (err: unknown, response: unknown) => void): Promise<void> {
    this.invokes.push({ token: req.getTok(), args: redactSerialized(req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown> });
    return super.invoke(req, callback);
  }

  override registerResourceOutputs(req: RegisterOutputsRequestLike, callback: (err: unknown, response: unknown) => void): void {
    if (req.getUrn() === this.stackUrn) {
      this.stackOutputs = redactSerialized(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    }
    super.registerResourceOutputs(req, callback);
  }
}

/**
 * Two runtime internals of the pinned @pulumi/pulumi (3.248, a single copy,
 * see package.json `overrides`), untyped in its .d.ts: the runtime store (to
 * install the capturing monitor and read the error count) and `waitForRPCs`
 * (drains every outstanding registration before the plan is read).
 */
interface RuntimeStore {
  settings: { monitor: unknown };
  logErrorCount: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- internal Pulumi runtime modules, outside the package's typed exports
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore(): RuntimeStore };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

/**
 * Synthesizes a stack from config given as data (`clawstack:*` keys, prefix
 * stripped): validates it with the stack kind's schema (throws `ConfigError`
 * before anything is registered), then runs the kind's real program under
 * Pulumi mocks and returns what it would register. Re-entrant when called
 * sequentially in one process; never run two at once (Pulumi's runtime state
 * is per process).
 */
export async function synthConfig(stackName: string, rawConfig: Record<string, unknown>): Promise<SynthResult> {
  assertStackName(stackName);
  return synthSelected(stackName, selectStack(rawConfig));
}

/**
 * Synthesizes a stack whose config was already validated (`selectStack`): for
 * callers that parsed it at their own entry point (the API's engine), so the
 * config is not parsed again.
 */
export async function synthSelected(stackName: string, { kind, config }: SelectedStack): Promise<SynthResult> {
  assertStackName(stackName);
  return synthProgram(stackName, async () => kind.run(config), { label: `the ${kind.kind} program` });
}

/**
 * Runs any Pulumi program function under the synth's mocks and returns what it
 * registered. `pulumiConfig` (full keys such as `clawstack:cloud`, string
 * values as the Pulumi engine passes them) is installed as the stack's config
 * first, so a program that reads `pulumi.Config` (`index.ts`) sees a stack.
 */
export async function synthProgram(
  stackName: string,
  program: () => Promise<Record<string, unknown> | undefined>,
  options: { pulumiConfig?: Record<string, string>; label?: string } = {},
): Promise<SynthResult> {
  assertStackName(stackName);
  const monitor = new CapturingMonitor(synthMocks());
  await pulumi.runtime.setMocks(synthMocks(), PROJECT_NAME, stackName, false);
  getStore().settings.monitor = monitor;
  pulumi.runtime.setAllConfig(options.pulumiConfig ?? {});
  const errorsBefore = getStore().logErrorCount;

  const errors: unknown[] = [];
  const onRejection = (reason: unknown) => errors.push(reason);
  process.on("unhandledRejection", onRejection);
  // Pulumi's runtime records `new Error().stack` on every promise it makes (a
  // leak-report aid), and formatting thousands of stacks (through source maps
  // under tsx) was 80 to 90 % of a synth. Stacks are off while the program runs;
  // errors keep their messages, which is all the synth reports.
  // CLAWSTACK_SYNTH_STACK_TRACES=1 keeps them for debugging.
  const stackTraceLimit = Error.stackTraceLimit;
  if (process.env.CLAWSTACK_SYNTH_STACK_TRACES !== "1") Error.stackTraceLimit = 0;
  try {
    await runInPulumiStack(program);
    await waitForRPCs();
  } catch (error) {
    errors.push(error);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    process.off("unhandledRejection", onRejection);
  }
  if (errors.length > 0) throw unwrapError(errors[0]);
  const logged = getStore().logErrorCount - errorsBefore;
  if (logged > 0) {
    throw new Error(`${options.label ?? "the program"} logged ${logged} error(s) while registering resources`);
  }
  return { stack: stackName, resources: monitor.planned, outputs: monitor.stackOutputs, invokes: monitor.invokes };
}

/** Pulumi wraps errors thrown inside outputs; surface the ConfigError with its key when there is one. */
function unwrapError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof ConfigError) return current;
    current = (current as Error & { cause?: unknown }).cause ?? undefined;
  }
  return error;
}

/** Synthesizes `stacks/Pulumi.<stackName>.yaml` (or the file in `stacksDir`). */
export async function synthStack(stackName: string, stacksDir?: string): Promise<SynthResult> {
  assertStackName(stackName);
  return synthConfig(stackName, stacksDir === undefined ? readStackConfig(stackName) : readStackConfig(stackName, stacksDir));
}
