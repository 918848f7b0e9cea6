/**
 * The AES-256-GCM behind session packets. Two backends give the same bytes:
 *
 * - `openssl-context` (clawchat/native/aead.c): one OpenSSL context per key
 *   and direction, re-initialised with only the new IV per packet, writing
 *   into buffers ClawChat gives. About a tenth of the CPU of the other.
 * - `node-crypto`: `createCipheriv` per packet (a new context, object and
 *   three buffers each time).
 *
 * The bundle carries the addon (`clawchat/build.mjs` embeds the
 * `clawchat-aead.node` it compiled): at first use it is written to a private
 * temporary directory (mode 700, the service's PrivateTmp on a host), loaded
 * and removed. Run from source, `clawchat/dist/clawchat-aead.node` is loaded
 * when it exists. Either way the addon must pass a known-answer check against
 * node:crypto before any packet uses it; otherwise ClawChat uses node:crypto
 * and says why. `CLAWCHAT_AEAD=node` chooses node:crypto, `=native` makes the
 * addon required (the server refuses to start without it).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLAWCHAT_AEAD_ADDON_MARKER } from "../../core/presets";
import { ConfigError } from "./errors";
import { allocateUnsafe } from "./slab";
import { HEADER_LENGTH, IV_LENGTH, TAG_LENGTH, type PacketView } from "./wire";

/**
 * The addon in base64 after `CLAWCHAT_AEAD_ADDON_MARKER`, set by the bundle's build (esbuild `define`); undefined when
 * run from source or built without it. The marker lets the synth take the addon out of a bundle whose
 * user data would not fit with it (`withoutAeadAddon` in cloud-init/bundle.ts).
 */
declare const CLAWCHAT_AEAD_ADDON: string | undefined;

/** The interface version aead.c exports (`abi`); a bundle never loads an addon of another. */
const ADDON_ABI = 1;
const BODY = HEADER_LENGTH + IV_LENGTH;

export type AeadBackendName = "openssl-context" | "node-crypto";

/** Which backend seals this process's packets, and why. */
export interface AeadBackendInfo {
  name: AeadBackendName;
  /** Where the addon came from, or why it is not used. */
  detail: string;
}

/** The native addon's exports (clawchat/native/aead.c). */
interface AeadAddon {
  abi: number;
  create(key: Buffer): object;
  seal(handle: object, datagram: Buffer, plaintext: Buffer): void;
  open(handle: object, datagram: Buffer, end: number, out: Buffer): boolean;
  destroy(handle: object): void;
}

/** Seals and opens packets under one epoch's encryption key (both directions). */
export interface PacketCipher {
  /** Encrypts `plaintext` into `datagram`, whose header (the AAD) and IV are written: ciphertext at 38, tag after it. */
  seal(datagram: Buffer, plaintext: Buffer): void;
  /** The plaintext of a parsed packet, or undefined when its tag does not verify. */
  open(packet: PacketView): Buffer | undefined;
  /** Frees the key's contexts (the addon cleanses its key schedule); the cipher is unusable afterwards. */
  destroy(): void;
}

/** One context per packet: what node:crypto allows. */
class NodeCryptoCipher implements PacketCipher {
  private destroyed = false;

  constructor(private readonly key: Buffer) {}

  seal(datagram: Buffer, plaintext: Buffer): void {
    // As the addon does: after destroy the key is wiped (zeros), and nothing may be sealed under it.
    if (this.destroyed) throw new Error("the epoch's keys were destroyed");
    sealWithNodeCrypto(this.key, datagram, plaintext);
  }

  open(packet: PacketView): Buffer | undefined {
    return this.destroyed ? undefined : openWithNodeCrypto(this.key, packet);
  }

  destroy(): void {
    this.destroyed = true;
  }
}

/** Opens a packet with a fresh node:crypto context (also the handshake's path). */
export function openWithNodeCrypto(key: Buffer, packet: PacketView): Buffer | undefined {
  const { datagram, end } = packet;
  if (end - TAG_LENGTH < BODY) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, datagram.subarray(HEADER_LENGTH, BODY));
    decipher.setAAD(datagram.subarray(0, HEADER_LENGTH));
    decipher.setAuthTag(datagram.subarray(end - TAG_LENGTH, end));
    const head = decipher.update(datagram.subarray(BODY, end - TAG_LENGTH));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}

