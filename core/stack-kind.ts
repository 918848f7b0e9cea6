/**
 * The contract every stack kind meets (`program/kinds.ts` lists them; the
 * kinds themselves live next to their components). Here, at the bottom, so a
 * kind file and the registry never import each other.
 */
export interface StackKind<Config = unknown> {
  /** The value of `clawstack:kind` that selects this kind. */
  readonly kind: string;
  /** One line for `--help` output and docs. */
  readonly description: string;
  /**
   * Validates the stack's config: the `clawstack:*` keys with the prefix
   * stripped, values already parsed from YAML. Throws `ConfigError` naming the
   * key, what is allowed and what was given.
   */
  parse(raw: Record<string, unknown>): Config;
  /**
   * Stands the stack up and returns its outputs. Takes plain data; no global
   * state. May be async, so a kind can load only the cloud SDK it needs.
   */
  run(config: Config): Record<string, unknown> | Promise<Record<string, unknown>>;
}
