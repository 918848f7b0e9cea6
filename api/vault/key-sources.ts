/**
 * Where the vault's keys come from, read as plain data so a running process
 * can read them again and tell whether anything changed: the local master
 * keyring (`CLAWSTACK_MASTER_KEYS`, `CLAWSTACK_MASTER_KEYS_FILE` or the JSON key
 * file) and the KMS key lists (`CLAWSTACK_KMS_KEYS[_FILE]`,
 * `CLAWSTACK_GCP_KMS_KEYS[_FILE]`). `wrapperFrom` turns them into the key
 * wrapper, writing with a given version (the one every live process holds).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { KMSClient } from "@aws-sdk/client-kms";
import { ConfigError } from "../../core/errors";
import type { ApiConfig } from "../config";
import { type KeyWrapper, LocalKeyWrapper } from "./key-wrapper";
import { loadKeyringFile, MASTER_KEYS, parseInlineKeys } from "./keyring";
import { CompositeKeyWrapper, GcpKmsKeyWrapper, type GcpKmsClient, KmsKeyWrapper, parseGcpKmsKeys, parseKmsKeys } from "./kms-key-wrapper";

export type KeySourceConfig = Pick<ApiConfig, "masterKeys" | "masterKeyFile"> &
  Partial<Pick<ApiConfig, "kmsKeys" | "kmsRegion" | "gcpKmsKeys" | "masterKeysFile" | "kmsKeysFile" | "gcpKmsKeysFile">>;

export type WrapKind = KeyWrapper["kind"];

export interface KeySources {
  /** The kind that wraps new data keys. */
  primary: WrapKind;
  local?: { current: number; keys: ReadonlyMap<number, Buffer> };
  kms?: { current: number; keys: Map<number, string> };
  gcpKms?: { current: number; keys: Map<number, string> };
  /** Changes whenever any key or version changes (a hash, never the keys). */
  fingerprint: string;
}

/** KMS clients, created once per process and kept across reloads. */
export interface KmsClients {
  aws?: KMSClient;
  gcpKms?: GcpKmsClient;
}

/** Reads every configured key source now. Throws `ConfigError` naming the variable on a bad value. */
export function readKeySources(config: KeySourceConfig): KeySources {
  const kmsText = config.kmsKeys ?? readSecretFile(config.kmsKeysFile, "CLAWSTACK_KMS_KEYS_FILE");
  const gcpText = config.gcpKmsKeys ?? readSecretFile(config.gcpKmsKeysFile, "CLAWSTACK_GCP_KMS_KEYS_FILE");
  const kms = kmsText === undefined ? undefined : parseKmsKeys(kmsText);
  const gcpKms = gcpText === undefined ? undefined : parseGcpKmsKeys(gcpText);
  const primary: WrapKind = kms ? "kms" : gcpKms ? "gcp-kms" : "local";
  const inline = config.masterKeys ?? readSecretFile(config.masterKeysFile, "CLAWSTACK_MASTER_KEYS_FILE");
  const local =
    inline !== undefined
      ? parseInlineKeys(inline, config.masterKeys !== undefined ? MASTER_KEYS : { ...MASTER_KEYS, variable: "CLAWSTACK_MASTER_KEYS_FILE" })
      : primary === "local" || existsSync(config.masterKeyFile)
        ? loadKeyringFile(config.masterKeyFile, { create: primary === "local" })
        : undefined;
  const hash = createHash("sha256").update(primary);
  for (const [name, set] of [["local", local], ["kms", kms], ["gcp-kms", gcpKms]] as const) {
    if (!set) continue;
    for (const [version, key] of [...set.keys].sort(([a], [b]) => a - b)) hash.update(`|${name}:${version}:`).update(key);
  }
  return { primary, local, kms, gcpKms, fingerprint: hash.digest("hex") };
}

/** The versions of the primary kind (the ones that can wrap new data keys), ascending. */
export function primaryVersions(sources: KeySources): number[] {
  const set = sources.primary === "local" ? sources.local : sources.primary === "kms" ? sources.kms : sources.gcpKms;
  return [...(set?.keys.keys() ?? [])].sort((a, b) => a - b);
}

/** Every version held, per kind (`{ local: [1, 2] }`), for the heartbeat row. */
export function heldVersions(sources: KeySources): Record<string, number[]> {
  const held: Record<string, number[]> = {};
  if (sources.local) held.local = [...sources.local.keys.keys()].sort((a, b) => a - b);
  if (sources.kms) held.kms = [...sources.kms.keys.keys()].sort((a, b) => a - b);
  if (sources.gcpKms) held["gcp-kms"] = [...sources.gcpKms.keys.keys()].sort((a, b) => a - b);
  return held;
}

/**
 * The key wrapper of `sources`: the primary kind wraps new data keys under
 * `writeVersion` (when it holds it; else its highest version), every kind
 * configured unwraps its own rows.
 */
export function wrapperFrom(sources: KeySources, clients: KmsClients, config: Pick<KeySourceConfig, "kmsRegion">, writeVersion?: number): KeyWrapper {
  const writing = <M extends ReadonlyMap<number, unknown>>(set: { current: number; keys: M }) =>
    writeVersion !== undefined && set.keys.has(writeVersion) ? { keys: set.keys, current: writeVersion } : set;
  const local = sources.local ? new LocalKeyWrapper({ ...writing(sources.local), source: "file" }) : undefined;
  if (sources.primary === "local") return local!;
  let primary: KeyWrapper;
  if (sources.primary === "kms") {
    clients.aws ??= new KMSClient(config.kmsRegion ? { region: config.kmsRegion } : {});
    primary = new KmsKeyWrapper(clients.aws, writing(sources.kms!));
  } else {
    clients.gcpKms ??= defaultGcpKmsClient();
    primary = new GcpKmsKeyWrapper(clients.gcpKms, writing(sources.gcpKms!));
  }
  return new CompositeKeyWrapper(primary, local ? [local] : []);
}

/** A `_FILE` variable's content (trimmed), or undefined when it is not set. */
function readSecretFile(file: string | undefined, variable: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new ConfigError(variable, `\`${variable}\`: cannot read \`${file}\` (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** Cloud KMS with Application Default Credentials; `@google-cloud/kms` (gRPC) is loaded only here. */
function defaultGcpKmsClient(): GcpKmsClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: only GCP KMS wrapping needs it
  const { KeyManagementServiceClient } = require("@google-cloud/kms") as typeof import("@google-cloud/kms");
  const client: GcpKmsClient = new KeyManagementServiceClient();
  return client;
}
