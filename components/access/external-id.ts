import { randomBytes } from "node:crypto";

/**
 * External IDs for the AWS provisioner role (seed 001 §3, issue 3 item 2).
 *
 * ClawStack generates one per customer account; the customer never chooses it.
 * An external ID is not a secret (it sits in the customer's trust policy and in
 * our database), but it must be unguessable and unique so that no other Claw
 * Cloud customer can make our provisioner act on this account ("confused
 * deputy"). STS accepts 2 to 1224 characters of `[\w+=,.@:/-]`; we use the
 * subset every SDK and console accepts: 32 to 64 characters of `[A-Za-z0-9]`.
 */
export const EXTERNAL_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const EXTERNAL_ID_MIN_LENGTH = 32;
export const EXTERNAL_ID_MAX_LENGTH = 64;
/** Generated IDs use this length: 48 characters of a 62-letter alphabet is about 285 bits. */
export const EXTERNAL_ID_DEFAULT_LENGTH = 48;

const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9]+$/;

/**
 * Returns a new external ID from the operating system's CSPRNG.
 *
 * Each character is drawn by rejection sampling: a random byte is used only
 * when it is below 248 (the largest multiple of 62 that fits in a byte), so
 * every letter of the alphabet is exactly equally likely (no modulo bias).
 */
export function generateExternalId(length: number = EXTERNAL_ID_DEFAULT_LENGTH): string {
  if (!Number.isInteger(length) || length < EXTERNAL_ID_MIN_LENGTH || length > EXTERNAL_ID_MAX_LENGTH) {
    throw new RangeError(
      `\`length\` must be an integer from ${EXTERNAL_ID_MIN_LENGTH} to ${EXTERNAL_ID_MAX_LENGTH}; got ${String(length)}`,
    );
  }
  const alphabetSize = EXTERNAL_ID_ALPHABET.length;
  const limit = 256 - (256 % alphabetSize); // 248: bytes at or above it are rejected
  let id = "";
  while (id.length < length) {
    // Ask for more bytes than needed: about 3% are rejected.
    for (const byte of randomBytes(length - id.length + 8)) {
      if (byte >= limit) continue;
      id += EXTERNAL_ID_ALPHABET[byte % alphabetSize];
      if (id.length === length) break;
    }
  }
  return id;
}

/**
 * Why `value` is not an acceptable external ID, or `undefined` when it is.
 * The message never repeats a long value in full: it says what was wrong with it.
 */
export function externalIdProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return `must be a string; got ${value === undefined ? "nothing" : typeof value}`;
  if (value.length < EXTERNAL_ID_MIN_LENGTH || value.length > EXTERNAL_ID_MAX_LENGTH) {
    return `must be ${EXTERNAL_ID_MIN_LENGTH} to ${EXTERNAL_ID_MAX_LENGTH} characters of [A-Za-z0-9]; got ${value.length} characters`;
  }
  if (!EXTERNAL_ID_PATTERN.test(value)) {
    const bad = [...value].find((character) => !EXTERNAL_ID_ALPHABET.includes(character)) ?? "";
    return `must use only the characters [A-Za-z0-9]; got ${JSON.stringify(bad)} at position ${value.indexOf(bad) + 1}`;
  }
  return undefined;
}

/** What an operator records when rotating a customer's external ID. */
export interface ExternalIdRotation {
  /** The ID the trust policy accepted until now; it stops working once the new policy is deployed. */
  readonly previous: string;
  /** The ID to put in the stack config (`clawstack:externalId`) and in the provisioner's record. */
  readonly next: string;
}

/**
 * Rotates an external ID: returns a fresh one, guaranteed to differ from the
 * previous. Deploying the access stack with `next` rewrites the role's trust
 * policy to accept only `next`; from then on AssumeRole with `previous` is
 * refused by STS (see docs/connect-your-cloud.md, "Rotating the external ID").
 */
export function rotateExternalId(previous: string): ExternalIdRotation {
  let next = generateExternalId();
  while (next === previous) next = generateExternalId();
  return { previous, next };
}
