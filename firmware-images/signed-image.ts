/**
 * Signing and verifying whole images: where the signature sector sits, what is
 * signed (the image padded with 0xFF to a 4096-byte multiple), and which trusted
 * key signed each block.
 */
import { constants, createHash, verify, type KeyObject } from "node:crypto";
import { FirmwareCheckError } from "./errors";
import { parseEspImage, type EspImage } from "./esp-image";
import {
  MAX_BLOCKS,
  SECTOR_SIZE,
  BLOCK_MAGIC,
  decodeSignatureSector,
  encodeSignatureBlock,
  encodeSignatureSector,
  padToSector,
  type SignatureBlock,
} from "./secure-boot-v2";
import { signerIdentity, type ImageSigner, type TrustedKey } from "./signer-backends";
import { publicKeyFromMaterial, publicKeyMaterial, type SigningScheme } from "./signing-keys";

export interface SplitImage {
  image: EspImage;
  /** The bytes the signatures cover: the image and its 0xFF padding (without the sector). */
  signedData: Buffer;
  /** The signature sector when the file carries one. */
  sector?: Buffer;
}

/**
 * Parses an image and finds its signature sector: the last 4096 bytes, when
 * they lie after the image content and start with a block magic (0xE7).
 */
export function splitSignedImage(bytes: Uint8Array): SplitImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const image = parseEspImage(buffer);
  const sectorStart = buffer.length - SECTOR_SIZE;
  if (buffer.length % SECTOR_SIZE === 0 && sectorStart >= image.contentLength && buffer[sectorStart] === BLOCK_MAGIC) {
    return { image, signedData: buffer.subarray(0, sectorStart), sector: buffer.subarray(sectorStart) };
  }
  return { image, signedData: buffer };
}

export function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

