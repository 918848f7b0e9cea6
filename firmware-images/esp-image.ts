/**
 * Parser for the ESP32 application image format (ESP-IDF `esp_image_format.h`,
 * `esp_app_format.h`): a 24-byte `esp_image_header_t`, segments each led by an
 * 8-byte `esp_image_segment_header_t`, a checksum byte at the end of a 16-byte
 * aligned block, an optional appended SHA-256, then (when signed) 0xFF padding
 * to a 4096-byte boundary and the Secure Boot V2 signature sector.
 */
import { createHash } from "node:crypto";
import { FirmwareCheckError } from "./errors";

export const ESP_IMAGE_MAGIC = 0xe9;
export const IMAGE_HEADER_SIZE = 24;
export const SEGMENT_HEADER_SIZE = 8;
/** `ESP_IMAGE_MAX_SEGMENTS` in ESP-IDF. */
export const MAX_SEGMENTS = 16;
export const CHECKSUM_SEED = 0xef;
export const APP_DESC_MAGIC = 0xabcd5432;
/** `esp_app_desc_t` is 256 bytes and starts the first segment's data (image offset 0x20). */
export const APP_DESC_OFFSET = IMAGE_HEADER_SIZE + SEGMENT_HEADER_SIZE;
export const APP_DESC_SIZE = 256;

/** `esp_chip_id_t` values from ESP-IDF `esp_app_format.h`. */
export const CHIP_IDS: Readonly<Record<string, number>> = {
  esp32: 0x0000,
  esp32s2: 0x0002,
  esp32c3: 0x0005,
  esp32s3: 0x0009,
  esp32c2: 0x000c,
  esp32c6: 0x000d,
  esp32h2: 0x0010,
  esp32p4: 0x0012,
  esp32c61: 0x0014,
  esp32c5: 0x0017,
};

export function chipName(chipId: number): string {
  const entry = Object.entries(CHIP_IDS).find(([, id]) => id === chipId);
  return entry ? entry[0] : `unknown(0x${chipId.toString(16).padStart(4, "0")})`;
}

export interface EspImageHeader {
  segmentCount: number;
  spiMode: number;
  spiSpeed: number;
  spiSize: number;
  entryAddress: number;
  wpPin: number;
  chipId: number;
  chip: string;
  minChipRev: number;
  minChipRevFull: number;
  maxChipRevFull: number;
  hashAppended: boolean;
}

export interface EspSegment {
  index: number;
  loadAddress: number;
  /** Offset of the segment's data in the image file. */
  dataOffset: number;
  length: number;
}

/** `esp_app_desc_t`: what the application says about itself. */
export interface EspAppDescriptor {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  appElfSha256: string;
}

export interface EspImage {
  header: EspImageHeader;
  segments: EspSegment[];
  /** The stored checksum byte and its offset. */
  checksum: number;
  checksumOffset: number;
  /** The appended SHA-256 (hex) when `hash_appended` is set. */
  appendedSha256?: string;
  /** Bytes of image proper: header, segments, checksum and appended hash. */
  contentLength: number;
  appDescriptor?: EspAppDescriptor;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString("latin1");
}

function parseAppDescriptor(image: Buffer, firstSegment: EspSegment | undefined): EspAppDescriptor | undefined {
  if (!firstSegment || firstSegment.dataOffset !== APP_DESC_OFFSET || firstSegment.length < APP_DESC_SIZE) {
    return undefined;
  }
  if (image.readUInt32LE(APP_DESC_OFFSET) !== APP_DESC_MAGIC) return undefined;
  const at = (offset: number, size: number): Buffer => image.subarray(APP_DESC_OFFSET + offset, APP_DESC_OFFSET + offset + size);
  return {
    secureVersion: image.readUInt32LE(APP_DESC_OFFSET + 4),
    version: cString(at(16, 32)),
    projectName: cString(at(48, 32)),
    time: cString(at(80, 16)),
    date: cString(at(96, 16)),
    idfVersion: cString(at(112, 32)),
    appElfSha256: at(144, 32).toString("hex"),
  };
}

/**
 * XOR of `length` bytes (a multiple of 4) from `offset`: XORs 32-bit words,
 * then folds the word's four bytes. The same result as a byte loop, about
 * twice as fast on a multi-MiB image (measured by bench/firmware.bench.ts).
 */
function xorBytes(image: Buffer, offset: number, length: number): number {
  const view = new DataView(image.buffer, image.byteOffset + offset, length);
  let word = 0;
  for (let i = 0; i < length; i += 4) word ^= view.getInt32(i, true);
  return (word ^ (word >>> 8) ^ (word >>> 16) ^ (word >>> 24)) & 0xff;
}

