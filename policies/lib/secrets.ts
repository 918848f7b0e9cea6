/**
 * Finding plaintext secrets in user-data, metadata, tags and labels. Findings
 * name the kind of secret and where it is, never the value.
 */
import { gunzipSync } from "node:zlib";
import { SECRET_PLACEHOLDER } from "../../program/synth-types";

interface Detector {
  kind: string;
  pattern: RegExp;
}

const DETECTORS: readonly Detector[] = [
  { kind: "a private key block", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
  { kind: "an AWS access key ID", pattern: /\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b/ },
  { kind: "a DigitalOcean token", pattern: /\bdo[opr]_v1_[a-f0-9]{64}\b/ },
  { kind: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
];

/** `NAME=value`, `NAME: value`, `"name": "value"` where the name says it holds a secret. */
const ASSIGNMENT =
  /(?:^|[^A-Za-z0-9_])["']?([A-Za-z0-9_.-]*(?:token|password|passwd|secret|api[_-]?key|access[_-]?key)[A-Za-z0-9_.-]*)["']?\s*[:=]\s*["']?([^\s"'`,;}]+)/gi;

/** Minimum length and Shannon entropy (bits per character) for an assigned value to count as a secret. */
export const MIN_SECRET_LENGTH = 16;
export const MIN_SECRET_ENTROPY = 3.5;

export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * References, paths and templates are not secrets: `$VAR`, `$(cmd)`, `${x}`, `/path`, `{{ x }}`, `<placeholder>`,
 * and a shell-escaped `\${x}` (kept literal in an unquoted heredoc for the program that reads the file to expand).
 */
function looksLikeReference(value: string): boolean {
  return /^\\?[$/{<%@]/.test(value) || value.startsWith("file:") || value.startsWith("arn:");
}

/**
 * Something every detector and the assignment pattern needs to find; text
 * without any of it holds none of the secrets above (a quick gate, no verdict).
 */
const ANY_SECRET_HINT = /-----BEGIN|A[KS]IA|AROA|AIDA|do[opr]_v1_|eyJ|token|passw|secret|api[_-]?key|access[_-]?key/i;

/** Whether a name (a tag key, a variable) says its value is a secret. */
export function namesASecret(name: string): boolean {
  return /token|passw|secret|api[_-]?key|access[_-]?key/i.test(name);
}

/** The kinds of secret found in `text` (deduplicated). */
export function secretKinds(text: string): string[] {
  if (!ANY_SECRET_HINT.test(text)) return [];
  const kinds = new Set<string>();
  for (const { kind, pattern } of DETECTORS) if (pattern.test(text)) kinds.add(kind);
  for (const match of text.matchAll(ASSIGNMENT)) {
    const value = match[2] ?? "";
    if (value.length >= MIN_SECRET_LENGTH && !looksLikeReference(value) && shannonEntropy(value) >= MIN_SECRET_ENTROPY) {
      kinds.add(`a high-entropy value assigned to \`${match[1]}\``);
    }
  }
  return [...kinds];
}

/** Base64 text decoded (and gunzipped when it is gzip), or undefined when it is not base64. */
export function decodeBase64Text(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return undefined; // cheap refusal before copying
  const compact = value.replace(/\s+/g, "");
  if (compact.length < 8 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes).toString("utf8");
    } catch {
      return undefined;
    }
  }
  return bytes.toString("utf8");
}

/**
 * Findings for one value at `path`: plain text is scanned as is and, when it
 * is base64 (plain or gzipped), decoded too. A redacted Pulumi secret counts:
 * it means a secret ends up in plaintext on the instance or in the console.
 */
export function scanText(path: string, value: unknown, base64: boolean): string[] {
  if (value === undefined || value === null) return [];
  const text = String(value);
  if (text === SECRET_PLACEHOLDER) {
    return [`\`${path}\` is a Pulumi secret: its plaintext is readable from instance metadata or the cloud console`];
  }
  const kinds = new Set(secretKinds(text));
  const decoded = base64 || text.length >= 64 ? decodeBase64Text(text) : undefined;
  if (decoded !== undefined) for (const kind of secretKinds(decoded)) kinds.add(kind);
  return [...kinds].map((kind) => `\`${path}\` contains ${kind}`);
}
