import { resourceRule } from "../../lib/rule";

/**
 * Droplets have backups on.
 *
 * @severity medium
 * @enforcement advisory
 * @unknown skip
 */
export default resourceRule(
  __filename,
  {
    description: "Droplets have backups on.",
    why: "Droplet backups are DigitalOcean's only scheduled copy of the boot disk; without them a broken upgrade or a deleted droplet cannot be rolled back.",
    fix: "Set `backups: true` with a `backupPolicy` (the snapshot component does this); opting out is a choice worth an exemption with a reason.",
    severity: "medium",
    enforcementLevel: "advisory",
    unknownValues: "skip",
    appliesTo: ["digitalocean:index/droplet:Droplet"],
  },
  (args, report) => {
    if (args.props.backups !== true) report("`backups` must be true");
  },
);
