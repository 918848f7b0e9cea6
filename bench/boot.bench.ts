/**
 * `npm run bench -- boot`: one real boot of the DigitalOcean host under QEMU
 * (boot/run.ts), split into phases as seen on the serial console from the host:
 * kernel, cloud-init until ClawStack's first-boot script, Node.js install,
 * OpenClaw install, gateway start, first /readyz answer through TLS on :3000;
 * plus the guest's memory peak. The baseline is the first measurement
 * (docs/boot.md), printed next to this run's figures.
 */
import { bootUnavailableReason, runBoot } from "../boot/run";

/**
 * First measurement on the reference machine (2 shared cores, TCG, 2 GiB guest; docs/boot.md), boot 1 of the
 * first run that reached the gateway. Its gateway exited 78 before /readyz (docs/cloud-init.md, finding 6), so
 * there is no ready figure yet.
 */
const FIRST_MEASUREMENT: Record<string, number | undefined> = {
  "boot1.kernelToCloudInit_s": 32.6,
  "boot1.cloudInitModules_s": 230.1,
  "boot1.nodeInstall_s": 67,
  "boot1.openclawInstall_s": 493,
};

export default async function bench(): Promise<void> {
  const unavailable = bootUnavailableReason();
  if (unavailable) {
    console.log(`boot: skipped, ${unavailable}`);
    return;
  }
  const summary = await runBoot("do", (line) => console.error(`[boot] ${line}`));
  for (const boot of summary.boots) {
    const t = boot.times;
    const span = (from?: number, to?: number) => (from === undefined || to === undefined ? undefined : Math.round((to - from) * 10) / 10);
    const rows: Record<string, number | undefined> = {
      [`boot${boot.boot}.kernelToCloudInit_s`]: t.cloudInitStart,
      [`boot${boot.boot}.cloudInitModules_s`]: span(t.cloudInitStart, t.firstBootScript),
      [`boot${boot.boot}.nodeInstall_s`]: span(t.firstBootScript, t.nodeInstall),
      [`boot${boot.boot}.openclawInstall_s`]: span(t.nodeInstall, t.openclawInstall),
      [`boot${boot.boot}.gatewayStartToReady_s`]: span(t.gatewayStart, t.readyz),
      [`boot${boot.boot}.powerOnToReady_s`]: t.readyz,
      [`boot${boot.boot}.memoryPeak_MiB`]: boot.memoryPeakMiB,
      [`boot${boot.boot}.gatewayMemoryPeak_MiB`]: boot.gatewayMemoryPeakMiB,
    };
    for (const [name, value] of Object.entries(rows)) {
      const baseline = FIRST_MEASUREMENT[name];
      console.log(`${name.padEnd(36)} ${String(value ?? "-").padStart(8)}   first measurement ${baseline ?? "-"}`);
    }
  }
  console.log(`checks ${summary.checks.filter((check) => check.ok).length}/${summary.checks.length} true; wall ${summary.wallSeconds} s`);
}
