/**
 * Buffers for datagrams and message parts cut from 64 KiB slabs. Node's own
 * pool (`Buffer.allocUnsafe`) is 8 KiB, so every seventh 1 KiB packet makes a
 * new backing store that the garbage collector then tracks; a slab serves about
 * sixty. The memory is not zeroed: callers write every byte they send.
 */
const SLAB_BYTES = 64 * 1024;
/** Larger requests get their own allocation (they would waste most of a slab). */
const MAX_SLICE = 4 * 1024;

let slab = new ArrayBuffer(0);
let offset = 0;

export function allocateUnsafe(length: number): Buffer {
  if (length > MAX_SLICE) return Buffer.allocUnsafe(length);
  if (offset + length > slab.byteLength) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES).buffer as ArrayBuffer;
    offset = 0;
  }
  const out = Buffer.from(slab, offset, length);
  // 8-byte alignment, as Node's pool keeps it.
  offset += (length + 7) & ~7;
  return out;
}
