import { resourceRule } from "../../lib/rule";
import { field } from "../../lib/values";

const SETTINGS = ["enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"];

/**
 * GCP instances and templates turn on Shielded VM: secure boot, vTPM and integrity monitoring.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCP instances and templates turn on Shielded VM: secure boot, vTPM and integrity monitoring.",
    why: "Secure boot refuses unsigned boot components and integrity monitoring reports a tampered boot chain; a rootkit on the host would see every conversation.",
    fix: "Set `shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true }` on an image that supports it (Ubuntu 24.04 does).",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:compute/instance:Instance", "gcp:compute/instanceTemplate:InstanceTemplate"],
  },
  (args, report) => {
    const config = args.props.shieldedInstanceConfig;
    for (const setting of SETTINGS) {
      if (field(config, setting) !== true) report(`\`shieldedInstanceConfig.${setting}\` must be true`);
    }
  },
);