/** Seals with a fresh node:crypto context (also the handshake's path). */
export function sealWithNodeCrypto(key: Buffer, datagram: Buffer, plaintext: Buffer): void {
  const cipher = createCipheriv("aes-256-gcm", key, datagram.subarray(HEADER_LENGTH, BODY));
  cipher.setAAD(datagram.subarray(0, HEADER_LENGTH));
  const body = cipher.update(plaintext);
  datagram.set(body, BODY);
  cipher.final();
  datagram.set(cipher.getAuthTag(), BODY + body.length);
}

class AddonCipher implements PacketCipher {
  private handle: object | undefined;

  constructor(
    private readonly addon: AeadAddon,
    key: Buffer,
  ) {
    this.handle = addon.create(key);
  }

  seal(datagram: Buffer, plaintext: Buffer): void {
    if (!this.handle) throw new Error("the epoch's keys were destroyed");
    this.addon.seal(this.handle, datagram, plaintext);
  }

  open(packet: PacketView): Buffer | undefined {
    const { datagram, end } = packet;
    if (!this.handle || end - TAG_LENGTH < BODY) return undefined;
    const out = allocateUnsafe(end - TAG_LENGTH - BODY);
    return this.addon.open(this.handle, datagram, end, out) ? out : undefined;
  }

  destroy(): void {
    if (this.handle) this.addon.destroy(this.handle);
    this.handle = undefined;
  }
}

/** A chosen backend: what to report, and the addon's exports when it loaded. */
export interface Loaded {
  info: AeadBackendInfo;
  addon?: AeadAddon;
}

let loaded: Loaded | undefined;

/** The backend this process uses (loaded on first call). Throws a ConfigError when `CLAWCHAT_AEAD=native` and the addon does not load. */
export function aeadBackend(): AeadBackendInfo {
  // The define is read in one place, so the bundle holds its literal once.
  loaded ??= loadBackend(process.env.CLAWCHAT_AEAD, unmarked(typeof CLAWCHAT_AEAD_ADDON === "string" ? CLAWCHAT_AEAD_ADDON : undefined));
  return loaded.info;
}

/** The base64 after the marker, or undefined (no addon, or a literal without the marker). */
function unmarked(value: string | undefined): string | undefined {
  return value?.startsWith(CLAWCHAT_AEAD_ADDON_MARKER) ? value.slice(CLAWCHAT_AEAD_ADDON_MARKER.length) : undefined;
}

/** A packet cipher for one epoch's encryption key, on this process's backend. */
export function packetCipher(key: Buffer): PacketCipher {
  aeadBackend();
  return cipherOn(loaded as Loaded, key);
}

/** A packet cipher for `key` on a loaded backend (`loadBackend`'s result). */
export function cipherOn(backend: Loaded, key: Buffer): PacketCipher {
  return backend.addon ? new AddonCipher(backend.addon, key) : new NodeCryptoCipher(key);
}

/** Where the addon is when ClawChat runs from source: what `npm run clawchat:build` compiled. */
export const SOURCE_ADDON_PATH = join(__dirname, "..", "dist", "clawchat-aead.node");

/**
 * Picks the backend. `choice` is CLAWCHAT_AEAD (`auto` when unset, `native`
 * or `node`); `embedded` the bundle's addon in base64; `sourcePath` the file
 * tried when nothing is embedded; `platform`/`arch` this process's. Exported
 * for tests; `aeadBackend` caches it.
 */
