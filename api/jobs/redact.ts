/**
 * Secret redaction for everything a job writes (events, log lines, errors).
 * Two layers: the exact secret values a job holds (its credentials, the
 * deployment passphrase, the registration token), and patterns of well-known
 * token formats in case an engine echoes one we were not told about.
 */
export const REDACTED = "[secret]";

/**
 * Shapes of credentials that must never reach a job event, whoever printed
 * them. A `keep` pattern's first group (a label such as `Bearer `) is kept.
 */
const SECRET_PATTERNS: { pattern: RegExp; keep?: true }[] = [
  { pattern: /\bdo[opr]_v1_[A-Fa-f0-9]{64}\b/g }, // DigitalOcean tokens
  { pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g }, // AWS access key id
  { pattern: /((?:aws_secret_access_key|aws_session_token)["'\s:=]+)[A-Za-z0-9/+=]{16,}/gi, keep: true },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g },
  { pattern: /\bya29\.[A-Za-z0-9_-]{20,}/g }, // Google OAuth access token
  { pattern: /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi, keep: true },
  { pattern: /\bcsreg_[A-Za-z0-9_-]{20,}/g }, // ClawStack registration token
];

export type Redactor = <T>(value: T) => T;

/** Secrets shorter than this are not matched literally (they would redact ordinary words). */
const MIN_SECRET_LENGTH = 8;

export function createRedactor(secrets: Iterable<string>): Redactor {
  const literals = [...new Set([...secrets].filter((secret) => secret.length >= MIN_SECRET_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
  const redactText = (text: string): string => {
    let result = text;
    for (const secret of literals) result = result.split(secret).join(REDACTED);
    for (const { pattern, keep } of SECRET_PATTERNS) {
      result = result.replace(pattern, keep ? `$1${REDACTED}` : REDACTED);
    }
    return result;
  };
  const redact = (value: unknown): unknown => {
    if (typeof value === "string") return redactText(value);
    if (Array.isArray(value)) return value.map(redact);
    if (value && typeof value === "object") {
      const result: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) result[key] = redact(inner);
      return result;
    }
    return value;
  };
  return <T>(value: T): T => redact(value) as T;
}
