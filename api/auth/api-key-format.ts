/**
 * Agent API keys: `clk_<id>_<secret>`. The `clk_<id>` prefix is public and
 * identifies the key (in lists, logs and the audit trail); the secret is 256
 * random bits; only the SHA-256 of the whole key is stored.
 */
import { randomBytes } from "node:crypto";

const KEY_PATTERN = /^clk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  id: string;
  prefix: string;
  key: string;
}

export function generateApiKey(): NewApiKey {
  const id = randomAlphanumeric(12);
  const prefix = `clk_${id}`;
  return { id, prefix, key: `${prefix}_${randomBytes(32).toString("base64url")}` };
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith("clk_");
}

/** The key's prefix if it is well-formed, else undefined. */
export function parseApiKey(token: string): { prefix: string } | undefined {
  const match = KEY_PATTERN.exec(token);
  return match ? { prefix: `clk_${match[1]}` } : undefined;
}

function randomAlphanumeric(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(length * 2);
  let out = "";
  // Rejection sampling keeps every character equally likely.
  for (const byte of bytes) {
    if (byte < 248) out += alphabet[byte % 62];
    if (out.length === length) return out;
  }
  return out + randomAlphanumeric(length - out.length);
}
