import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

/** Everything the boot harness builds or downloads lives here (gitignored). */
export const CACHE_DIR = resolve(process.env.CLAWSTACK_BOOT_CACHE ?? join(__dirname, "..", ".cache", "boot"));

/** A folder under the cache, created when missing. */
export function cacheDir(...parts: string[]): string {
  const dir = join(CACHE_DIR, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The address under which QEMU's user-mode network shows the host's loopback to the guest. */
export const HOST_FROM_GUEST = "10.0.2.2";
