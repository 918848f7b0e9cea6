/**
 * A configuration value that ClawStack refuses. `key` names the config key
 * (for stack config, without the `clawstack:` prefix; for API requests, the
 * JSON field path) so every caller can say exactly which field is wrong.
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}
