/**
 * This browser's device keys (issue 17): made here with WebCrypto as non-extractable keys
 * (core/zero-access/user-keys.ts), kept in IndexedDB as CryptoKey objects (the structured clone
 * of a non-extractable key stays non-extractable: no script, this one included, can read its
 * private half), and only the public halves are sent to the API (`POST /v1/me/device-keys`).
 *
 * Records are per account (`userId`): two people sharing a browser profile do not use each
 * other's keys. Nothing here is logged.
 */
import { exportUserPublicKey, generateUserKeyPair, type UserPublicKey, userKeyFingerprint } from "../../core/zero-access/user-keys";
import { api } from "./api";

const DB_NAME = "clawstack-device-keys";
const STORE = "keys";

/** One device key held by this browser. */
export interface LocalDeviceKey {
  fingerprint: string;
  userId: string;
  /** The API's id of the registered public half. */
  id: string;
  name: string;
  publicKey: UserPublicKey;
  signing: CryptoKeyPair;
  sealing: CryptoKeyPair;
  createdAt: string;
}

/** A device key as the API lists it (`GET /v1/me/device-keys`). */
export interface DeviceKeyView {
  id: string;
  name: string;
  fingerprint: string;
  createdAt: string;
  revokedAt: string | null;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: "fingerprint" });
      store.createIndex("userId", "userId");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB is not available in this browser"));
  });
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error ?? request.error ?? new Error("IndexedDB transaction failed"));
      transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** The device keys this browser holds for `userId`. */
export async function localKeys(userId: string): Promise<LocalDeviceKey[]> {
  return run("readonly", (store) => store.index("userId").getAll(userId) as IDBRequest<LocalDeviceKey[]>);
}

/** The first key of this browser among `fingerprints` (pinned on an instance, recipients of a box). */
export async function localKeyFor(userId: string, fingerprints: readonly string[]): Promise<LocalDeviceKey | undefined> {
  return (await localKeys(userId)).find((key) => fingerprints.includes(key.fingerprint));
}

export async function forgetLocalKey(fingerprint: string): Promise<void> {
  await run("readwrite", (store) => store.delete(fingerprint));
}

/**
 * Makes a device key in this browser, registers its public halves and keeps the private halves
 * here. The private halves are generated non-extractable: they never leave this browser.
 */
export async function createDeviceKey(userId: string, name: string): Promise<LocalDeviceKey> {
  const pair = await generateUserKeyPair({ extractable: false });
  const publicKey = await exportUserPublicKey(pair);
  const fingerprint = await userKeyFingerprint(publicKey);
  const created = await api<{ id: string; name: string; fingerprint: string; createdAt: string }>("POST", "/v1/me/device-keys", { name, key: publicKey });
  if (created.fingerprint !== fingerprint) {
    // The API must store exactly what was sent; anything else is refused here and undone there.
    await api("DELETE", `/v1/me/device-keys/${encodeURIComponent(created.id)}`).catch(() => undefined);
    throw new Error(`the API registered fingerprint ${created.fingerprint}, not this browser's ${fingerprint}; the key was revoked`);
  }
  const record: LocalDeviceKey = {
    fingerprint,
    userId,
    id: created.id,
    name: created.name,
    publicKey,
    signing: pair.signing,
    sealing: pair.sealing,
    createdAt: created.createdAt,
  };
  try {
    await run("readwrite", (store) => store.put(record));
  } catch (error) {
    // A public half whose private half is not kept anywhere is useless: revoke it.
    await api("DELETE", `/v1/me/device-keys/${encodeURIComponent(created.id)}`).catch(() => undefined);
    throw error;
  }
  return record;
}
