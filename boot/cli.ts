import { parseArgs } from "node:util";
import { bootUnavailableReason, runBoot, upgradeFromProblem } from "./run.js";

/**
 * `npm run test:boot -- --cloud do [--support-access] [--upgrade-from <openclaw version>] [--json]`: boots the host a
 * stack renders under QEMU and prints every check (`--support-access`: with the support agent, its checks and the
 * ClawChat round trip; `--upgrade-from`: boot 1 runs that openclaw version, boot 2 the pinned one). Exit codes: 0 every check true, 1 a check
 * false or the boot failed, 2 bad usage or a machine that cannot boot.
 */
async function main(): Promise<number> {
  let values: { cloud?: string; json?: boolean; "support-access"?: boolean; "upgrade-from"?: string };
  try {
    ({ values } = parseArgs({ options: { cloud: { type: "string" }, json: { type: "boolean" }, "support-access": { type: "boolean" }, "upgrade-from": { type: "string" } }, strict: true }));
  } catch (error) {
    console.error(`test:boot: ${(error as Error).message}; usage: npm run test:boot -- --cloud do [--support-access] [--upgrade-from <openclaw version>] [--json]`);
    return 2;
  }
  const cloud = values.cloud ?? "do";
  if (cloud !== "do") {
    console.error(`test:boot: \`--cloud\` must be do (aws and gcp are not booted yet: docs/boot.md); got ${JSON.stringify(cloud)}`);
    return 2;
  }
  const upgradeProblem = values["upgrade-from"] === undefined ? undefined : upgradeFromProblem(values["upgrade-from"]);
  if (upgradeProblem) {
    console.error(`test:boot: ${upgradeProblem}`);
    return 2;
  }
  const unavailable = bootUnavailableReason();
  if (unavailable) {
    console.error(`test:boot: cannot boot on this machine: ${unavailable}`);
    return 2;
  }
  const log = (line: string) => console.error(`[boot] ${line}`);
  const summary = await runBoot(cloud, log, { supportAccess: values["support-access"] === true, upgradeFrom: values["upgrade-from"] });
  if (values.json) {
    console.log(JSON.stringify({ cloud: summary.cloud, supportAccess: values["support-access"] === true, upgradeFrom: values["upgrade-from"] ?? null, ok: summary.ok, checks: Object.fromEntries(summary.checks.map((entry) => [entry.name, entry.ok])),
      details: summary.checks, boots: summary.boots, imageBuildSeconds: summary.imageBuildSeconds, wallSeconds: summary.wallSeconds }, null, 2));
  } else {
    for (const boot of summary.boots) {
      console.log(`boot ${boot.boot} (${boot.accel}): ready (/readyz) ${boot.times.readyz ?? "-"} s after power-on; first boot done ${boot.times.firstBootDone ?? "-"} s; memory peak ${boot.memoryPeakMiB ?? "-"} MiB`);
    }
    const failed = summary.checks.filter((entry) => !entry.ok);
    console.log(`${summary.checks.length - failed.length}/${summary.checks.length} checks true${failed.length ? `; false: ${failed.map((entry) => entry.name).join(", ")}` : ""} (${summary.wallSeconds} s)`);
  }
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`test:boot: ${(error as Error).message}`);
    process.exit(1);
  },
);
