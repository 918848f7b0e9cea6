import { resourceRule } from "../../lib/rule";
import { snapshotsOptedOut } from "../../lib/snapshots";

/**
 * Droplets have backups on, unless the stack opts out of snapshots explicitly.
 *
 * An opt-out is only `snapshots: {enabled: false}` in the stack's config;
 * `stack-snapshots-opted-out` then reports it (advisory).
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Droplets have backups on, unless the stack opts out of snapshots explicitly.",
    why: "Droplet backups are DigitalOcean's only scheduled copy of the boot disk; without them a broken upgrade or a deleted droplet cannot be rolled back.",
    fix: "Set `backups: true` with a `backupPolicy` (the snapshot component does this), or turn snapshots off in so many words with `clawstack:snapshots: {enabled: false}`.",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["digitalocean:index/droplet:Droplet"],
  },
  (args, report, config) => {
    if (snapshotsOptedOut(config)) return;
    if (args.props.backups !== true) report(`\`backups\` must be true; got ${JSON.stringify(args.props.backups ?? null)}`);
  },
);