export function verifyRawSignature(scheme: SigningScheme, key: KeyObject, message: Uint8Array, signature: Buffer): boolean {
  if (scheme === "ecdsa-p256") return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
  return verify("sha256", message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
}

export interface SignOptions {
  /** Add a block to an existing sector (key rotation) instead of refusing a signed image. */
  append?: boolean;
}

export interface SignResult {
  signed: Buffer;
  block: SignatureBlock;
  blockCount: number;
}

/**
 * Signs an image: pads it to 4096 bytes with 0xFF and appends a signature
 * sector, or with `append` adds a block to the existing sector (at most 3,
 * one scheme, one block per key). The new signature is checked against the
 * signer's public key before anything is returned.
 */
export async function signImage(bytes: Uint8Array, signer: ImageSigner, options: SignOptions = {}): Promise<SignResult> {
  const split = splitSignedImage(bytes);
  const identity = await signerIdentity(signer);
  let existing: SignatureBlock[] = [];
  let signedData: Buffer;
  if (split.sector) {
    if (!options.append) {
      throw new FirmwareCheckError("signature sector", "the image already has a Secure Boot V2 signature sector; pass --append to add a block");
    }
    // Re-check every existing block so a broken image is never re-signed.
    existing = checkBlocks(split.signedData, decodeSignatureSector(split.sector));
    if (existing.length >= MAX_BLOCKS) {
      throw new FirmwareCheckError("block count", `the signature sector already holds ${MAX_BLOCKS} blocks, the most Secure Boot V2 allows`);
    }
    const other = existing.find((block) => block.scheme !== identity.scheme);
    if (other) {
      throw new FirmwareCheckError("signature scheme", `the image is signed with ${other.scheme}; a chip verifies one scheme, so a ${identity.scheme} block cannot be added`);
    }
    if (existing.some((block) => block.keyDigest === identity.keyDigest)) {
      throw new FirmwareCheckError("duplicate key", `key ${identity.keyDigest} already signed this image`);
    }
    signedData = split.signedData;
  } else {
    signedData = padToSector(split.signedData);
  }
  const digest = sha256(signedData);
  const signature = await signer.sign(digest, signedData);
  if (!verifyRawSignature(identity.scheme, identity.publicKey, signedData, signature)) {
    throw new FirmwareCheckError("signer output", `${signer.description} returned a signature that does not verify with its own public key`);
  }
  const { material } = publicKeyMaterial(identity.publicKey, signer.description);
  const blockBytes = encodeSignatureBlock(identity.scheme, digest, material, signature);
  const sector = split.sector ? Buffer.from(split.sector) : encodeSignatureSector([]);
  blockBytes.copy(sector, existing.length * blockBytes.length);
  const [block] = checkBlocks(signedData, decodeSignatureSector(sector)).slice(existing.length);
  return { signed: Buffer.concat([signedData, sector]), block: block!, blockCount: existing.length + 1 };
}

/** Checks each block's digest and signature against the key it carries. */
function checkBlocks(signedData: Buffer, blocks: SignatureBlock[]): SignatureBlock[] {
  const digest = sha256(signedData);
  for (const block of blocks) {
    const label = `signature block ${block.index}`;
    if (!block.imageDigest.equals(digest)) {
      throw new FirmwareCheckError("image digest", `${label} signs digest ${block.imageDigest.toString("hex")} but the padded image hashes to ${digest.toString("hex")}`);
    }
    const key = publicKeyFromMaterial(block.scheme, block.keyMaterial, label);
    if (!verifyRawSignature(block.scheme, key, signedData, block.signature)) {
      throw new FirmwareCheckError("signature", `${label} (${block.scheme}, key ${block.keyDigest}) does not verify over the image`);
    }
  }
  return blocks;
}

export interface VerifiedBlock {
  index: number;
  scheme: SigningScheme;
  keyDigest: string;
  /** The trusted key (file name) whose digest matches, if any. */
  trustedKey?: string;
}

export interface VerifyReport {
  image: EspImage;
  blocks: VerifiedBlock[];
  /** Blocks made by one of the trusted keys. */
  trustedBlocks: VerifiedBlock[];
}

/**
 * Verifies a signed image: ESP32 header, checksum and hash, then for every
 * block its magic, CRC32, digest and signature; finally at least one block
 * must come from a trusted key (matched by key digest, as the eFuse does).
 */
export function verifyImage(bytes: Uint8Array, trustedKeys: readonly Pick<TrustedKey, "name" | "keyDigest">[]): VerifyReport {
  const split = splitSignedImage(bytes);
  if (!split.sector) {
    throw new FirmwareCheckError("signature sector", "the image has no Secure Boot V2 signature sector (the last 4096 bytes hold no block with magic 0xe7)");
  }
  if (split.signedData.length % SECTOR_SIZE !== 0) {
    throw new FirmwareCheckError("image length", `the signed data is ${split.signedData.length} bytes, not a multiple of ${SECTOR_SIZE}`);
  }
  const blocks = checkBlocks(split.signedData, decodeSignatureSector(split.sector)).map((block) => {
    const trusted = trustedKeys.find((key) => key.keyDigest === block.keyDigest);
    const verified: VerifiedBlock = { index: block.index, scheme: block.scheme, keyDigest: block.keyDigest };
    if (trusted) verified.trustedKey = trusted.name;
    return verified;
  });
  const trustedBlocks = blocks.filter((block) => block.trustedKey !== undefined);
  if (trustedBlocks.length === 0) {
    const found = blocks.map((block) => block.keyDigest).join(", ");
    const given = trustedKeys.map((key) => `${key.name} (${key.keyDigest})`).join(", ") || "none";
    throw new FirmwareCheckError("trusted key", `no block was signed by a given key: blocks carry key digests ${found}; given ${given}`);
  }
  return { image: split.image, blocks, trustedBlocks };
}

/** Reads the blocks without requiring a trusted key (for `inspect`); the blocks' own checks still run. */
export function readSignatureBlocks(bytes: Uint8Array): { split: SplitImage; blocks: SignatureBlock[] } {
  const split = splitSignedImage(bytes);
  return { split, blocks: split.sector ? decodeSignatureSector(split.sector) : [] };
}
