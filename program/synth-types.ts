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
}

/** The `--json` output of `npm run synth`. */
export interface SynthResult {
  stack: string;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
}
