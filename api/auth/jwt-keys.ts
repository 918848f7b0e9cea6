/**
 * The JWT signing key set: versioned HS256 keys, the version being the key id
 * (`kid` header) of every token signed with it. New tokens are signed with
 * the version every live API process holds (agreed by the key heartbeat);
 * every key in the set verifies its own tokens until it is retired, so a
 * rotation costs no client a request.
 *
 * Sources, in order: `CLAWSTACK_JWT_KEYS` (`version:base64[,...]`),
 * `CLAWSTACK_JWT_KEYS_FILE` (the same text in a file, re-read while running),
 * `CLAWSTACK_JWT_SECRET` (one key: version 1), else `<data dir>/jwt-keys.json`
 * once `admin-cli jwt rotate` created it, else `<data dir>/jwt-secret`
 * (generated, mode 600) as version 1. Tokens without a `kid` (signed before
 * key ids existed) verify with version 1, the secret they were signed with.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../../core/errors";
import type { ApiConfig } from "../config";
import { type KeyringFormat, loadKeysFile, parseInlineKeys } from "../vault/keyring";

export type JwtKeyConfig = Pick<ApiConfig, "dataDir" | "jwtSecret" | "jwtKeys" | "jwtKeysFile">;

export const JWT_KEYS_FILE_NAME = "jwt-keys.json";
export const JWT_SECRET_FILE_NAME = "jwt-secret";

export const JWT_KEYS_FORMAT: KeyringFormat = { variable: "CLAWSTACK_JWT_KEYS", what: "JWT signing key", minBytes: 32 };

export interface JwtKeySource {
  current: number;
  keys: Map<number, Buffer>;
  /** `file`: `jwt-keys.json` or `jwt-secret`, which `admin-cli jwt rotate | retire` edit; `env`: yours to edit. */
  source: "env" | "file";
  fingerprint: string;
}

/** Reads the configured key set now. Throws `ConfigError` naming the variable on a bad value. */
export function readJwtKeys(config: JwtKeyConfig): JwtKeySource {
  let set: { current: number; keys: Map<number, Buffer> };
  let source: JwtKeySource["source"] = "env";
  if (config.jwtKeys !== undefined) {
    set = parseInlineKeys(config.jwtKeys, JWT_KEYS_FORMAT);
  } else if (config.jwtKeysFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.jwtKeysFile, "utf8");
    } catch (error) {
      throw new ConfigError("CLAWSTACK_JWT_KEYS_FILE", `\`CLAWSTACK_JWT_KEYS_FILE\`: cannot read \`${config.jwtKeysFile}\` (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    set = parseInlineKeys(text, { ...JWT_KEYS_FORMAT, variable: "CLAWSTACK_JWT_KEYS_FILE" });
  } else if (config.jwtSecret !== undefined) {
    set = { current: 1, keys: new Map([[1, decodeSecret(config.jwtSecret, "CLAWSTACK_JWT_SECRET", "`CLAWSTACK_JWT_SECRET`")]]) };
  } else {
    source = "file";
    const keysFile = join(config.dataDir, JWT_KEYS_FILE_NAME);
    set = existsSync(keysFile)
      ? loadKeysFile(keysFile, { create: false, format: { ...JWT_KEYS_FORMAT, variable: "CLAWSTACK_DATA_DIR" } })
      : { current: 1, keys: new Map([[1, loadJwtSecretFile(join(config.dataDir, JWT_SECRET_FILE_NAME))]]) };
  }
  const hash = createHash("sha256");
  for (const [version, key] of [...set.keys].sort(([a], [b]) => a - b)) hash.update(`|${version}:`).update(key);
  return { ...set, source, fingerprint: hash.digest("hex") };
}

/** The embedded default's secret file, generated with mode 600 on first start. */
export function loadJwtSecretFile(file: string): Buffer {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  chmodSync(file, 0o600);
  return decodeSecret(readFileSync(file, "utf8").trim(), "CLAWSTACK_JWT_SECRET", `the JWT secret file \`${file}\``);
}

function decodeSecret(base64: string, variable: string, what: string): Buffer {
  const secret = Buffer.from(base64, "base64");
  if (secret.length < 32) throw new ConfigError(variable, `${what} must be base64 of at least 32 bytes; given ${secret.length} bytes`);
  return secret;
}

/** The key set of a running API process: reloaded from its source, signing with the agreed version. */
export class JwtKeySet {
  private set: JwtKeySource;
  private signingVersion: number | undefined;
  private retired: ReadonlySet<number> = new Set();

  constructor(private readonly config: JwtKeyConfig) {
    this.set = readJwtKeys(config);
  }

  /** Re-reads the source; true when it changed. Throws (keeping the old keys) when it is unreadable. */
  reload(): boolean {
    const next = readJwtKeys(this.config);
    if (next.fingerprint === this.set.fingerprint) return false;
    this.set = next;
    return true;
  }

  held(): number[] {
    return [...this.set.keys.keys()].sort((a, b) => a - b);
  }

  /** Signs with `version` from now on (when held; else with the highest); `retired` keys verify nothing any more. */
  agree(version: number | undefined, retired: ReadonlySet<number> = new Set()): void {
    this.signingVersion = version;
    this.retired = retired;
  }

  /** The version and key new tokens are signed with. */
  signing(): { version: number; key: Buffer } {
    const version = this.signingVersion !== undefined && this.set.keys.has(this.signingVersion) ? this.signingVersion : this.set.current;
    return { version, key: this.set.keys.get(version)! };
  }

  /** The key that verifies a token with header `kid` (none: version 1, the pre-rotation secret). */
  verifying(kid: string | undefined): Buffer | undefined {
    const version = kid === undefined ? 1 : /^\d{1,9}$/.test(kid) ? Number(kid) : undefined;
    if (version === undefined || this.retired.has(version)) return undefined;
    return this.set.keys.get(version);
  }
}
