import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

/**
 * GCP instances and templates set the metadata `block-project-ssh-keys` to `true`.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCP instances and templates set the metadata `block-project-ssh-keys` to `true`.",
    why: "Project-wide SSH keys let every project member who ever added one log in to the host; the host must accept only keys given for it.",
    fix: "Add `metadata: { \"block-project-ssh-keys\": \"true\" }`.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:compute/instance:Instance", "gcp:compute/instanceTemplate:InstanceTemplate"],
  },
  (args, report) => {
    const value = field(args.props.metadata, "block-project-ssh-keys");
    if (String(value).toLowerCase() !== "true") {
      report(`\`metadata["block-project-ssh-keys"]\` must be "true"; got ${JSON.stringify(value ?? null)}`);
    }
  },
);
