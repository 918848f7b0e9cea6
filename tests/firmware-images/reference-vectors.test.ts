/**
 * Espressif's own espsecure output: the verifier must accept it with the right
 * keys and refuse it with the wrong ones, and our signer must produce the same
 * bytes except the randomized signature (and the CRC that covers it).
 */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FirmwareCheckError } from "../../firmware-images/errors";
import { BLOCK_SIZE, SECTOR_SIZE, decodeSignatureSector } from "../../firmware-images/secure-boot-v2";
import { signImage, verifyImage } from "../../firmware-images/signed-image";
import { LocalKeySigner, loadTrustedKey, trustedKeyFrom } from "../../firmware-images/signer-backends";
import { ecdsaKey, rsaKey, vector } from "./helpers";

const unsigned = readFileSync(vector("bootloader_unsigned_v2.bin"));
const pubkeys = (prefix: string) => [1, 2, 3].map((i) => vector(`${prefix}_secure_boot_signing_pubkey${i === 1 ? "" : i}.pem`));

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof FirmwareCheckError) return error.check;
    throw error;
  }
  return "accepted";
}

describe.each([
  { prefix: "rsa", scheme: "rsa-3072", signatureRange: [812, 1196] },
  { prefix: "ecdsa256", scheme: "ecdsa-p256", signatureRange: [101, 165] },
] as const)("$scheme vectors", ({ prefix, scheme, signatureRange }) => {
  const single = readFileSync(vector(`bootloader_signed_v2_${prefix === "rsa" ? "rsa" : "ecdsa256"}.bin`));
  const multi = readFileSync(vector(`bootloader_multi_signed_v2_${prefix === "rsa" ? "rsa" : "ecdsa256"}.bin`));
  const [key1, key2, key3] = pubkeys(prefix).map(loadTrustedKey);

  it("accepts the single-block image with key 1 and names it", () => {
    const report = verifyImage(single, [key1!]);
    expect(report.blocks).toEqual([{ index: 0, scheme, keyDigest: key1!.keyDigest, trustedKey: key1!.name }]);
  });

  it("refuses the single-block image with keys 2 and 3", () => {
    expect(refusal(() => verifyImage(single, [key2!, key3!]))).toBe("trusted key");
  });

  it("accepts the triple-block image with each key, matching blocks 0, 1, 2 in order", () => {
    for (const [index, key] of [key1!, key2!, key3!].entries()) {
      const report = verifyImage(multi, [key]);
      expect(report.blocks.map((block) => block.scheme)).toEqual([scheme, scheme, scheme]);
      expect(report.trustedBlocks.map((block) => block.index)).toEqual([index]);
    }
  });

  it("refuses the triple-block image with a key of the other scheme", () => {
    const other = loadTrustedKey(vector(prefix === "rsa" ? "ecdsa256_secure_boot_signing_pubkey.pem" : "rsa_secure_boot_signing_pubkey.pem"));
    expect(refusal(() => verifyImage(multi, [other]))).toBe("trusted key");
  });

  it("signs the unsigned image into the same bytes as espsecure except the signature and CRC", async () => {
    const signer = LocalKeySigner.fromPemFile(vector(`${prefix}_secure_boot_signing_key.pem`));
    const ours = (await signImage(unsigned, signer)).signed;
    expect(ours.length).toBe(single.length);
    const differing: number[] = [];
    for (let i = 0; i < ours.length; i++) if (ours[i] !== single[i]) differing.push(i - (single.length - SECTOR_SIZE));
    const [from, to] = signatureRange;
    expect(differing.every((offset) => (offset >= from && offset < to) || (offset >= 1196 && offset < 1200))).toBe(true);
    // Key material (for RSA: n, e, R, M') and digest decoded from both are equal.
    const [theirs] = decodeSignatureSector(single.subarray(single.length - SECTOR_SIZE));
    const [mine] = decodeSignatureSector(ours.subarray(ours.length - SECTOR_SIZE));
    expect(mine!.keyMaterial.equals(theirs!.keyMaterial)).toBe(true);
    expect(mine!.imageDigest.equals(theirs!.imageDigest)).toBe(true);
    expect(mine!.keyDigest).toBe(key1!.keyDigest);
    expect(verifyImage(ours, [key1!]).trustedBlocks).toHaveLength(1);
  });

  it("appends a second block to espsecure's single-block image: slot 0 kept byte for byte, both verify", async () => {
    const fresh = prefix === "rsa" ? rsaKey() : ecdsaKey();
    const appended = (await signImage(single, LocalKeySigner.fromKeyObject(fresh, "fresh"), { append: true })).signed;
    const start = single.length - SECTOR_SIZE;
    expect(appended.length).toBe(single.length);
    expect(appended.subarray(0, start + BLOCK_SIZE).equals(single.subarray(0, start + BLOCK_SIZE))).toBe(true);
    expect(appended.subarray(start + 2 * BLOCK_SIZE).every((byte) => byte === 0xff)).toBe(true);
    const freshKey = trustedKeyFrom(createPublicKey(fresh), "fresh.pem");
    expect(verifyImage(appended, [key1!, freshKey]).trustedBlocks.map((block) => block.trustedKey)).toEqual([key1!.name, "fresh.pem"]);
    // espsecure's triple-block sector has the same shape: three blocks, the rest 0xFF.
    expect(multi.subarray(multi.length - SECTOR_SIZE + 3 * BLOCK_SIZE).every((byte) => byte === 0xff)).toBe(true);
    // Key 1 already signed: appending it again is refused.
    const again = await signImage(single, LocalKeySigner.fromPemFile(vector(`${prefix}_secure_boot_signing_key.pem`)), { append: true }).catch((error: unknown) => error);
    expect((again as FirmwareCheckError).check).toBe("duplicate key");
  });
});
