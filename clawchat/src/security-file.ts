/**
 * The encrypted security file of seed 002 §6 (protocol §10): its JSON content,
 * the PBKDF2 + AES-256-GCM package, and reading it back with every field
 * checked. The files on disk (permissions, atomic writes) are `security-dir.ts`.
 * Refusals are `ConfigError`s naming the field.
 */
import { createCipheriv, createDecipheriv, createHash, pbkdf2, randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { ConfigError } from "./errors";

const pbkdf2Async = promisify(pbkdf2);

export const BOOTSTRAP_KEY_FILE = "bootstrap.key";
export const DEFAULT_ITERATIONS = 600_000;
export const MIN_ITERATIONS = 100_000;
/** Reading refuses more than this, so a crafted file cannot pin a CPU for minutes. */
export const MAX_ITERATIONS = 10_000_000;
export const PACKAGE_ALGORITHM = "aes-256-gcm-pbkdf2";
export const SECURITY_FILE_PATTERN = /^clawchat-(\d{8})-(\d{6})\.sec$/;
export const DEFAULT_VALIDITY_SECONDS = 7 * 24 * 3600;

/** The JSON of seed 002 §6.2, as it is before encryption. Times are Unix seconds. */
export interface SecurityFileContent {
  version: "2.0";
  protocol: "clawchat-file-v2";
  server_id: string;
  server_name: string;
  server_public_ip: string;
  server_udp_port: number;
  shared_secret: string;
  bootstrap_key_id: string;
  timestamp: number;
  valid_from: number;
  valid_until: number;
  next_rotation: number;
  grace_period: number;
  supported_ciphers: string[];
  nat_traversal: { stun_servers: string[]; hole_punch_timeout: number };
  compromised_protocol: { signal: "CLAWCHAT_COMPROMISED_V2"; response_timeout: number };
}

/** The encrypted package of §6.3 (every binary value base64). */
export interface SecurityPackage {
  version: "2.0";
  salt: string;
  iv: string;
  ciphertext: string;
  tag: string;
  algorithm: typeof PACKAGE_ALGORITHM;
  iterations: number;
  timestamp: number;
}

export function generateBootstrapKey(): Buffer {
  return randomBytes(32);
}

/** `bootstrap-` and the first 12 hex digits of SHA-256(key): names the key without revealing it. */
export function bootstrapKeyId(bootstrapKey: Buffer): string {
  return `bootstrap-${createHash("sha256").update(bootstrapKey).digest("hex").slice(0, 12)}`;
}

export async function deriveFileKey(bootstrapKey: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(bootstrapKey, salt, iterations, 32, "sha256");
}

/** §6.3: PBKDF2-HMAC-SHA256(raw bootstrap key, salt) → AES-256-GCM over the JSON. `salt`/`iv`/`timestamp` are fixed only by the test vectors. */
export async function encryptSecurityFile(
  content: SecurityFileContent,
  bootstrapKey: Buffer,
  options: { iterations?: number; salt?: Buffer; iv?: Buffer; timestamp?: number } = {},
): Promise<SecurityPackage> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  checkIterations(iterations);
  const salt = options.salt ?? randomBytes(32);
  const iv = options.iv ?? randomBytes(12);
  const fileKey = await deriveFileKey(bootstrapKey, salt, iterations);
  const cipher = createCipheriv("aes-256-gcm", fileKey, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(content), "utf8"), cipher.final()]);
  fileKey.fill(0);
  return {
    version: "2.0",
    salt: salt.toString("base64"),
    iv: iv.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    algorithm: PACKAGE_ALGORITHM,
    iterations,
    timestamp: options.timestamp ?? Date.now() / 1000,
  };
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new ConfigError(
      "iterations",
      `\`iterations\` must be an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}; got ${JSON.stringify(iterations)}`,
    );
  }
}

/**
 * Parses and decrypts a security file's text. `source` names the file in errors.
 * Refuses a malformed package, a wrong bootstrap key (indistinguishable from a
 * tampered ciphertext: the GCM tag fails) and malformed content. Expiry is
 * checked separately (`checkValidity`) because the server and client treat it differently.
 */
export async function decryptSecurityFile(text: string, bootstrapKey: Buffer, source = "security file"): Promise<SecurityFileContent> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError("security_file", `${source} is not valid JSON (truncated or corrupted)`);
  }
  const pkg = expectObject(raw, "security_file", source);
  if (pkg.version !== "2.0") throw fieldError("version", source, `"2.0"`, pkg.version);
  if (pkg.algorithm !== PACKAGE_ALGORITHM) throw fieldError("algorithm", source, `"${PACKAGE_ALGORITHM}"`, pkg.algorithm);
  const iterations = pkg.iterations;
  if (typeof iterations !== "number" || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw fieldError("iterations", source, `an integer from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`, iterations);
  }
  const salt = base64Field(pkg, "salt", source, 32);
  const iv = base64Field(pkg, "iv", source, 12);
  const tag = base64Field(pkg, "tag", source, 16);
  const ciphertext = base64Field(pkg, "ciphertext", source);
  if (ciphertext.length === 0) throw fieldError("ciphertext", source, "non-empty base64", "");
  const fileKey = await deriveFileKey(bootstrapKey, salt, iterations);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", fileKey, iv);
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new ConfigError(
      "bootstrap_key",
      `${source} does not decrypt with this bootstrap key: the key is wrong or the file was altered (the AES-GCM tag does not verify)`,
    );
  } finally {
    fileKey.fill(0);
  }
  let content: unknown;
  try {
    content = JSON.parse(plaintext.toString("utf8"));
  } catch {
    throw new ConfigError("security_file", `${source} decrypted but its content is not JSON`);
  }
  return validateContent(content, source);
}

