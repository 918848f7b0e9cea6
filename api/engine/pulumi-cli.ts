/**
 * Whether the `pulumi` CLI is installed. The Automation API drives the CLI,
 * so without it `up`, `refresh` and `destroy` cannot run; the offline preview
 * (synth under mocks plus policy review) needs no CLI.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

export const PULUMI_INSTALL_HINT =
  "install the Pulumi CLI (https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`) " +
  "and put `pulumi` on the worker's PATH";

/** Absolute path of `pulumi` on `PATH`, or undefined. Looks only; runs nothing. */
export function findPulumiCli(path: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "pulumi");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function missingCliMessage(operation: string): string {
  return `\`${operation}\` needs the \`pulumi\` CLI, which is not on this worker's PATH: ${PULUMI_INSTALL_HINT}. ` +
    "`preview` works without it (offline synth plus policy review).";
}
