/** What a secret input looks like in every printed or stored plan. */
export const SECRET_PLACEHOLDER = "[secret]";

/** One resource a program registered, as captured under Pulumi mocks. */
export interface PlannedResource {
  /** Pulumi type token, e.g. `digitalocean:index/droplet:Droplet`. */
  type: string;
  /** The resource's logical name. */
  name: string;
  /** The parent resource's URN, or the stack's URN for top-level resources. */
  parent: string;
  /** The resource's own URN. */
  urn: string;
  /** Inputs as registered, secrets replaced by SECRET_PLACEHOLDER. */
  inputs: Record<string, unknown>;
  /**
   * The resource options that decide what an update replaces or keeps, as
   * registered (the synth fills it; plans read from elsewhere may not have it).
   * Not part of the `--json` document.
   */
  options?: PlannedOptions;
}

export interface PlannedOptions {
  ignoreChanges: string[];
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  /** URNs of explicit and input dependencies. */
  dependencies: string[];
  /** The `replacementTrigger` option: a change of this value replaces the resource. */
  replacementTrigger?: unknown;
}

/** One data-source call (invoke) a program made, e.g. the Ubuntu AMI lookup. */
export interface PlannedInvoke {
  /** Function token, e.g. `aws:ec2/getAmi:getAmi`. */
  token: string;
  args: Record<string, unknown>;
}

/** What the offline synth captured (`--json` prints `planJson` of it). */
export interface SynthResult {
  stack: string;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Invokes in call order (the synth fills it; not part of the `--json` document). */
  invokes?: PlannedInvoke[];
}

/** One resource of the `--json` plan. */
export interface PlanJsonResource {
  type: string;
  name: string;
  parent: string;
  inputs: Record<string, unknown>;
}

/**
 * The `--json` document, exactly `{stack, resources: [{type, name, parent,
 * inputs}], outputs}`: the resource's own URN is an internal join key of the
 * in-process result (parents point at it) and is left out.
 */
export function planJson(result: SynthResult): { stack: string; resources: PlanJsonResource[]; outputs: Record<string, unknown> } {
  return {
    stack: result.stack,
    resources: result.resources.map(({ type, name, parent, inputs }) => ({ type, name, parent, inputs })),
    outputs: result.outputs,
  };
}
