import { resourceRule } from "../../lib/rule";
import { namesASecret, scanText, shannonEntropy } from "../../lib/secrets";

/**
 * Public keys and certificates look like key material but are meant to be
 * shared: an SSH public key line, a PEM public key or certificate.
 */
export function isPublicKeyMaterial(value: string): boolean {
  const text = value.trim();
  return (
    /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+AAAA[A-Za-z0-9+/=]+(\s.*)?$/.test(text) ||
    /^-----BEGIN (RSA |EC )?PUBLIC KEY-----[\s\S]*-----END (RSA |EC )?PUBLIC KEY-----$/.test(text) ||
    /^-----BEGIN CERTIFICATE-----[\s\S]*-----END CERTIFICATE-----$/.test(text)
  );
}

/** A parameter name that says it holds a secret: the pack's secret words plus private keys and credentials. */
export function nameSaysSecret(name: string): boolean {
  return namesASecret(name) || /private[-_]?key|credential|(^|[/_.-])(key|keys)($|[/_.-])/i.test(name);
}

/** Names that say the value is a public fingerprint of something, never a secret. */
const DIGEST_NAME = /digest|hash|checksum|fingerprint|sha(1|256|384|512)?($|[/_.-])|(^|[/_.-])(id|arn|url|uri)$/i;

/** A standalone token: one long run of token characters with high entropy (not a UUID, an ARN or a path). */
function looksLikeToken(value: string): boolean {
  const text = value.trim();
  if (text.length < 32 || !/^[A-Za-z0-9+/=_.~-]+$/.test(text)) return false;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text)) return false;
  return shannonEntropy(text) >= 3.5;
}

/** References and non-secret shapes a secret-sounding name may still hold: ARNs, paths, URLs without credentials, numbers, booleans. */
function isReference(value: string): boolean {
  const text = value.trim();
  return (
    text === "" ||
    /^(arn|alias):/.test(text) ||
    text.startsWith("/") ||
    /^https?:\/\/[^@\s]+$/.test(text) ||
    /^-?\d+(\.\d+)?$/.test(text) ||
    /^(true|false)$/i.test(text)
  );
}

/**
 * SSM parameters that hold a secret (private key, token, password; by value or by name) are `SecureString`.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "SSM parameters that hold a secret (private key, token, password; by value or by name) are `SecureString`.",
    why: "A `String` or `StringList` parameter is stored and returned in plaintext: anyone who may read the parameter, the console and every tool that dumps parameters see it without any KMS permission, as exposed as a secret in user data.",
    fix: "Use `type: \"SecureString\"` (with the stack's KMS key) for secrets; keep `String` for public values such as SSH public keys, IDs and URLs.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:ssm/parameter:Parameter"],
  },
  (args, report) => {
    const props = args.props;
    const type = String(props.type ?? "String");
    if (type === "SecureString") return;
    const name = String(props.name ?? args.name);
    // `insecureValue` is the provider's field for values it need not hide; both end up in plaintext.
    for (const key of ["value", "insecureValue"]) {
      const raw = props[key];
      if (raw === undefined || raw === null) continue;
      const text = String(raw);
      if (isPublicKeyMaterial(text)) continue;
      const found = scanText(key, text, false);
      if (found.length === 0 && nameSaysSecret(name) && !DIGEST_NAME.test(name) && !isReference(text)) {
        found.push(`the name \`${name}\` says \`${key}\` is a secret`);
      } else if (found.length === 0 && !DIGEST_NAME.test(name) && looksLikeToken(text)) {
        found.push(`\`${key}\` looks like a token (a long high-entropy string)`);
      }
      for (const finding of found) report(`a \`${type}\` parameter is stored in plaintext: ${finding}; use \`SecureString\``);
    }
  },
);
