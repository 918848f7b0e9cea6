/**
 * The AES-256-GCM addon (clawchat/native/aead.c) against node:crypto: the same
 * bytes for every length, nothing opened that was altered, arguments refused by
 * name, and the loader's choices (embedded, from source, refused, required).
 */
import { createCipheriv, randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cipherOn, loadBackend, openWithNodeCrypto, sealWithNodeCrypto, SOURCE_ADDON_PATH } from "../../clawchat/src/aead";
import { EpochKeys } from "../../clawchat/src/channel";
import { ConfigError } from "../../clawchat/src/errors";
import { Direction } from "../../clawchat/src/keys";
import { parsePacket, type PacketView } from "../../clawchat/src/wire";

const BODY = 38;
const TAG = 16;

/** The addon is built by `npm test`'s pretest (clawchat/build.mjs); CI requires it (CLAWCHAT_AEAD_BUILD=required). */
function addonBuilt(): boolean {
  if (existsSync(SOURCE_ADDON_PATH)) return true;
  const why = `${SOURCE_ADDON_PATH} is not built (needs gcc and libssl-dev; run \`npm run clawchat:build\`)`;
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") throw new Error(`the AES-GCM addon is required under .ci/run: ${why}`);
  console.warn(`[skip] ${why}: skipping the addon's tests`);
  return false;
}

