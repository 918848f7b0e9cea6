import { resourceRule } from "../../lib/rule";

/**
 * No GCP service-account key or HMAC key is created.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "No GCP service-account key or HMAC key is created.",
    why: "A key is a long-lived credential that ends up in state, files and CI logs; workload identity federation and attached service accounts give short-lived tokens instead.",
    fix: "Remove the key; use workload identity federation (provisioner) or the instance's attached service account (host).",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:serviceaccount/key:Key", "gcp:storage/hmacKey:HmacKey"],
  },
  (args, report) => {
    report(`\`${args.type}\` creates a long-lived key; no key resources are allowed`);
  },
);
