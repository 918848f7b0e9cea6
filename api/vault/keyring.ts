/**
 * The versioned master keyring of the local key wrapper. Keys come from
 * `CLAWSTACK_MASTER_KEYS` (`version:base64[,version:base64...]`) or from a
 * JSON file (`{ "keys": { "1": "<base64>" } }`, mode 600) that is generated
 * on first start when nothing is configured. The highest version wraps new
 * data keys; older versions stay to unwrap until `rewrap` moves everything on.
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

export function parseInlineKeyring(value: string): MasterKeyring {
  const keys = new Map<number, Buffer>();
  for (const part of value.split(",")) {
    const match = /^\s*(\d+):([A-Za-z0-9+/=_-]+)\s*$/.exec(part);
    if (!match) {
      throw new ConfigError(ENV_KEY, `\`${ENV_KEY}\` must be \`version:base64key\` entries separated by commas; an entry does not match`);
    }
    addKey(keys, Number(match[1]), match[2]!, ENV_KEY);
  }
  return finish(keys, "env");
}

/** Reads the keyring file, creating it (one fresh version-1 key, mode 600) when absent. */
export function loadKeyringFile(file: string, options: { create: boolean }): MasterKeyring {
  if (!existsSync(file)) {
    if (!options.create) throw new ConfigError("CLAWSTACK_MASTER_KEY_FILE", `the master key file \`${file}\` does not exist`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeKeyringFile(file, new Map([[1, randomBytes(32)]]), "wx");
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(file, 0o600);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new ConfigError("CLAWSTACK_MASTER_KEY_FILE", `the master key file \`${file}\` is not valid JSON`);
  }
  const entries = (parsed as { keys?: unknown }).keys;
  if (typeof entries !== "object" || entries === null) {
    throw new ConfigError("CLAWSTACK_MASTER_KEY_FILE", `the master key file \`${file}\` must hold \`{ "keys": { "1": "<base64>" } }\``);
  }
  const keys = new Map<number, Buffer>();
  for (const [version, key] of Object.entries(entries)) {
    addKey(keys, Number(version), String(key), "CLAWSTACK_MASTER_KEY_FILE");
  }
  return finish(keys, "file");
}

/** Adds a fresh key as the next version of the keyring file; returns the new version. */
export function addKeyringVersion(file: string): number {
  const ring = loadKeyringFile(file, { create: false });
  const next = ring.current + 1;
  const keys = new Map(ring.keys);
  keys.set(next, randomBytes(32));
  const temporary = `${file}.new`;
  writeKeyringFile(temporary, keys, "w");
  renameSync(temporary, file);
  return next;
}

/** Removes an old version from the keyring file (the caller checked nothing is wrapped under it). */
export function retireKeyringVersion(file: string, version: number): void {
  const ring = loadKeyringFile(file, { create: false });
  if (version === ring.current) throw new Error(`master key version ${version} is the current one`);
  const keys = new Map(ring.keys);
  keys.delete(version);
  const temporary = `${file}.new`;
  writeKeyringFile(temporary, keys, "w");
  renameSync(temporary, file);
}

function writeKeyringFile(file: string, keys: ReadonlyMap<number, Buffer>, flag: "w" | "wx"): void {
  const body = { keys: Object.fromEntries([...keys].map(([version, key]) => [String(version), key.toString("base64")])) };
  writeFileSync(file, JSON.stringify(body, null, 2) + "\n", { mode: 0o600, flag });
  chmodSync(file, 0o600);
}

function addKey(keys: Map<number, Buffer>, version: number, base64: string, key: string): void {
  if (!Number.isInteger(version) || version < 1) {
    throw new ConfigError(key, `\`${key}\`: key versions are positive integers; given \`${version}\``);
  }
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length !== 32) {
    throw new ConfigError(key, `\`${key}\`: master key version ${version} must be 32 bytes (base64); given ${bytes.length} bytes`);
  }
  keys.set(version, bytes);
}

function finish(keys: Map<number, Buffer>, source: MasterKeyring["source"]): MasterKeyring {
  if (keys.size === 0) throw new ConfigError(ENV_KEY, "the master keyring is empty");
  return { current: Math.max(...keys.keys()), keys, source };
}
