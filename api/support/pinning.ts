/**
 * Pinning: a new instance trusts the device keys its owner holds when it is
 * created, and only those. `pinDeviceKeys` copies them into the instance row
 * in the creating transaction; the host config the engine runs carries them
 * (`supportAccessFor`), cloud-init writes them to /etc/clawstack/user-keys.json
 * and the host verifies grants and seals ClawChat keys with them. A key added
 * later is not trusted by hosts that already exist (docs/zero-access.md).
 */
import type { Kysely, Transaction } from "kysely";
import { type UserPublicKey, userKeyFingerprint } from "../../core/zero-access/user-keys";
import type { Database } from "../db/schema";
import { activeDeviceKeys, setPinnedKeys } from "./repo";

/** Hosts pin 1 to 16 device keys (the sealed box's recipient limit). */
export const MAX_PINNED_KEYS = 16;

export async function pinDeviceKeys(db: Kysely<Database> | Transaction<Database>, instance: { id: string; user_id: string }): Promise<UserPublicKey[]> {
  const keys = (await activeDeviceKeys(db, instance.user_id)).slice(-MAX_PINNED_KEYS);
  await setPinnedKeys(db, instance.id, keys);
  return keys;
}

/** The pinned keys of a row (`instances.pinned_keys`); empty when none were pinned. */
export function pinnedKeysOf(row: { pinned_keys: string | null }): UserPublicKey[] {
  if (row.pinned_keys === null) return [];
  return JSON.parse(row.pinned_keys) as UserPublicKey[];
}

export async function pinnedFingerprints(keys: readonly UserPublicKey[]): Promise<string[]> {
  return Promise.all(keys.map((key) => userKeyFingerprint(key)));
}

/**
 * The `supportAccess` block of a host's config (the contract of
 * docs/zero-access.md): absent when the instance pins no key, so such a host
 * runs no support agent at all.
 */
export function supportAccessFor(row: { pinned_keys: string | null }, publicUrl: string): { pinnedKeys: UserPublicKey[]; apiUrl: string } | undefined {
  const pinnedKeys = pinnedKeysOf(row);
  if (pinnedKeys.length === 0) return undefined;
  return { pinnedKeys, apiUrl: `${publicUrl}/v1` };
}
