/**
 * Errors of the firmware tooling, each tied to an exit code so the CLI and CI
 * can tell a refused image from a mistyped command.
 *
 * - `FirmwareCheckError` (exit 1): a check failed or an action was refused
 *   (bad magic, bad CRC, bad signature, anti-rollback, key not allowed...).
 *   `check` names the check so scripts and tests can match on it.
 * - `FirmwareUsageError` (exit 2): bad command line or unreadable input
 *   (missing file, unparseable PEM or YAML, unknown bucket URL).
 */
export class FirmwareCheckError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly check: string,
    message: string,
  ) {
    super(`${check}: ${message}`);
    this.name = "FirmwareCheckError";
  }
}

export class FirmwareUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "FirmwareUsageError";
  }
}
