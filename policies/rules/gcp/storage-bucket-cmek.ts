import { resourceRule } from "../../lib/rule";
import { isSet } from "../../lib/values";

/**
 * GCS buckets encrypt with a customer-managed Cloud KMS key.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCS buckets encrypt with a customer-managed Cloud KMS key.",
    why: "With CMEK, reading an artifact needs the key as well, the key's IAM is a second gate, and disabling the key makes the data unreadable at once.",
    fix: "Set `encryption: { defaultKmsKeyName: cryptoKey.id }` and grant the GCS service agent `roles/cloudkms.cryptoKeyEncrypterDecrypter` on that key.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:storage/bucket:Bucket"],
  },
  (args, report) => {
    // A key created in the same stack is not known at preview: set-but-unknown counts as set.
    if (!isSet(args.props.encryption, "defaultKmsKeyName")) report("`encryption.defaultKmsKeyName` must name a Cloud KMS key");
  },
);
