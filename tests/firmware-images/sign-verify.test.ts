import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { FirmwareCheckError } from "../../firmware-images/errors";
import { BLOCK_SIZE, CRC_OFFSET, SECTOR_SIZE } from "../../firmware-images/secure-boot-v2";
import { signImage, verifyImage } from "../../firmware-images/signed-image";
import { LocalKeySigner, trustedKeyFrom, type TrustedKey } from "../../firmware-images/signer-backends";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { ecdsaKey, flipBit, rsaKey } from "./helpers";

async function checkOfAsync(action: () => unknown): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof FirmwareCheckError) return error.check;
    throw error;
  }
  throw new Error("expected a FirmwareCheckError");
}

const trusted = (key: KeyObject, name: string): TrustedKey => trustedKeyFrom(createPublicKey(key), name);
const signer = (key: KeyObject, name: string): LocalKeySigner => LocalKeySigner.fromKeyObject(key, name);

const schemes = [
  { scheme: "ecdsa-p256", makeKey: () => ecdsaKey(), signatureOffset: 101, signatureLength: 64 },
  { scheme: "rsa-3072", makeKey: () => rsaKey(), signatureOffset: 812, signatureLength: 384 },
] as const;

describe.each(schemes)("$scheme", ({ scheme, makeKey, signatureOffset, signatureLength }) => {
  const keys: KeyObject[] = [];
  const image = buildTestImage({ size: 10_000, secureVersion: 2 });
  let signed: Buffer;

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) keys.push(makeKey());
    signed = (await signImage(image, signer(keys[0]!, "key0"))).signed;
  });

  it("pads to 4096 bytes with 0xFF, appends one sector, and verifies with its key", () => {
    expect(signed.length).toBe(Math.ceil(image.length / SECTOR_SIZE) * SECTOR_SIZE + SECTOR_SIZE);
    expect(signed.subarray(0, image.length).equals(image)).toBe(true);
    expect(signed.subarray(image.length, signed.length - SECTOR_SIZE).every((byte) => byte === 0xff)).toBe(true);
    expect(signed.subarray(signed.length - SECTOR_SIZE + BLOCK_SIZE).every((byte) => byte === 0xff)).toBe(true);
    const report = verifyImage(signed, [trusted(keys[0]!, "key0.pem")]);
    expect(report.blocks).toEqual([{ index: 0, scheme, keyDigest: trusted(keys[0]!, "x").keyDigest, trustedKey: "key0.pem" }]);
  });

  it("refuses the image with another key", async () => {
    expect(await checkOfAsync(() => verifyImage(signed, [trusted(keys[1]!, "key1.pem")]))).toBe("trusted key");
  });

  const sectorStart = (bytes: Buffer): number => bytes.length - SECTOR_SIZE;
  const tamperCases: Array<[string, (bytes: Buffer) => number, string]> = [
    ["a byte of the image", () => 0x400, "image checksum"],
    ["a byte of the 0xFF padding", (bytes) => sectorStart(bytes) - 1, "image digest"],
    ["a byte of the digest in the block", (bytes) => sectorStart(bytes) + 4, "block crc"],
    ["a byte of the signature", (bytes) => sectorStart(bytes) + signatureOffset + signatureLength - 1, "block crc"],
    ["a byte of the CRC", (bytes) => sectorStart(bytes) + CRC_OFFSET, "block crc"],
  ];
  it.each(tamperCases)("refuses a flipped bit in %s", async (_what, offset, check) => {
    const tampered = Buffer.from(signed);
    flipBit(tampered, offset(tampered));
    expect(await checkOfAsync(() => verifyImage(tampered, [trusted(keys[0]!, "key0.pem")]))).toBe(check);
  });

  it("refuses a tampered digest or signature even when the CRC is recomputed", async () => {
    const { crc32 } = await import("node:zlib");
    for (const [offset, check] of [
      [4, "image digest"],
      [signatureOffset + 5, "signature"],
    ] as const) {
      const tampered = Buffer.from(signed);
      const block = tampered.subarray(sectorStart(tampered), sectorStart(tampered) + BLOCK_SIZE);
      flipBit(block, offset);
      block.writeUInt32LE(crc32(block.subarray(0, CRC_OFFSET)), CRC_OFFSET);
      expect(await checkOfAsync(() => verifyImage(tampered, [trusted(keys[0]!, "key0.pem")]))).toBe(check);
    }
  });

  it("refuses an existing signature sector without --append", async () => {
    expect(await checkOfAsync(() => signImage(signed, signer(keys[1]!, "key1")))).toBe("signature sector");
  });

  it("appends up to three blocks (key rotation), each key verifies, and refuses a fourth", async () => {
    let current = signed;
    for (let i = 1; i <= 2; i++) {
      const result = await signImage(current, signer(keys[i]!, `key${i}`), { append: true });
      expect(result.signed.length).toBe(signed.length);
      expect(result.blockCount).toBe(i + 1);
      current = result.signed;
    }
    for (let i = 0; i < 3; i++) {
      const report = verifyImage(current, [trusted(keys[i]!, `key${i}.pem`)]);
      expect(report.trustedBlocks.map((block) => block.index)).toEqual([i]);
    }
    expect(await checkOfAsync(() => signImage(current, signer(keys[3]!, "key3"), { append: true }))).toBe("block count");
  });

  it("refuses appending a second block by the same key", async () => {
    expect(await checkOfAsync(() => signImage(signed, signer(keys[0]!, "key0"), { append: true }))).toBe("duplicate key");
  });
});

describe("keys and schemes", () => {
  it("refuses mixing schemes in one sector", async () => {
    const signed = (await signImage(buildTestImage(), signer(ecdsaKey(), "ec"))).signed;
    expect(await checkOfAsync(() => signImage(signed, signer(rsaKey(), "rsa"), { append: true }))).toBe("signature scheme");
  });

  it.each([
    ["RSA-2048", () => rsaKey(2048)],
    ["P-384", () => generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey],
    ["Ed25519", () => generateKeyPairSync("ed25519").privateKey],
  ])("refuses a %s key for signing and as a trusted key", async (_name, makeKey) => {
    const key = makeKey();
    expect(await checkOfAsync(() => signer(key, "bad"))).toBe("key type");
    expect(await checkOfAsync(() => trusted(key, "bad.pem"))).toBe("key type");
  });

  it("refuses verifying an unsigned image", async () => {
    expect(await checkOfAsync(() => verifyImage(buildTestImage(), [trusted(ecdsaKey(), "k")]))).toBe("signature sector");
  });
});
