/**
 * Secure Boot V2 signature blocks and the signature sector, byte-exact to
 * Espressif's layout (ESP-IDF "Secure Boot V2", espsecure `sign_data --version 2`):
 * the image is padded with 0xFF to a 4096-byte multiple, its SHA-256 is signed,
 * and a 4096-byte sector follows holding up to three 1216-byte blocks, the rest 0xFF.
 * Field tables: ESP-IDF "Secure Boot V2", signature block format; the workflow: docs/firmware.md.
 */
import { crc32 } from "node:zlib";
import { FirmwareCheckError } from "./errors";
import {
  ECDSA_MATERIAL_BYTES,
  RSA_KEY_BYTES,
  RSA_MATERIAL_BYTES,
  keyDigestOfMaterial,
  reversed,
  type SigningScheme,
} from "./signing-keys";

export const SECTOR_SIZE = 4096;
export const BLOCK_SIZE = 1216;
export const MAX_BLOCKS = 3;
export const BLOCK_MAGIC = 0xe7;
export const VERSION_RSA = 0x02;
export const VERSION_ECDSA = 0x03;
/** CRC32 covers bytes 0..1195; bytes 1200..1215 are zero. */
export const CRC_OFFSET = 1196;
const DIGEST_OFFSET = 4;
const MATERIAL_OFFSET = 36;
const ECDSA_SIGNATURE_OFFSET = MATERIAL_OFFSET + ECDSA_MATERIAL_BYTES;
const RSA_SIGNATURE_OFFSET = MATERIAL_OFFSET + RSA_MATERIAL_BYTES;

export const SIGNATURE_BYTES: Readonly<Record<SigningScheme, number>> = { "ecdsa-p256": 64, "rsa-3072": RSA_KEY_BYTES };

export interface SignatureBlock {
  index: number;
  scheme: SigningScheme;
  /** SHA-256 of the padded image the block claims to sign. */
  imageDigest: Buffer;
  /** Key material as stored (see signing-keys.ts). */
  keyMaterial: Buffer;
  /** The eFuse key digest (hex). */
  keyDigest: string;
  /** The signature big-endian (ECDSA: r then s, 32 bytes each). */
  signature: Buffer;
  crc: number;
}

/** Reads the signature out of the block into the big-endian form node:crypto takes. */
function signatureToBigEndian(scheme: SigningScheme, stored: Buffer): Buffer {
  if (scheme === "rsa-3072") return reversed(stored);
  return Buffer.concat([reversed(stored.subarray(0, 32)), reversed(stored.subarray(32, 64))]);
}

/** Builds one signature block; `signature` is big-endian as node:crypto or KMS give it. */
export function encodeSignatureBlock(scheme: SigningScheme, imageDigest: Buffer, keyMaterial: Buffer, signature: Buffer): Buffer {
  if (signature.length !== SIGNATURE_BYTES[scheme]) {
    throw new FirmwareCheckError("signature length", `a ${scheme} signature is ${SIGNATURE_BYTES[scheme]} bytes, the signer gave ${signature.length}`);
  }
  const block = Buffer.alloc(BLOCK_SIZE, 0);
  block[0] = BLOCK_MAGIC;
  block[1] = scheme === "rsa-3072" ? VERSION_RSA : VERSION_ECDSA;
  // Byte 2 is the ECDSA hash type (0 = SHA-256); zero for RSA too.
  imageDigest.copy(block, DIGEST_OFFSET);
  keyMaterial.copy(block, MATERIAL_OFFSET);
  // Big-endian in, little-endian out: RSA reversed whole, ECDSA r and s each reversed.
  const stored =
    scheme === "rsa-3072"
      ? reversed(signature)
      : Buffer.concat([reversed(signature.subarray(0, 32)), reversed(signature.subarray(32, 64))]);
  stored.copy(block, scheme === "rsa-3072" ? RSA_SIGNATURE_OFFSET : ECDSA_SIGNATURE_OFFSET);
  block.writeUInt32LE(crc32(block.subarray(0, CRC_OFFSET)), CRC_OFFSET);
  return block;
}

