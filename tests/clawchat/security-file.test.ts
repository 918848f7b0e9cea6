/**
 * Seed 002 §6: the security directory, the bootstrap key and the encrypted
 * security file, and every bad input of issue 6: a wrong bootstrap key, a
 * corrupted or truncated file, an expired one, loose permissions. Each is
 * refused with a message naming the field, and nothing on disk changes.
 */
import { createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClawChatClient } from "../../clawchat/src/client";
import { ManualClock } from "../../clawchat/src/clock";
import { ClawChatServer } from "../../clawchat/src/server";
import { listSecurityFiles, loadSecurityFile, readBootstrapKey, writeSecretFile } from "../../clawchat/src/security-dir";
import { BOOTSTRAP_KEY_FILE, bootstrapKeyId, checkValidity, decryptSecurityFile, encryptSecurityFile, securityFileName } from "../../clawchat/src/security-file";
import { makeSecurityDir, TEST_ITERATIONS, type SecurityDir } from "./support";

let security: SecurityDir | undefined;
afterEach(async () => {
  if (security) await fs.rm(security.root, { recursive: true, force: true });
  security = undefined;
});

/** Every file of a directory with its mode and bytes, to prove a refusal changed nothing. */
async function snapshot(dir: string): Promise<Record<string, { mode: number; bytes: string }>> {
  const out: Record<string, { mode: number; bytes: string }> = {};
  for (const name of (await fs.readdir(dir)).sort()) {
    const path = join(dir, name);
    const stat = await fs.stat(path);
    out[name] = { mode: stat.mode & 0o777, bytes: stat.isFile() ? (await fs.readFile(path)).toString("base64") : "" };
  }
  out["."] = { mode: (await fs.stat(dir)).mode & 0o777, bytes: "" };
  return out;
}

describe("the security file of §6", () => {
  it("is written with 700/600 permissions and the package fields of §6.3, and decrypts with the raw bootstrap key", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now());
    expect((await fs.stat(security.dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(security.keyPath)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(security.filePath)).mode & 0o777).toBe(0o600);
    expect(security.filePath.endsWith(securityFileName(security.content.valid_from))).toBe(true);
    expect(security.filePath).toMatch(/clawchat-20260222-120000\.sec$/);

    const pkg = JSON.parse(await fs.readFile(security.filePath, "utf8")) as Record<string, unknown>;
    expect(Object.keys(pkg).sort()).toEqual(["algorithm", "ciphertext", "iterations", "iv", "salt", "tag", "timestamp", "version"]);
    expect(pkg).toMatchObject({ version: "2.0", algorithm: "aes-256-gcm-pbkdf2", iterations: TEST_ITERATIONS });
    // Decrypt independently of the library, exactly as §6.3 describes.
    const fileKey = pbkdf2Sync(security.bootstrapKey, Buffer.from(pkg.salt as string, "base64"), TEST_ITERATIONS, 32, "sha256");
    const decipher = createDecipheriv("aes-256-gcm", fileKey, Buffer.from(pkg.iv as string, "base64"));
    decipher.setAuthTag(Buffer.from(pkg.tag as string, "base64"));
    const content = JSON.parse(Buffer.concat([decipher.update(Buffer.from(pkg.ciphertext as string, "base64")), decipher.final()]).toString("utf8")) as Record<string, unknown>;
    expect(content).toEqual(security.content);
    expect(Buffer.from(content.shared_secret as string, "base64")).toHaveLength(32);
    expect(content.bootstrap_key_id).toBe(bootstrapKeyId(security.bootstrapKey));
    expect(content.server_id).toMatch(/^cc-[0-9a-f-]{36}$/);
    // The bootstrap key file holds the key in base64 and nothing else.
    expect(await readBootstrapKey(security.keyPath)).toEqual(security.bootstrapKey);
  });

  it("uses 600,000 PBKDF2 iterations by default and accepts any recorded count of at least 100,000", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now());
    const key = randomBytes(32);
    const pkg = await encryptSecurityFile(security.content, key);
    expect(pkg.iterations).toBe(600_000);
    await expect(decryptSecurityFile(JSON.stringify(pkg), key)).resolves.toEqual(security.content);
    const low = await encryptSecurityFile(security.content, key, { iterations: 100_000 });
    await expect(decryptSecurityFile(JSON.stringify({ ...low, iterations: 99_999 }), key)).rejects.toThrow(/`iterations` must be an integer from 100000/);
    await expect(encryptSecurityFile(security.content, key, { iterations: 1000 })).rejects.toThrow(/`iterations`/);
  });
});

