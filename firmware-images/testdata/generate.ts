/**
 * Builds minimal valid ESP32 application images for tests and benchmarks:
 * a real `esp_image_header_t`, three segments (the first starting with an
 * `esp_app_desc_t`), the XOR checksum and the appended SHA-256. Nothing is
 * downloaded; the same options always give the same bytes.
 *
 *   npx tsx firmware-images/testdata/generate.ts --out app.bin [--version 1.0.0]
 *     [--secure-version 0] [--project clawstack-energy-core] [--chip esp32] [--size 65536]
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { APP_DESC_MAGIC, APP_DESC_SIZE, CHECKSUM_SEED, CHIP_IDS, ESP_IMAGE_MAGIC, IMAGE_HEADER_SIZE, SEGMENT_HEADER_SIZE } from "../esp-image";

export interface TestImageOptions {
  /** Defaults to `1.0.0`. */
  version?: string;
  /** Defaults to 0. */
  secureVersion?: number;
  /** Defaults to `clawstack-energy-core`. */
  projectName?: string;
  /** A key of `CHIP_IDS`; defaults to `esp32`. */
  chip?: string;
  /** Approximate total size in bytes (the code segment grows to fill it); defaults to 64 KiB. */
  size?: number;
  /** Seed of the filler bytes; defaults to 1. */
  seed?: number;
}

function fixedString(value: string, size: number): Buffer {
  const bytes = Buffer.alloc(size, 0);
  Buffer.from(value, "latin1").copy(bytes, 0, 0, size - 1);
  return bytes;
}

/** Deterministic filler (xorshift32) so images are reproducible and not all one byte. */
function filler(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes.writeUInt32LE(state, i);
  }
  return bytes;
}

export function appDescriptor(options: Required<Pick<TestImageOptions, "version" | "secureVersion" | "projectName">>): Buffer {
  const desc = Buffer.alloc(APP_DESC_SIZE, 0);
  desc.writeUInt32LE(APP_DESC_MAGIC, 0);
  desc.writeUInt32LE(options.secureVersion, 4);
  fixedString(options.version, 32).copy(desc, 16);
  fixedString(options.projectName, 32).copy(desc, 48);
  fixedString("09:00:00", 16).copy(desc, 80);
  fixedString("Nov 23 2026", 16).copy(desc, 96);
  fixedString("v5.3.1", 32).copy(desc, 112);
  createHash("sha256").update(`${options.projectName}@${options.version}`).digest().copy(desc, 144);
  return desc;
}

export function buildTestImage(options: TestImageOptions = {}): Buffer {
  const version = options.version ?? "1.0.0";
  const secureVersion = options.secureVersion ?? 0;
  const projectName = options.projectName ?? "clawstack-energy-core";
  const chip = options.chip ?? "esp32";
  const chipId = CHIP_IDS[chip];
  if (chipId === undefined) throw new RangeError(`\`chip\` must be one of ${Object.keys(CHIP_IDS).join(", ")}; given ${chip}`);
  const size = options.size ?? 64 * 1024;
  const seed = options.seed ?? 1;

  const rodata = Buffer.concat([appDescriptor({ version, secureVersion, projectName }), filler(256, seed + 1)]);
  const dram = filler(64, seed + 2);
  const fixed = IMAGE_HEADER_SIZE + 3 * SEGMENT_HEADER_SIZE + rodata.length + dram.length + 16 + 32;
  const codeLength = Math.max(4, Math.floor((size - fixed) / 4) * 4);
  const segments: Array<[number, Buffer]> = [
    [0x3f400020, rodata], // DROM: the app descriptor starts it, at image offset 0x20
    [0x400d0020, filler(codeLength, seed)], // IROM
    [0x3ffb0000, dram], // DRAM
  ];

  const header = Buffer.alloc(IMAGE_HEADER_SIZE, 0);
  header[0] = ESP_IMAGE_MAGIC;
  header[1] = segments.length;
  header[2] = 2; // SPI mode DIO
  header[3] = 0x20; // 4 MB flash, 40 MHz
  header.writeUInt32LE(0x40081000, 4); // entry point
  header[8] = 0xee; // WP pin: not used
  header.writeUInt16LE(chipId, 12);
  header[23] = 1; // hash_appended

  const parts: Buffer[] = [header];
  let checksum = CHECKSUM_SEED;
  for (const [loadAddress, data] of segments) {
    const segmentHeader = Buffer.alloc(SEGMENT_HEADER_SIZE);
    segmentHeader.writeUInt32LE(loadAddress, 0);
    segmentHeader.writeUInt32LE(data.length, 4);
    parts.push(segmentHeader, data);
    for (const byte of data) checksum ^= byte;
  }
  const body = Buffer.concat(parts);
  const trailer = Buffer.alloc(16 - (body.length % 16), 0);
  trailer[trailer.length - 1] = checksum;
  const withChecksum = Buffer.concat([body, trailer]);
  return Buffer.concat([withChecksum, createHash("sha256").update(withChecksum).digest()]);
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a non-negative integer, given ${value}`);
  return parsed;
}

if (require.main === module) {
  const program = new Command("generate")
    .description("write a minimal valid ESP32 app image for tests")
    .requiredOption("--out <file>", "where to write the image")
    .option("--version <version>", "esp_app_desc_t version", "1.0.0")
    .option("--secure-version <n>", "esp_app_desc_t secure_version", integer, 0)
    .option("--project <name>", "esp_app_desc_t project name", "clawstack-energy-core")
    .option("--chip <chip>", "target chip", "esp32")
    .option("--size <bytes>", "approximate image size", integer, 64 * 1024)
    .action((options: { out: string; version: string; secureVersion: number; project: string; chip: string; size: number }) => {
      const image = buildTestImage({ ...options, projectName: options.project });
      writeFileSync(options.out, image);
      console.log(`wrote ${options.out} (${image.length} bytes, version ${options.version}, secure_version ${options.secureVersion})`);
    });
  program.parse();
}
