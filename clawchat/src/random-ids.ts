/**
 * The random 8-byte IDs of chat messages, file transfers and pings (protocol
 * §6), cut from a pool the CSPRNG refills 4 KiB at a time: one
 * `randomFillSync` per 512 IDs instead of a call per message (the call, not
 * the randomness, is what costs). Every pool byte is handed out once.
 */
import { randomFillSync } from "node:crypto";
import { allocateUnsafe } from "./slab";

const POOL_BYTES = 4096;
export const RANDOM_ID_BYTES = 8;

const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** A fresh random 8-byte ID (its own copy: the pool is never shared). */
export function randomId(): Buffer {
  if (offset + RANDOM_ID_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = allocateUnsafe(RANDOM_ID_BYTES);
  for (let i = 0; i < RANDOM_ID_BYTES; i++) id[i] = pool[offset + i] as number;
  offset += RANDOM_ID_BYTES;
  return id;
}
