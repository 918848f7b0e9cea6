/**
 * A flag, file or setting ClawChat refuses; `key` names it (`--dir`,
 * `security_file`...) and the CLI exits 2. ClawChat's own class, so the bundle
 * that runs on the hosts carries nothing else of the repository.
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