export function loadBackend(
  choice: string | undefined,
  embedded: string | undefined,
  sourcePath: string = SOURCE_ADDON_PATH,
  { platform, arch }: { platform: string; arch: string } = process,
): Loaded {
  const mode = choice === undefined || choice === "" ? "auto" : choice;
  if (mode !== "auto" && mode !== "native" && mode !== "node") {
    throw new ConfigError("CLAWCHAT_AEAD", `\`CLAWCHAT_AEAD\` must be auto, native or node; got ${JSON.stringify(mode.slice(0, 40))}`);
  }
  if (mode === "node") return { info: { name: "node-crypto", detail: "chosen by CLAWCHAT_AEAD=node" } };
  let addon: AeadAddon;
  let from: string;
  try {
    // The addon is built for Linux x64 (clawchat/native/build.mjs); elsewhere `clawchat connect` runs on node:crypto.
    if (platform !== "linux" || arch !== "x64") throw new Error(`the addon is built for Linux x64 and this is ${platform} ${arch}`);
    if (embedded !== undefined) {
      addon = loadEmbedded(Buffer.from(embedded, "base64"));
      from = "carried in the bundle";
    } else if (existsSync(sourcePath)) {
      addon = loadFile(sourcePath);
      from = sourcePath;
    } else {
      throw new Error("this build carries no addon (built without gcc and OpenSSL's headers, or left out to fit user data)");
    }
    if (addon.abi !== ADDON_ABI) throw new Error(`the addon's interface is version ${String(addon.abi)}, this build needs ${ADDON_ABI}`);
    knownAnswer(addon);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0]?.slice(0, 200) : String(error);
    if (mode === "native") throw new ConfigError("CLAWCHAT_AEAD", `\`CLAWCHAT_AEAD=native\` but the AES-GCM addon does not load: ${reason}`);
    return { info: { name: "node-crypto", detail: `addon not used: ${reason}` } };
  }
  return { info: { name: "openssl-context", detail: from }, addon };
}

/**
 * Loading an addon runs its code: refuse a file, or a folder it is in, that
 * anyone but this user (or root) could have written or replaced.
 */
function loadFile(path: string): AeadAddon {
  const uid = process.geteuid?.() ?? 0;
  for (const [what, target] of [["", path], ["the folder of ", dirname(path)]] as const) {
    const stats = statSync(target);
    if ((stats.mode & 0o022) !== 0) throw new Error(`${what}${target} is writable by group or others (mode ${(stats.mode & 0o777).toString(8)})`);
    if (stats.uid !== uid && stats.uid !== 0) throw new Error(`${what}${target} is owned by uid ${stats.uid}, not by this user (${uid}) or root`);
  }
  const module = { exports: {} as AeadAddon };
  process.dlopen(module, path);
  return module.exports;
}

/** Writes the embedded addon to a fresh directory only this user can enter, loads it and removes the directory (the mapping stays). */
function loadEmbedded(bytes: Buffer): AeadAddon {
  const dir = mkdtempSync(join(tmpdir(), "clawchat-aead-"));
  try {
    const path = join(dir, "clawchat-aead.node");
    writeFileSync(path, bytes, { mode: 0o500, flag: "wx" });
    return loadFile(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One packet sealed and opened by both backends (a fixed key, IV, header and
 * text), compared byte for byte, plus a tampered tag that must not open.
 */
function knownAnswer(addon: AeadAddon): void {
  const key = Buffer.alloc(32, 0x5a);
  const plaintext = Buffer.from("ClawChat known-answer check: AES-256-GCM through one reusable OpenSSL context.", "utf8");
  const datagram = Buffer.alloc(BODY + plaintext.length + TAG_LENGTH);
  for (let i = 0; i < BODY; i++) datagram[i] = (i * 37 + 11) & 0xff;
  const expected = Buffer.from(datagram);
  sealWithNodeCrypto(key, expected, plaintext);
  const handle = addon.create(key);
  try {
    addon.seal(handle, datagram, plaintext);
    if (!datagram.equals(expected)) throw new Error("the addon's ciphertext differs from node:crypto's");
    const out = Buffer.alloc(plaintext.length);
    if (!addon.open(handle, datagram, datagram.length, out) || !out.equals(plaintext)) throw new Error("the addon does not open its own packet");
    datagram[datagram.length - 1] = (datagram[datagram.length - 1] as number) ^ 1;
    if (addon.open(handle, datagram, datagram.length, out)) throw new Error("the addon opened a packet with a wrong tag");
  } finally {
    addon.destroy(handle);
  }
}