/**
 * Parses and checks an ESP32 image: magic, segment table, checksum and (when
 * `hash_appended`) the SHA-256. Throws `FirmwareCheckError` naming the failed
 * check. Bytes after `contentLength` (padding, signature sector) are not read here.
 */
export function parseEspImage(bytes: Uint8Array): EspImage {
  const image = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (image.length === 0 || image[0] !== ESP_IMAGE_MAGIC) {
    const given = image.length === 0 ? "an empty file" : `0x${image[0]!.toString(16).padStart(2, "0")}`;
    throw new FirmwareCheckError("image magic", `not an ESP32 image: byte 0 must be 0xe9, found ${given}`);
  }
  if (image.length < IMAGE_HEADER_SIZE) {
    throw new FirmwareCheckError("image length", `truncated image: the header needs ${IMAGE_HEADER_SIZE} bytes, the file has ${image.length}`);
  }
  const segmentCount = image[1]!;
  if (segmentCount === 0 || segmentCount > MAX_SEGMENTS) {
    throw new FirmwareCheckError("segment count", `not an ESP32 image: segment count must be 1..${MAX_SEGMENTS}, found ${segmentCount}`);
  }
  const chipId = image.readUInt16LE(12);
  const header: EspImageHeader = {
    segmentCount,
    spiMode: image[2]!,
    spiSpeed: image[3]! & 0x0f,
    spiSize: image[3]! >> 4,
    entryAddress: image.readUInt32LE(4),
    wpPin: image[8]!,
    chipId,
    chip: chipName(chipId),
    minChipRev: image[14]!,
    minChipRevFull: image.readUInt16LE(15),
    maxChipRevFull: image.readUInt16LE(17),
    hashAppended: image[23] === 1,
  };

  const segments: EspSegment[] = [];
  let offset = IMAGE_HEADER_SIZE;
  let checksum = CHECKSUM_SEED;
  for (let index = 0; index < segmentCount; index++) {
    if (offset + SEGMENT_HEADER_SIZE > image.length) {
      throw new FirmwareCheckError("image length", `truncated image: segment ${index} header at offset ${offset} runs past the end (${image.length} bytes)`);
    }
    const loadAddress = image.readUInt32LE(offset);
    const length = image.readUInt32LE(offset + 4);
    const dataOffset = offset + SEGMENT_HEADER_SIZE;
    if (length % 4 !== 0) {
      throw new FirmwareCheckError("segment length", `segment ${index} length ${length} is not a multiple of 4`);
    }
    if (dataOffset + length > image.length) {
      throw new FirmwareCheckError("image length", `truncated image: segment ${index} needs ${length} bytes at offset ${dataOffset}, the file has ${image.length}`);
    }
    checksum ^= xorBytes(image, dataOffset, length);
    segments.push({ index, loadAddress, dataOffset, length });
    offset = dataOffset + length;
  }

  // The checksum byte is the last byte of a 16-byte aligned block.
  const checksumOffset = offset + (15 - (offset % 16));
  if (checksumOffset >= image.length) {
    throw new FirmwareCheckError("image length", `truncated image: the checksum byte at offset ${checksumOffset} is missing (${image.length} bytes)`);
  }
  const storedChecksum = image[checksumOffset]!;
  if (storedChecksum !== checksum) {
    throw new FirmwareCheckError("image checksum", `stored 0x${storedChecksum.toString(16)} but the segments give 0x${checksum.toString(16)}`);
  }
  let contentLength = checksumOffset + 1;
  let appendedSha256: string | undefined;
  if (header.hashAppended) {
    if (contentLength + 32 > image.length) {
      throw new FirmwareCheckError("image length", `truncated image: the appended SHA-256 at offset ${contentLength} is missing (${image.length} bytes)`);
    }
    appendedSha256 = image.subarray(contentLength, contentLength + 32).toString("hex");
    const computed = createHash("sha256").update(image.subarray(0, contentLength)).digest("hex");
    if (computed !== appendedSha256) {
      throw new FirmwareCheckError("image hash", `the appended SHA-256 ${appendedSha256} does not match the image (${computed})`);
    }
    contentLength += 32;
  }
  const result: EspImage = { header, segments, checksum: storedChecksum, checksumOffset, contentLength };
  if (appendedSha256) result.appendedSha256 = appendedSha256;
  const appDescriptor = parseAppDescriptor(image, segments[0]);
  if (appDescriptor) result.appDescriptor = appDescriptor;
  return result;
}
