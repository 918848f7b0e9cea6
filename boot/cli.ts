import { parseBootArgs } from "./args.js";
import { bootUnavailableReason, runBoot } from "./run.js";

/**
 * `npm run test:boot -- --cloud do [--no-support-access] [--upgrade-from <openclaw version>] [--proxy-device] [--json]`: boots the host a
 * stack renders under QEMU and prints every check (boot/args.ts: what each flag does; docs/boot.md). Exit codes: 0
 * every check true, 1 a check false or the boot failed, 2 bad usage or a machine that cannot boot.
 */
async function main(): Promise<number> {
  const parsed = parseBootArgs(process.argv.slice(2));
  if ("problem" in parsed) {
    console.error(`test:boot: ${parsed.problem}`);
    return 2;
  }
  const { cloud, json, supportAccess, upgradeFrom, proxyDevice } = parsed.args;
  const unavailable = bootUnavailableReason();
  if (unavailable) {
    console.error(`test:boot: cannot boot on this machine: ${unavailable}`);
    return 2;
  }
  const log = (line: string) => console.error(`[boot] ${line}`);
  const summary = await runBoot(cloud, log, { supportAccess, upgradeFrom, proxyDevice: proxyDevice === true });
  if (json) {
    console.log(JSON.stringify({ cloud: summary.cloud, supportAccess, upgradeFrom: upgradeFrom ?? null, proxyDevice: proxyDevice === true, ok: summary.ok, checks: Object.fromEntries(summary.checks.map((entry) => [entry.name, entry.ok])),
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
