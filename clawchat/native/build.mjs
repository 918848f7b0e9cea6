// Compiles clawchat/native/aead.c into clawchat/dist/clawchat-aead.node (Linux x64, N-API 8):
// AES-256-GCM with one reusable OpenSSL context per key, which `clawchat/build.mjs` then carries
// inside the bundle. Needs `gcc` and OpenSSL's headers (Debian: `apt-get install gcc libssl-dev`);
// the EVP symbols resolve to the OpenSSL inside Node at load time, so nothing is linked but libc.
//
// Without a compiler or the headers it removes any older addon, prints why, and exits 0: the bundle
// is then built without it and ClawChat seals packets with node:crypto (slower, same bytes on the
// wire). Set CLAWCHAT_AEAD_BUILD=required to make that an error (CI does).
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const AEAD_ADDON_PATH = join(here, "..", "dist", "clawchat-aead.node");

/**
 * Hardening and warnings as Debian builds packages. The rest keeps the file small, since hosts get
 * it inside user-data: -Os (the work is OpenSSL's, not this glue's), stripped, no build ID, no
 * page-aligned gaps between segments, no unwind tables (C, nothing unwinds through it).
 */
const FLAGS = [
  "-Os", "-std=c11", "-fPIC", "-shared", "-fvisibility=hidden", "-s", "-fno-asynchronous-unwind-tables",
  "-Wall", "-Wextra", "-Werror",
  "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack",
  "-Wl,-z,noseparate-code", "-Wl,--build-id=none", "-Wl,-z,max-page-size=0x1000", "-Wl,--hash-style=gnu",
  "-DNODE_GYP_MODULE_NAME=clawchat_aead",
];

/** Why the addon cannot be built here, or undefined when it can. */
function missingTool() {
  if (process.platform !== "linux" || process.arch !== "x64") return `it is built for Linux x64 only (this is ${process.platform} ${process.arch})`;
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
  } catch {
    return "gcc is not installed (Debian: apt-get install gcc libssl-dev)";
  }
  if (!existsSync("/usr/include/openssl/evp.h")) return "OpenSSL's headers are not installed (Debian: apt-get install libssl-dev)";
  return undefined;
}

/** Builds the addon into `out` (clawchat/dist/clawchat-aead.node unless told otherwise); undefined when it could not. */
export function buildAeadAddon(out = AEAD_ADDON_PATH) {
  const source = join(here, "aead.c");
  const skip = (why) => {
    rmSync(out, { force: true });
    const message = `clawchat-aead.node not built: ${why}; the bundle seals packets with node:crypto`;
    if (process.env.CLAWCHAT_AEAD_BUILD === "required") throw new Error(`${message} (CLAWCHAT_AEAD_BUILD=required)`);
    console.warn(message);
    return undefined;
  };
  const missing = missingTool();
  if (missing !== undefined) return skip(missing);
  const headers = join(dirname(createRequire(import.meta.url).resolve("node-api-headers/package.json")), "include");
  mkdirSync(dirname(out), { recursive: true });
  // ClawChat also refuses an addon in a folder its group can write (clawchat/dist under a umask of 002).
  if (out === AEAD_ADDON_PATH) chmodSync(dirname(out), 0o755);
  const temporary = `${out}.${process.pid}.tmp`;
  try {
    execFileSync("gcc", [...FLAGS, "-I", headers, source, "-o", temporary], { stdio: ["ignore", "inherit", "inherit"] });
    // gcc honours the umask (775 under a umask of 002), and ClawChat refuses an addon its group could replace.
    chmodSync(temporary, 0o755);
    renameSync(temporary, out);
  } catch {
    // gcc printed why (a missing libc6-dev, say); -Werror makes any warning one too.
    return skip("gcc failed (its messages are above)");
  } finally {
    rmSync(temporary, { force: true });
  }
  const shown = relative(process.cwd(), out);
  console.log(`${shown.startsWith("..") || shown === "" ? out : shown}: ${statSync(out).size} bytes`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildAeadAddon(process.argv[2]);
