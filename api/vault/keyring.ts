/**
 * The versioned master keyring of the local key wrapper. Keys come from
 * `CLAWSTACK_MASTER_KEYS` (`version:base64[,version:base64...]`), from a file
 * holding that same text (`CLAWSTACK_MASTER_KEYS_FILE`, a mounted secret), or
 * from a JSON file (`{ "keys": { "1": "<base64>" } }`, mode 600) that is
 * generated on first start when nothing is configured. The highest version
 * wraps new data keys (once every live process holds it: see
 * key-heartbeat.ts); older versions stay to unwrap until `rewrap` moves
 * everything on. The files are re-read while the process runs (reloading-key-wrapper.ts).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "../../core/errors";

export interface MasterKeyring {
  /** The version new data keys are wrapped under (the highest). */
  current: number;
  keys: ReadonlyMap<number, Buffer>;
  /** Where the keyring came from, for messages (never the key). */
  source: "env" | "file";
}

const ENV_KEY = "CLAWSTACK_MASTER_KEYS";

/** What a keyring file or variable holds: master keys are exactly 32 bytes, JWT signing keys at least 32. */
export interface KeyringFormat {
  /** The variable named in messages. */
  variable: string;
  /** What the keys are, in messages ("master key", "JWT signing key"). */
  what: string;
  exactBytes?: number;
  minBytes?: number;
}

export const MASTER_KEYS: KeyringFormat = { variable: ENV_KEY, what: "master key", exactBytes: 32 };
const MASTER_KEY_FILE: KeyringFormat = { ...MASTER_KEYS, variable: "CLAWSTACK_MASTER_KEY_FILE" };

export function parseInlineKeyring(value: string, format: KeyringFormat = MASTER_KEYS): MasterKeyring {
  return { ...parseInlineKeys(value, format), source: "env" };
}

/** `version:base64[,version:base64...]` into versioned keys. */
export function parseInlineKeys(value: string, format: KeyringFormat): { current: number; keys: Map<number, Buffer> } {
  const keys = new Map<number, Buffer>();
  for (const part of value.trim().split(",")) {
    const match = /^\s*(\d+):([A-Za-z0-9+/=_-]+)\s*$/.exec(part);
    if (!match) {
      throw new ConfigError(format.variable, `\`${format.variable}\` must be \`version:base64key\` entries separated by commas; an entry does not match`);
    }
    if (keys.has(Number(match[1]))) throw new ConfigError(format.variable, `\`${format.variable}\` names version ${match[1]} twice`);
    addKey(keys, Number(match[1]), match[2]!, format);
  }
  return finishKeys(keys, format);
}

/** Reads the keyring file, creating it (one fresh version-1 key, mode 600) when absent. */
export function loadKeyringFile(file: string, options: { create: boolean }): MasterKeyring {
  return { ...loadKeysFile(file, { ...options, format: MASTER_KEY_FILE }), source: "file" };
}

/**
 * Reads a JSON keys file (`{ "keys": { "1": "<base64>" } }`), creating it (one
 * fresh 32-byte version 1, or `first`, mode 600) when absent and `create` is set.
 */
export function loadKeysFile(
  file: string,
  options: { create: boolean; format: KeyringFormat; first?: Buffer },
): { current: number; keys: Map<number, Buffer> } {
  const { format } = options;
  if (!existsSync(file)) {
    if (!options.create) throw new ConfigError(format.variable, `the ${format.what} file \`${file}\` does not exist`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeKeyringFile(file, new Map([[1, options.first ?? randomBytes(32)]]), "wx");
    } catch (error) {
      // Another process created it first: read theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(file, 0o600);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new ConfigError(format.variable, `the ${format.what} file \`${file}\` is not valid JSON`);
  }
  const entries = (parsed as { keys?: unknown }).keys;
  if (typeof entries !== "object" || entries === null) {
    throw new ConfigError(format.variable, `the ${format.what} file \`${file}\` must hold \`{ "keys": { "1": "<base64>" } }\``);
  }
  const keys = new Map<number, Buffer>();
  for (const [version, key] of Object.entries(entries)) {
    addKey(keys, Number(version), String(key), format);
  }
  return finishKeys(keys, format);
}

/** Adds a fresh key as the next version of the keyring file; returns the new version. */
export function addKeyringVersion(file: string, format: KeyringFormat = MASTER_KEY_FILE, base?: Map<number, Buffer>): number {
  const keys = new Map(base ?? loadKeysFile(file, { create: false, format }).keys);
  const next = Math.max(0, ...keys.keys()) + 1;
  keys.set(next, randomBytes(32));
  replaceKeyringFile(file, keys);
  return next;
}

/** Removes an old version from the keyring file (the caller checked nothing uses it). */
export function retireKeyringVersion(file: string, version: number, format: KeyringFormat = MASTER_KEY_FILE): void {
  const ring = loadKeysFile(file, { create: false, format });
  if (version === ring.current) throw new Error(`${format.what} version ${version} is the current one`);
  const keys = new Map(ring.keys);
  keys.delete(version);
  replaceKeyringFile(file, keys);
}

/** Writes the whole file anew and renames it into place, so a reader never sees half of it. */
function replaceKeyringFile(file: string, keys: ReadonlyMap<number, Buffer>): void {
  const temporary = `${file}.new`;
  writeKeyringFile(temporary, keys, "w");
  renameSync(temporary, file);
}

function writeKeyringFile(file: string, keys: ReadonlyMap<number, Buffer>, flag: "w" | "wx"): void {
  const body = { keys: Object.fromEntries([...keys].map(([version, key]) => [String(version), key.toString("base64")])) };
  writeFileSync(file, JSON.stringify(body, null, 2) + "\n", { mode: 0o600, flag });
  chmodSync(file, 0o600);
}

function addKey(keys: Map<number, Buffer>, version: number, base64: string, format: KeyringFormat): void {
  const key = format.variable;
  if (!Number.isInteger(version) || version < 1) {
    throw new ConfigError(key, `\`${key}\`: key versions are positive integers; given \`${version}\``);
  }
  const bytes = Buffer.from(base64, "base64");
  if (format.exactBytes !== undefined && bytes.length !== format.exactBytes) {
    throw new ConfigError(key, `\`${key}\`: ${format.what} version ${version} must be ${format.exactBytes} bytes (base64); given ${bytes.length} bytes`);
  }
  if (format.minBytes !== undefined && bytes.length < format.minBytes) {
    throw new ConfigError(key, `\`${key}\`: ${format.what} version ${version} must be at least ${format.minBytes} bytes (base64); given ${bytes.length} bytes`);
  }
  keys.set(version, bytes);
}

function finishKeys(keys: Map<number, Buffer>, format: KeyringFormat): { current: number; keys: Map<number, Buffer> } {
  if (keys.size === 0) throw new ConfigError(format.variable, `\`${format.variable}\`: the ${format.what} set is empty`);
  return { current: Math.max(...keys.keys()), keys };
}