/** Parses one block and checks its magic, version, hash type and CRC32. */
export function decodeSignatureBlock(block: Buffer, index: number): SignatureBlock {
  const label = `signature block ${index}`;
  if (block.length !== BLOCK_SIZE) throw new FirmwareCheckError("image length", `truncated image: ${label} has ${block.length} of ${BLOCK_SIZE} bytes`);
  if (block[0] !== BLOCK_MAGIC) throw new FirmwareCheckError("block magic", `${label} starts with 0x${block[0]!.toString(16)}, not 0xe7`);
  const storedCrc = block.readUInt32LE(CRC_OFFSET);
  const computedCrc = crc32(block.subarray(0, CRC_OFFSET));
  if (storedCrc !== computedCrc) {
    throw new FirmwareCheckError("block crc", `${label} stores CRC32 0x${storedCrc.toString(16)} but its bytes give 0x${computedCrc.toString(16)}`);
  }
  const version = block[1];
  let scheme: SigningScheme;
  if (version === VERSION_RSA) scheme = "rsa-3072";
  else if (version === VERSION_ECDSA) {
    if (block[2] !== 0) throw new FirmwareCheckError("block hash type", `${label} uses hash type ${block[2]}; only 0 (SHA-256, P-256) is supported`);
    scheme = "ecdsa-p256";
  } else {
    throw new FirmwareCheckError("block version", `${label} has version 0x${version!.toString(16)}; allowed are 0x02 (RSA-3072) and 0x03 (ECDSA)`);
  }
  const materialLength = scheme === "rsa-3072" ? RSA_MATERIAL_BYTES : ECDSA_MATERIAL_BYTES;
  const keyMaterial = Buffer.from(block.subarray(MATERIAL_OFFSET, MATERIAL_OFFSET + materialLength));
  const signatureOffset = MATERIAL_OFFSET + materialLength;
  const stored = block.subarray(signatureOffset, signatureOffset + SIGNATURE_BYTES[scheme]);
  return {
    index,
    scheme,
    imageDigest: Buffer.from(block.subarray(DIGEST_OFFSET, DIGEST_OFFSET + 32)),
    keyMaterial,
    keyDigest: keyDigestOfMaterial(keyMaterial),
    signature: signatureToBigEndian(scheme, Buffer.from(stored)),
    crc: storedCrc,
  };
}

/** Builds a whole sector: the blocks in order, the rest 0xFF. */
export function encodeSignatureSector(blocks: Buffer[]): Buffer {
  if (blocks.length > MAX_BLOCKS) {
    throw new FirmwareCheckError("block count", `a signature sector holds at most ${MAX_BLOCKS} blocks, ${blocks.length} were given`);
  }
  const sector = Buffer.alloc(SECTOR_SIZE, 0xff);
  blocks.forEach((block, index) => block.copy(sector, index * BLOCK_SIZE));
  return sector;
}

/**
 * The blocks of a sector: slots are read in order while they start with 0xE7
 * (as the bootloader does); each present block must pass its CRC.
 */
export function decodeSignatureSector(sector: Buffer): SignatureBlock[] {
  const blocks: SignatureBlock[] = [];
  for (let index = 0; index < MAX_BLOCKS; index++) {
    const block = sector.subarray(index * BLOCK_SIZE, (index + 1) * BLOCK_SIZE);
    if (block[0] !== BLOCK_MAGIC) break;
    blocks.push(decodeSignatureBlock(block, index));
  }
  return blocks;
}

/** Pads with 0xFF to the next 4096-byte multiple (a copy; no-op length when aligned). */
export function padToSector(bytes: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(bytes.length / SECTOR_SIZE) * SECTOR_SIZE, 0xff);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(padded);
  return padded;
}
