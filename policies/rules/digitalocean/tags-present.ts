import { resourceRule } from "../../lib/rule";
import { missingOwnershipTag } from "../../lib/ownership";

/**
 * Droplets and volumes carry the `ManagedBy:claw-cloud` tag.
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Droplets and volumes carry the `ManagedBy:claw-cloud` tag.",
    why: "DigitalOcean Cloud Firewalls and scoped automation select droplets by tag: an untagged droplet silently falls outside its firewall and outside what ClawStack manages.",
    fix: "Add `ManagedBy:claw-cloud` to `tags` (the host component tags every droplet and volume).",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["digitalocean:index/droplet:Droplet", "digitalocean:index/volume:Volume"],
  },
  (args, report) => {
    const missing = missingOwnershipTag(args.type, args.props);
    if (missing) report(missing);
  },
);