const built = addonBuilt();
const scratch = mkdtempSync(join(tmpdir(), "clawchat-aead-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Addon {
  abi: number;
  create(key: Buffer): object;
  seal(handle: object, datagram: Buffer, plaintext: Buffer): void;
  open(handle: object, datagram: Buffer, end: number, out: Buffer): boolean;
  destroy(handle: object): void;
}

function addon(): Addon {
  const loaded = loadBackend("native", undefined);
  return (loaded as unknown as { addon: Addon }).addon;
}

/** A datagram with a random header (the AAD) and IV, room for `length` bytes of ciphertext and the tag. */
function datagramFor(length: number): Buffer {
  const datagram = Buffer.alloc(BODY + length + TAG);
  randomBytes(BODY).copy(datagram);
  return datagram;
}

describe.skipIf(!built)("ClawChat's AES-256-GCM addon", () => {
  it("seals the bytes node:crypto seals and opens them, for every length up to a datagram's", () => {
    const aead = addon();
    const key = randomBytes(32);
    const handle = aead.create(key);
    const lengths = [0, 1, 15, 16, 17, 31, 32, 33, 255, 1012, 1036, 4096, 65_507 - BODY - TAG];
    for (let i = 0; i < 200; i++) lengths.push(Math.floor(Math.random() * 3000));
    for (const length of lengths) {
      const plaintext = randomBytes(length);
      const viaAddon = datagramFor(length);
      const viaNode = Buffer.from(viaAddon);
      aead.seal(handle, viaAddon, plaintext);
      sealWithNodeCrypto(key, viaNode, plaintext);
      expect(viaAddon.equals(viaNode), `length ${length}`).toBe(true);
      // Independently of ClawStack's wrappers: node:crypto's own GCM over the same header and IV.
      const cipher = createCipheriv("aes-256-gcm", key, viaNode.subarray(26, BODY)).setAAD(viaNode.subarray(0, 26));
      expect(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).equals(viaAddon.subarray(BODY))).toBe(true);
      const out = Buffer.alloc(length);
      expect(aead.open(handle, viaAddon, viaAddon.length, out)).toBe(true);
      expect(out.equals(plaintext)).toBe(true);
      // And what the addon sealed opens with node:crypto (the other backend a peer may run).
      expect(openWithNodeCrypto(key, { datagram: viaAddon, end: viaAddon.length } as PacketView)?.equals(plaintext)).toBe(true);
    }
    aead.destroy(handle);
  });

  it("opens nothing that was altered: header, IV, ciphertext, tag, length or key; the output is zeroed", () => {
    const aead = addon();
    const key = randomBytes(32);
    const handle = aead.create(key);
    const other = aead.create(randomBytes(32));
    const plaintext = randomBytes(1012);
    const datagram = datagramFor(plaintext.length);
    aead.seal(handle, datagram, plaintext);
    const out = Buffer.alloc(plaintext.length);
    for (const index of [0, 12, 25, 26, 37, 38, 500, datagram.length - TAG - 1, datagram.length - TAG, datagram.length - 1]) {
      const altered = Buffer.from(datagram);
      altered[index] = (altered[index] as number) ^ 0x01;
      out.fill(0xee);
      expect(aead.open(handle, altered, altered.length, out), `byte ${index}`).toBe(false);
      expect(out.every((byte) => byte === 0)).toBe(true);
    }
    expect(aead.open(handle, datagram, datagram.length - 1, out)).toBe(false);
    expect(aead.open(other, datagram, datagram.length, out)).toBe(false);
    // The context is reusable after a failure.
    expect(aead.open(handle, datagram, datagram.length, out)).toBe(true);
    expect(out.equals(plaintext)).toBe(true);
    aead.destroy(handle);
    aead.destroy(other);
  });

  it("refuses bad arguments by name, and a destroyed key", () => {
    const aead = addon();
    expect(() => aead.create(Buffer.alloc(16))).toThrow(/key: expected a Buffer of 32 bytes/);
    expect(() => aead.create("k".repeat(32) as unknown as Buffer)).toThrow(/key: expected a Buffer/);
    const handle = aead.create(randomBytes(32));
    expect(() => aead.seal({}, datagramFor(4), Buffer.alloc(4))).toThrow(/handle: expected a handle/);
    expect(() => aead.seal(handle, Buffer.alloc(BODY + 4 + TAG - 1), Buffer.alloc(4))).toThrow(/datagram: shorter than/);
    expect(() => aead.seal(handle, Buffer.alloc(70_000), Buffer.alloc(65_500))).toThrow(/plaintext: longer than a datagram/);
    const shared = datagramFor(8);
    expect(() => aead.seal(handle, shared, shared.subarray(BODY, BODY + 8))).toThrow(/plaintext: must not share memory/);
    const datagram = datagramFor(8);
    aead.seal(handle, datagram, Buffer.alloc(8));
    expect(() => aead.open(handle, datagram, datagram.length, Buffer.alloc(7))).toThrow(/out: shorter than the ciphertext/);
    expect(() => aead.open(handle, datagram, datagram.length + 1, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, 53, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, -1, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, datagram.length - 0.5, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, 2 ** 32 + datagram.length, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, Number.NaN, Buffer.alloc(8))).toThrow(/end: must be an integer between/);
    expect(() => aead.open(handle, datagram, "62" as unknown as number, Buffer.alloc(8))).toThrow(/end: expected an integer/);
    expect(() => aead.open(handle, datagram, datagram.length, datagram.subarray(BODY))).toThrow(/out: must not share memory/);
    aead.destroy(handle);
    aead.destroy(handle);
    expect(() => aead.seal(handle, datagramFor(4), Buffer.alloc(4))).toThrow(/handle: the key was destroyed/);
    expect(() => aead.open(handle, datagram, datagram.length, Buffer.alloc(8))).toThrow(/handle: the key was destroyed/);
  });

  it("seals session packets as EpochKeys sends them: a parsed packet opens with either backend", () => {
    const keys = { encryptionKey: randomBytes(32), macKey: randomBytes(32), ivKey: randomBytes(32), nextKeySeed: randomBytes(32) };
    const client = new EpochKeys(3, keys, Direction.clientToServer);
    const server = new EpochKeys(3, keys, Direction.serverToClient);
    for (const length of [0, 12, 1036]) {
      const datagram = client.seal(randomBytes(8), Date.now(), 1, randomBytes(length));
      const packet = parsePacket(datagram) as PacketView;
      const viaNode = openWithNodeCrypto(keys.encryptionKey, packet);
      const opened = server.open(packet);
      expect(Buffer.isBuffer(opened) && viaNode !== undefined && opened.equals(viaNode)).toBe(true);
    }
    client.destroy();
    server.destroy();
  });
});

