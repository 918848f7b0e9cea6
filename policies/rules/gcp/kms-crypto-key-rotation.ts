import { resourceRule } from "../../lib/rule";

/** 90 days: Google's recommendation for symmetric keys and the CIS Google Cloud benchmark's upper bound. */
export const MAX_ROTATION_SECONDS = 90 * 24 * 3600;

/** Seconds in a Cloud KMS duration (`"7776000s"`, `"7776000.5s"`), or undefined when it is not one. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/**
 * Cloud KMS symmetric encryption keys (`purpose` `ENCRYPT_DECRYPT`, the default) rotate at least every 90 days.
 *
 * Cloud KMS rotates only symmetric encryption keys automatically: asymmetric
 * signing or decryption keys (`ASYMMETRIC_SIGN`, `ASYMMETRIC_DECRYPT`), MAC
 * and raw keys are not checked.
 *
 * @severity medium
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Cloud KMS symmetric encryption keys (`purpose` `ENCRYPT_DECRYPT`, the default) rotate at least every 90 days.",
    why: "Customer-managed keys encrypt the firmware bucket (CMEK), state disks and secrets; without a rotation period every new write uses the same key version forever, so one leaked version keeps its value and the blast radius never shrinks.",
    fix: "Set `rotationPeriod` to at most `\"7776000s\"` (90 days) on the `gcp.kms.CryptoKey`.",
    severity: "medium",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:kms/cryptoKey:CryptoKey"],
  },
  (args, report) => {
    const purpose = String(args.props.purpose ?? "ENCRYPT_DECRYPT").toUpperCase();
    if (purpose !== "ENCRYPT_DECRYPT") return;
    const period = args.props.rotationPeriod;
    const seconds = durationSeconds(period);
    if (seconds === undefined) {
      report(`symmetric encryption key: \`rotationPeriod\` must be set (at most "${MAX_ROTATION_SECONDS}s", 90 days); got ${JSON.stringify(period ?? null)}`);
    } else if (seconds > MAX_ROTATION_SECONDS) {
      report(`\`rotationPeriod\` must be at most "${MAX_ROTATION_SECONDS}s" (90 days); got ${JSON.stringify(period)}`);
    }
  },
);