describe("bad input is refused with a clear message and nothing is overwritten", () => {
  it("a wrong bootstrap key", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now());
    const before = await snapshot(security.dir);
    await expect(loadSecurityFile(security.filePath, randomBytes(32))).rejects.toThrow(
      /does not decrypt with this bootstrap key: the key is wrong or the file was altered/,
    );
    const otherKey = join(security.root, "other.key");
    await fs.writeFile(otherKey, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    await expect(ClawChatClient.open(security.filePath, otherKey, { clock })).rejects.toMatchObject({ key: "bootstrap_key" });
    expect(await snapshot(security.dir)).toEqual(before);
  });

  it("a bootstrap key file that does not hold 32 bytes of base64", async () => {
    security = await makeSecurityDir(new ManualClock().now());
    const bad = join(security.root, "short.key");
    await fs.writeFile(bad, `${randomBytes(16).toString("base64")}\n`, { mode: 0o600 });
    await expect(readBootstrapKey(bad)).rejects.toThrow(/`bootstrap-key` .* must hold 32 bytes in base64; got 16 bytes/);
  });

  it("a corrupted file: one flipped ciphertext byte, bad JSON, a field of the wrong length", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now());
    const text = await fs.readFile(security.filePath, "utf8");
    const pkg = JSON.parse(text) as Record<string, string | number>;
    const ciphertext = Buffer.from(pkg.ciphertext as string, "base64");
    ciphertext[5] = (ciphertext[5] as number) ^ 0x80;
    await expect(decryptSecurityFile(JSON.stringify({ ...pkg, ciphertext: ciphertext.toString("base64") }), security.bootstrapKey)).rejects.toThrow(
      /the key is wrong or the file was altered/,
    );
    await expect(decryptSecurityFile(text.replace("{", "["), security.bootstrapKey)).rejects.toThrow(/not valid JSON|must hold a JSON object/);
    await expect(decryptSecurityFile(JSON.stringify({ ...pkg, iv: randomBytes(8).toString("base64") }), security.bootstrapKey)).rejects.toThrow(
      /`iv` must be 12 bytes; got 8/,
    );
    await expect(decryptSecurityFile(JSON.stringify({ ...pkg, salt: "not base64!" }), security.bootstrapKey)).rejects.toThrow(/`salt` must be base64/);
    await expect(decryptSecurityFile(JSON.stringify({ ...pkg, algorithm: "aes-128-cbc" }), security.bootstrapKey)).rejects.toThrow(
      /`algorithm` must be "aes-256-gcm-pbkdf2"; got "aes-128-cbc"/,
    );
    // The server refuses to start on a corrupted file and leaves it as it was.
    const corrupted = JSON.stringify({ ...pkg, tag: randomBytes(16).toString("base64") });
    await fs.writeFile(security.filePath, corrupted);
    const before = await snapshot(security.dir);
    const server = new ClawChatServer({ dir: security.dir, port: 0, clock, iterations: TEST_ITERATIONS, chatHandler: async () => "" });
    await expect(server.start()).rejects.toMatchObject({ key: "bootstrap_key" });
    expect(await snapshot(security.dir)).toEqual(before);
  });

  it("a truncated file, at every length class: empty, cut JSON, cut base64", async () => {
    security = await makeSecurityDir(new ManualClock().now());
    const text = await fs.readFile(security.filePath, "utf8");
    for (const cut of [0, 1, 40, Math.floor(text.length / 2), text.length - 3]) {
      await expect(decryptSecurityFile(text.slice(0, cut), security.bootstrapKey, "clawchat-x.sec")).rejects.toThrow(/clawchat-x\.sec is not valid JSON \(truncated or corrupted\)/);
    }
    const pkg = JSON.parse(text) as Record<string, string>;
    const ciphertext = pkg.ciphertext as string;
    await expect(decryptSecurityFile(JSON.stringify({ ...pkg, ciphertext: ciphertext.slice(0, ciphertext.length - 8) }), security.bootstrapKey)).rejects.toThrow(
      /the key is wrong or the file was altered/,
    );
  });

  it("content with a bad field names it (decrypts fine, but `shared_secret` is 16 bytes)", async () => {
    security = await makeSecurityDir(new ManualClock().now());
    const pkg = await encryptSecurityFile({ ...security.content, shared_secret: randomBytes(16).toString("base64") }, security.bootstrapKey, { iterations: TEST_ITERATIONS });
    await expect(decryptSecurityFile(JSON.stringify(pkg), security.bootstrapKey)).rejects.toThrow(/`shared_secret` must be 32 bytes in base64; got "16 bytes"/);
    const port = await encryptSecurityFile({ ...security.content, server_udp_port: 70_000 }, security.bootstrapKey, { iterations: TEST_ITERATIONS });
    await expect(decryptSecurityFile(JSON.stringify(port), security.bootstrapKey)).rejects.toThrow(/`server_udp_port` must be an integer from 1 to 65535; got 70000/);
  });

  it("an expired file (`valid_until` in the past): the client refuses it and leaves it in place", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now(), 3600);
    clock.advance(3600_000);
    expect(() => checkValidity(security?.content as never, clock.now(), "f.sec")).toThrow(/f\.sec expired: `valid_until` is 2026-02-22T13:00:00\.000Z/);
    const before = await snapshot(security.dir);
    await expect(ClawChatClient.open(security.filePath, security.keyPath, { clock })).rejects.toMatchObject({ key: "valid_until" });
    expect(await snapshot(security.dir)).toEqual(before);
  });

  it("loose permissions: a 755 directory, a 644 security file, a 640 bootstrap key", async () => {
    const clock = new ManualClock();
    security = await makeSecurityDir(clock.now());
    const server = (): ClawChatServer => new ClawChatServer({ dir: security?.dir as string, port: 0, clock, iterations: TEST_ITERATIONS, chatHandler: async () => "" });

    await fs.chmod(security.dir, 0o755);
    let before = await snapshot(security.dir);
    await expect(server().start()).rejects.toThrow(/`--dir` .* has mode 755; it must be 700 \(owner only\)\. Fix with: chmod 700/);
    expect(await snapshot(security.dir)).toEqual(before);
    await fs.chmod(security.dir, 0o700);

    await fs.chmod(security.filePath, 0o644);
    before = await snapshot(security.dir);
    await expect(server().start()).rejects.toThrow(/`security-file` .* has mode 644; it must be 600/);
    await expect(ClawChatClient.open(security.filePath, security.keyPath, { clock })).rejects.toThrow(/`security-file` .* has mode 644/);
    expect(await snapshot(security.dir)).toEqual(before);
    await fs.chmod(security.filePath, 0o600);

    await fs.chmod(security.keyPath, 0o640);
    before = await snapshot(security.dir);
    await expect(server().start()).rejects.toThrow(/`bootstrap-key` .* has mode 640; it must be 600/);
    expect(await snapshot(security.dir)).toEqual(before);
  });

  it("never overwrites an existing file: a second write of the same name fails and the first stays intact", async () => {
    security = await makeSecurityDir(new ManualClock().now());
    const before = await fs.readFile(security.keyPath);
    await expect(writeSecretFile(security.dir, BOOTSTRAP_KEY_FILE, "replacement\n")).rejects.toMatchObject({ code: "EEXIST" });
    expect(await fs.readFile(security.keyPath)).toEqual(before);
    expect((await fs.readdir(security.dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(await listSecurityFiles(security.dir)).toEqual([security.filePath]);
  });
});
