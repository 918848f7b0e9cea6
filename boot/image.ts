import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { APT_PROXY_PORT } from "./services/apt-proxy.js";
import { cacheDir, HOST_FROM_GUEST } from "./paths.js";
import type { TestPki } from "./tls.js";

/** The Debian 12 root disk and the kernel the boot test starts, cached by what makes them. */
export interface RootImage {
  rootImage: string;
  kernel: string;
  initrd: string;
  /** Seconds spent building; 0 when it came from the cache. */
  builtSeconds: number;
}

const IMAGE_DIR = join(__dirname, "image");
const GUEST_DIR = join(IMAGE_DIR, "guest");
export const DEBIAN_MIRROR = process.env.CLAWSTACK_BOOT_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const ROOT_SIZE = "4G";

function recipeKey(pki: TestPki): string {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(IMAGE_DIR, "build-rootfs.sh")));
  for (const name of readdirSync(GUEST_DIR).sort()) hash.update(name).update(readFileSync(join(GUEST_DIR, name)));
  hash.update(pki.caCert).update(DEBIAN_MIRROR).update(String(APT_PROXY_PORT));
  return hash.digest("hex").slice(0, 16);
}

/** Builds (debootstrap, as root) or reuses the cached root disk. */
export function ensureRootImage(pki: TestPki, log: (line: string) => void): RootImage {
  const dir = cacheDir("images", recipeKey(pki));
  const image = { rootImage: join(dir, "root.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") };
  if (existsSync(image.rootImage)) return { ...image, builtSeconds: 0 };
  const started = Date.now();
  const rootfs = join(dir, "rootfs");
  rmSync(rootfs, { recursive: true, force: true });
  log(`building the Debian 12 root disk in ${dir} (debootstrap, about 2 minutes)`);
  execFileSync(join(IMAGE_DIR, "build-rootfs.sh"), [rootfs, DEBIAN_MIRROR, `http://${HOST_FROM_GUEST}:${APT_PROXY_PORT}`, pki.caCertPath, GUEST_DIR], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const boot = join(rootfs, "boot");
  const kernel = readdirSync(boot).find((name) => name.startsWith("vmlinuz-"));
  const initrd = readdirSync(boot).find((name) => name.startsWith("initrd.img-"));
  if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${boot}`);
  copyFileSync(join(boot, kernel), image.kernel);
  copyFileSync(join(boot, initrd), image.initrd);
  execFileSync("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", rootfs, `${image.rootImage}.tmp`, ROOT_SIZE]);
  renameSync(`${image.rootImage}.tmp`, image.rootImage);
  rmSync(rootfs, { recursive: true, force: true });
  return { ...image, builtSeconds: Math.round((Date.now() - started) / 1000) };
}
