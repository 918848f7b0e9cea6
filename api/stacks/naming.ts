/**
 * Stack names: one Pulumi stack per user and instance, named
 *
 *     u-<first 12 hex of SHA-256(userId)>-i-<instance hex>
 *
 * e.g. `u-3f9a0c12be47-i-5d0e...` (49 characters). Stable for the instance's
 * whole life (stored on the instance row at creation), made of lowercase
 * letters, digits and dashes as every backend and `program/synth.ts` accept,
 * groupable per user in `pulumi stack ls`, and unique because the instance
 * part is the instance's own 128-bit random id. No user id or email appears
 * in clear in the state backend.
 */
import { createHash, randomBytes } from "node:crypto";

const INSTANCE_ID_PATTERN = /^inst_([0-9a-f]{32})$/;

/** A new instance id: `inst_` and 128 random bits in lowercase hex. */
export function newInstanceId(): string {
  return `inst_${randomBytes(16).toString("hex")}`;
}

export function userStackPrefix(userId: string): string {
  return `u-${createHash("sha256").update(userId).digest("hex").slice(0, 12)}`;
}

export function stackNameFor(userId: string, instanceId: string): string {
  const match = INSTANCE_ID_PATTERN.exec(instanceId);
  if (!match) {
    throw new Error(`\`instanceId\` must be \`inst_\` and 32 lowercase hex characters; got ${JSON.stringify(instanceId)}`);
  }
  return `${userStackPrefix(userId)}-i-${match[1]}`;
}
