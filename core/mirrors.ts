import { ConfigError } from "./errors.js";
import { describeGiven, parseObject, SHELL_SAFE_HTTPS_URL_PATTERN } from "./validation.js";

/**
 * Mirrors a host installs from instead of the public registries, for hosts in
 * locked-down networks (`clawstack:mirrors`). HTTPS only, trusted through the
 * host's system CA store (add an internal CA to the image). A mirror is never
 * trusted for content: each one requires the matching pin, so the host checks
 * what it downloads against a hash from the stack, not from the mirror.
 */
export interface HostMirrors {
  /** An npm registry (`https://npm.internal.example/`): openclaw and its dependencies. Needs `versions.openclawIntegrity`. */
  npmRegistry?: string;
  /** A nodejs.org/dist mirror (`https://mirror.example/node`): `v<version>/node-v<version>-linux-<arch>.tar.xz`. Needs `versions.nodeSha256`. */
  nodeDist?: string;
}

/** Optional hashes next to the pinned versions (`clawstack:versions`). */
export interface VersionPins {
  /** SHA-256 (hex) of the official `node-v<node>-linux-<arch>.tar.xz`, per architecture. */
  nodeSha256?: { x64?: string; arm64?: string };
  /** npm's `sha512-...` integrity of `openclaw@<openclaw>`. */
  openclawIntegrity?: string;
}

export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;
export const NPM_SHA512_INTEGRITY_PATTERN = /^sha512-[A-Za-z0-9+/]{86}==$/;

function pattern(key: string, value: unknown, regex: RegExp, allowed: string): string {
  if (typeof value !== "string" || !regex.test(value)) throw new ConfigError(key, `\`${key}\` must be ${allowed}; got ${describeGiven(value)}`);
  return value;
}

/** `versions.nodeSha256` and `versions.openclawIntegrity`, from the `versions` record. */
export function parseVersionPins(versions: Record<string, unknown>): VersionPins {
  const pins: VersionPins = {};
  if (versions.nodeSha256 !== undefined) {
    const record = parseObject("versions.nodeSha256", versions.nodeSha256, ["x64", "arm64"]);
    const nodeSha256: { x64?: string; arm64?: string } = {};
    for (const arch of ["x64", "arm64"] as const) {
      if (record[arch] !== undefined) {
        nodeSha256[arch] = pattern(`versions.nodeSha256.${arch}`, record[arch], SHA256_HEX_PATTERN, "64 lowercase hex characters (the tarball's SHA-256)");
      }
    }
    pins.nodeSha256 = nodeSha256;
  }
  if (versions.openclawIntegrity !== undefined) {
    pins.openclawIntegrity = pattern("versions.openclawIntegrity", versions.openclawIntegrity, NPM_SHA512_INTEGRITY_PATTERN,
      "npm's integrity string of the package, sha512-<88 base64 characters> (npm view openclaw@<version> dist.integrity)");
  }
  return pins;
}

/**
 * `mirrors: {npmRegistry, nodeDist}`; undefined when absent. Each mirror
 * requires its pin: Node's x64 SHA-256 for `nodeDist` (the size presets are
 * x64), openclaw's integrity for `npmRegistry`.
 */
export function parseHostMirrors(key: string, value: unknown, pins: VersionPins): HostMirrors | undefined {
  if (value === undefined) return undefined;
  const record = parseObject(key, value, ["npmRegistry", "nodeDist"]);
  const mirrors: HostMirrors = {};
  const url = (field: string, raw: unknown): string => {
    // `https://host` and `https://host/` name the same root.
    const withPath = typeof raw === "string" && /^https:\/\/[^/]+$/.test(raw) ? `${raw}/` : raw;
    return pattern(`${key}.${field}`, withPath, SHELL_SAFE_HTTPS_URL_PATTERN, "an https:// URL without spaces or quotes");
  };
  if (record.npmRegistry !== undefined) {
    const registry = url("npmRegistry", record.npmRegistry);
    mirrors.npmRegistry = registry.endsWith("/") ? registry : `${registry}/`;
  }
  if (record.nodeDist !== undefined) mirrors.nodeDist = url("nodeDist", record.nodeDist).replace(/\/+$/, "");
  const problem = mirrorPinProblem(key, mirrors, pins);
  if (problem !== undefined) throw new ConfigError(problem.key, problem.message);
  return mirrors;
}

/** What a mirror is missing to be safe, for the parser and the renderer's guard alike. */
export function mirrorPinProblem(key: string, mirrors: HostMirrors, pins: VersionPins): { key: string; message: string } | undefined {
  if (mirrors.nodeDist !== undefined && pins.nodeSha256?.x64 === undefined) {
    return { key: "versions.nodeSha256", message: `\`${key}.nodeDist\` needs \`versions.nodeSha256.x64\`: the host checks the tarball against the pinned SHA-256, never against the mirror's own checksums` };
  }
  if (mirrors.npmRegistry !== undefined && pins.openclawIntegrity === undefined) {
    return { key: "versions.openclawIntegrity", message: `\`${key}.npmRegistry\` needs \`versions.openclawIntegrity\`: the host checks openclaw against the pinned integrity, never against the mirror's word` };
  }
  return undefined;
}
