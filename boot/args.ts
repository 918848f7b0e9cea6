/**
 * `npm run test:boot` arguments (boot/cli.ts). By default the stack pins a key made for the run, as a Claw Cloud
 * host does: the host runs the support agent (its checks) and seals the ClawChat files to that key (the ClawChat
 * round trip); `--no-support-access` boots without both. `--support-access` is still accepted (the default).
 */
import { parseArgs } from "node:util";
import { upgradeFromProblem } from "./run.js";

export const BOOT_USAGE = "usage: npm run test:boot -- --cloud do [--no-support-access] [--upgrade-from <openclaw version>] [--proxy-device] [--json]";

export interface BootArgs {
  cloud: "do";
  json: boolean;
  supportAccess: boolean;
  upgradeFrom?: string;
  /** `--proxy-device`: the host pins a chat-proxy device made for the run; each boot checks it gets paired. */
  proxyDevice?: boolean;
}

/** The parsed arguments, or the problem (naming the flag and what it takes) for exit code 2. */
export function parseBootArgs(args: string[]): { args: BootArgs } | { problem: string } {
  let values: { cloud?: string; json?: boolean; "support-access"?: boolean; "no-support-access"?: boolean; "upgrade-from"?: string; "proxy-device"?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { cloud: { type: "string" }, json: { type: "boolean" }, "support-access": { type: "boolean" }, "no-support-access": { type: "boolean" }, "upgrade-from": { type: "string" }, "proxy-device": { type: "boolean" } },
      strict: true,
    }));
  } catch (error) {
    return { problem: `${(error as Error).message}; ${BOOT_USAGE}` };
  }
  if (values["support-access"] && values["no-support-access"]) {
    return { problem: `\`--support-access\` (the default) and \`--no-support-access\` contradict each other; ${BOOT_USAGE}` };
  }
  const cloud = values.cloud ?? "do";
  if (cloud !== "do") return { problem: `\`--cloud\` must be do (aws and gcp are not booted yet: docs/boot.md); got ${JSON.stringify(cloud)}` };
  const upgradeFrom = values["upgrade-from"];
  const upgradeProblem = upgradeFrom === undefined ? undefined : upgradeFromProblem(upgradeFrom);
  if (upgradeProblem) return { problem: upgradeProblem };
  return { args: { cloud, json: values.json === true, supportAccess: values["no-support-access"] !== true, ...(upgradeFrom !== undefined ? { upgradeFrom } : {}), ...(values["proxy-device"] ? { proxyDevice: true } : {}) } };
}
