import { stackRule } from "../../lib/rule";
import { OPT_OUT_SOURCE, STATE_DISK_TYPES, snapshotsOptedOut } from "../../lib/snapshots";

/**
 * A stack that turns snapshots off in so many words has its opt-out reported on every state disk.
 *
 * The mandatory `stack-state-disk-snapshot-schedule` and
 * `digitalocean-droplet-backups` stay silent for such a stack; this rule keeps
 * the decision visible in every review (advisory: the stack chose it).
 *
 * @severity medium
 * @enforcement advisory
 * @unknown skip
 */
export default stackRule(
  __filename,
  {
    description: "A stack that turns snapshots off in so many words has its opt-out reported on every state disk.",
    why: "Without snapshots a deleted or corrupted state disk is gone for good; that may be the right call for a throwaway host, but it must stay a visible, deliberate choice, never a silent default.",
    fix: "Nothing to fix if the opt-out is meant (say why in a comment next to `clawstack:snapshots`); otherwise remove `enabled: false` to get the default schedule back.",
    severity: "medium",
    enforcementLevel: "advisory",
    unknownValues: "skip",
  },
  (args, report, config) => {
    if (!snapshotsOptedOut(config)) return;
    for (const resource of args.resources) {
      if (!STATE_DISK_TYPES.includes(resource.type)) continue;
      report(`explicit opt-out: ${OPT_OUT_SOURCE} in the stack's config, so this state disk has no scheduled snapshots`, resource.urn);
    }
  },
);
