/**
 * What the snapshot rules share: whether the stack opted out of snapshots in
 * so many words (`snapshots: {enabled: false}`, carried into the rule config
 * as `snapshotsEnabled: false`), and which resources are state disks.
 */
import type { RuleConfig } from "./config";

/** The disks whose loss loses the user's OpenClaw state. */
export const STATE_DISK_TYPES: readonly string[] = [
  "aws:ebs/volume:Volume",
  "gcp:compute/disk:Disk",
  "digitalocean:index/volume:Volume",
];

/** Only an explicit `false` opts out; absent or anything else keeps snapshots required (closed by default). */
export function snapshotsOptedOut(config: RuleConfig): boolean {
  return config.snapshotsEnabled === false;
}

export const OPT_OUT_SOURCE = "`clawstack:snapshots: {enabled: false}`";
