import { stackRule } from "../../lib/rule";
import { TAGGABLE, missingOwnershipTag } from "../../lib/ownership";

/**
 * Every taggable resource carries the ownership tag (`ManagedBy=claw-cloud`, GCP label `managed-by`, DigitalOcean tag `ManagedBy:claw-cloud`).
 *
 * @severity low
 * @enforcement advisory
 * @unknown skip
 */
export default stackRule(
  __filename,
  {
    description:
      "Every taggable resource carries the ownership tag (`ManagedBy=claw-cloud`, GCP label `managed-by`, DigitalOcean tag `ManagedBy:claw-cloud`).",
    why: "Ownership tags are how the customer tells ClawStack's resources from their own, how costs are attributed and how leftovers are found and cleaned up.",
    fix: "Pass the component's default tags through to every child resource.",
    severity: "low",
    enforcementLevel: "advisory",
    unknownValues: "skip",
  },
  (args, report, _config, guard) => {
    for (const resource of args.resources) {
      if (!(resource.type in TAGGABLE)) continue;
      guard(resource.urn, () => {
        const missing = missingOwnershipTag(resource.type, resource.props);
        if (missing) report(missing, resource.urn);
      });
    }
  },
);