function validateContent(raw: unknown, source: string): SecurityFileContent {
  const c = expectObject(raw, "security_file", source);
  if (c.version !== "2.0") throw fieldError("version", source, `"2.0"`, c.version);
  if (c.protocol !== "clawchat-file-v2") throw fieldError("protocol", source, `"clawchat-file-v2"`, c.protocol);
  for (const key of ["server_id", "server_name", "server_public_ip", "bootstrap_key_id"] as const) {
    if (typeof c[key] !== "string" || (c[key] as string).length === 0) throw fieldError(key, source, "a non-empty string", c[key]);
  }
  const port = c.server_udp_port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw fieldError("server_udp_port", source, "an integer from 1 to 65535", port);
  }
  const secret = typeof c.shared_secret === "string" ? Buffer.from(c.shared_secret, "base64") : Buffer.alloc(0);
  if (secret.length !== 32) throw fieldError("shared_secret", source, "32 bytes in base64", `${secret.length} bytes`);
  for (const key of ["timestamp", "valid_from", "valid_until", "next_rotation", "grace_period"] as const) {
    if (typeof c[key] !== "number" || !Number.isFinite(c[key])) throw fieldError(key, source, "a number (Unix seconds)", c[key]);
  }
  if ((c.valid_until as number) <= (c.valid_from as number)) {
    throw fieldError("valid_until", source, "a time after `valid_from`", c.valid_until);
  }
  if (!Array.isArray(c.supported_ciphers) || !c.supported_ciphers.includes("AES-256-GCM")) {
    throw fieldError("supported_ciphers", source, `a list containing "AES-256-GCM"`, c.supported_ciphers);
  }
  return c as unknown as SecurityFileContent;
}

/** Refuses a file outside [valid_from, valid_until] (seconds), naming the field and both times. */
export function checkValidity(content: SecurityFileContent, nowMs: number, source = "security file"): void {
  const now = nowMs / 1000;
  if (now >= content.valid_until) {
    throw new ConfigError(
      "valid_until",
      `${source} expired: \`valid_until\` is ${new Date(content.valid_until * 1000).toISOString()}, it is now ${new Date(nowMs).toISOString()}; ask the server operator for a new security file`,
    );
  }
  if (now + 300 < content.valid_from) {
    throw new ConfigError("valid_from", `${source} is not valid yet: \`valid_from\` is ${new Date(content.valid_from * 1000).toISOString()}`);
  }
}

function expectObject(raw: unknown, field: string, source: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(field, `${source} must hold a JSON object; got ${Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  return raw as Record<string, unknown>;
}

function fieldError(field: string, source: string, allowed: string, given: unknown): ConfigError {
  const shown = typeof given === "string" ? JSON.stringify(given.slice(0, 40)) : String(JSON.stringify(given) ?? given).slice(0, 40);
  return new ConfigError(field, `${source}: \`${field}\` must be ${allowed}; got ${shown}`);
}

function base64Field(pkg: Record<string, unknown>, field: string, source: string, length?: number): Buffer {
  const value = pkg[field];
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new ConfigError(field, `${source}: \`${field}\` must be base64; got ${typeof value === "string" ? `${value.length} characters that are not base64` : typeof value}`);
  }
  const bytes = Buffer.from(value, "base64");
  if (length !== undefined && bytes.length !== length) {
    throw new ConfigError(field, `${source}: \`${field}\` must be ${length} bytes; got ${bytes.length} (truncated or corrupted)`);
  }
  return bytes;
}

export function securityFileName(validFromSeconds: number): string {
  const iso = new Date(validFromSeconds * 1000).toISOString(); // 2026-02-22T12:00:00.000Z
  return `clawchat-${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}.sec`;
}

export interface IssueOptions {
  serverIp: string;
  port: number;
  name: string;
  serverId?: string;
  validitySeconds?: number;
  iterations?: number;
  nowMs: number;
}

export function buildContent(bootstrapKey: Buffer, options: IssueOptions, sharedSecret: Buffer = randomBytes(32)): SecurityFileContent {
  const now = Math.floor(options.nowMs / 1000);
  return {
    version: "2.0",
    protocol: "clawchat-file-v2",
    server_id: options.serverId ?? `cc-${randomUUID()}`,
    server_name: options.name,
    server_public_ip: options.serverIp,
    server_udp_port: options.port,
    shared_secret: sharedSecret.toString("base64"),
    bootstrap_key_id: bootstrapKeyId(bootstrapKey),
    timestamp: now,
    valid_from: now,
    valid_until: now + (options.validitySeconds ?? DEFAULT_VALIDITY_SECONDS),
    next_rotation: now + 3600,
    grace_period: 300,
    supported_ciphers: ["AES-256-GCM"],
    nat_traversal: { stun_servers: [], hole_punch_timeout: 60 },
    compromised_protocol: { signal: "CLAWCHAT_COMPROMISED_V2", response_timeout: 10 },
  };
}
