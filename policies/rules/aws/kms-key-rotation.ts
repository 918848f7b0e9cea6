import { resourceRule } from "../../lib/rule";

/** AWS's own default and the longest period this pack accepts (AWS allows 90 to 2560 days). */
export const MAX_ROTATION_DAYS = 365;

/**
 * Symmetric AWS KMS encryption keys (`ENCRYPT_DECRYPT`, `SYMMETRIC_DEFAULT`) have automatic rotation on, at least once a year.
 *
 * Asymmetric keys (signing keys such as `ECC_NIST_P256` `SIGN_VERIFY`, RSA
 * encryption keys) and HMAC keys cannot rotate automatically in KMS and are
 * not checked: a signing key is replaced by publishing a new key.
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "Symmetric AWS KMS encryption keys (`ENCRYPT_DECRYPT`, `SYMMETRIC_DEFAULT`) have automatic rotation on, at least once a year.",
    why: "The keys that protect state disks, the gateway token parameter and firmware (SSE-KMS) would otherwise use one key version forever: a leaked or cryptanalysed version stays good for every new write, and nothing limits how much data one version protects.",
    fix: "Set `enableKeyRotation: true` (and, if given, `rotationPeriodInDays` at most 365) on the `aws.kms.Key`.",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:kms/key:Key"],
  },
  (args, report) => {
    const props = args.props;
    const usage = String(props.keyUsage ?? "ENCRYPT_DECRYPT").toUpperCase();
    // `keySpec` replaced `customerMasterKeySpec`; either may be given, and both default to SYMMETRIC_DEFAULT.
    const spec = String(props.keySpec ?? props.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT").toUpperCase();
    if (usage !== "ENCRYPT_DECRYPT" || spec !== "SYMMETRIC_DEFAULT") return;
    const rotation = props.enableKeyRotation;
    if (rotation !== true && String(rotation).toLowerCase() !== "true") {
      report(`symmetric encryption key: \`enableKeyRotation\` must be true; got ${JSON.stringify(rotation ?? null)}`);
      return;
    }
    const period = props.rotationPeriodInDays;
    if (period !== undefined && period !== null && !(Number(period) > 0 && Number(period) <= MAX_ROTATION_DAYS)) {
      report(`\`rotationPeriodInDays\` must be at most ${MAX_ROTATION_DAYS}; got ${JSON.stringify(period)}`);
    }
  },
);