describe("choosing the backend", () => {
  it("uses node:crypto when told to, and refuses an unknown choice naming CLAWCHAT_AEAD", () => {
    expect(loadBackend("node", undefined).info).toEqual({ name: "node-crypto", detail: "chosen by CLAWCHAT_AEAD=node" });
    expect(() => loadBackend("fast", undefined)).toThrow(ConfigError);
    expect(() => loadBackend("fast", undefined)).toThrow(/`CLAWCHAT_AEAD` must be auto, native or node; got "fast"/);
  });

  it("falls back to node:crypto and says why when no addon loads; `native` refuses to go on", () => {
    const missing = join(scratch, "absent.node");
    const none = loadBackend(undefined, undefined, missing);
    expect(none.info.name).toBe("node-crypto");
    expect(none.info.detail).toMatch(/carries no addon/);
    const garbage = Buffer.from("not an ELF file").toString("base64");
    const refused = loadBackend("auto", garbage, missing);
    expect(refused.info.name).toBe("node-crypto");
    expect(refused.info.detail).toMatch(/^addon not used: /);
    expect(() => loadBackend("native", garbage, missing)).toThrow(/`CLAWCHAT_AEAD=native` but the AES-GCM addon does not load/);
  });

  it("does not try the Linux x64 addon on another platform (a client on a laptop)", () => {
    const embedded = Buffer.from("stand-in").toString("base64");
    expect(loadBackend(undefined, embedded, SOURCE_ADDON_PATH, { platform: "darwin", arch: "arm64" }).info).toEqual({
      name: "node-crypto",
      detail: "addon not used: the addon is built for Linux x64 and this is darwin arm64",
    });
    expect(loadBackend(undefined, embedded, SOURCE_ADDON_PATH, { platform: "linux", arch: "arm64" }).info.detail).toMatch(/this is linux arm64/);
  });

  it.skipIf(!built)("loads the addon a bundle carries from a private directory it then removes", () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith("clawchat-aead-") && !name.startsWith("clawchat-aead-test-"));
    const loaded = loadBackend(undefined, readFileSync(SOURCE_ADDON_PATH).toString("base64"), join(scratch, "absent.node"));
    expect(loaded.info).toEqual({ name: "openssl-context", detail: "carried in the bundle" });
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith("clawchat-aead-") && !name.startsWith("clawchat-aead-test-"));
    expect(after.sort()).toEqual(before.sort());
  });

  it("seals nothing once an epoch's keys are destroyed, on either backend", () => {
    const backends = built ? [loadBackend("node", undefined), loadBackend("native", undefined)] : [loadBackend("node", undefined)];
    for (const backend of backends) {
      const key = randomBytes(32);
      const cipher = cipherOn(backend, key);
      const datagram = datagramFor(4);
      cipher.seal(datagram, Buffer.from("text"));
      const packet = { datagram, end: datagram.length } as PacketView;
      expect(cipher.open(packet)?.toString()).toBe("text");
      cipher.destroy();
      key.fill(0); // what EpochKeys.destroy does next
      expect(() => cipher.seal(datagramFor(4), Buffer.from("text")), backend.info.name).toThrow(/keys were destroyed/);
      expect(cipher.open(packet)).toBeUndefined();
    }
  });

  it.skipIf(!built)("refuses an addon file others could have replaced (group or world writable, or in such a folder)", () => {
    const copy = join(scratch, "writable.node");
    copyFileSync(SOURCE_ADDON_PATH, copy);
    chmodSync(copy, 0o664);
    const loaded = loadBackend(undefined, undefined, copy);
    expect(loaded.info.name).toBe("node-crypto");
    expect(loaded.info.detail).toMatch(/writable by group or others \(mode 664\)/);
    chmodSync(copy, 0o644);
    expect(loadBackend(undefined, undefined, copy).info).toEqual({ name: "openssl-context", detail: copy });
    const shared = join(scratch, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o775);
    copyFileSync(SOURCE_ADDON_PATH, join(shared, "a.node"));
    chmodSync(join(shared, "a.node"), 0o755);
    expect(loadBackend(undefined, undefined, join(shared, "a.node")).info.detail).toMatch(/the folder of .*shared is writable by group or others \(mode 775\)/);
  });
});
