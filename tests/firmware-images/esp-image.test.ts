import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FirmwareCheckError } from "../../firmware-images/errors";
import { APP_DESC_OFFSET, parseEspImage } from "../../firmware-images/esp-image";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { flipBit, vector } from "./helpers";

function checkOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof FirmwareCheckError) return error.check;
    throw error;
  }
  throw new Error("expected a FirmwareCheckError");
}

describe("parseEspImage", () => {
  it("reads the header, segments, checksum, appended hash and app descriptor of a generated image", () => {
    const bytes = buildTestImage({ version: "2.4.1", secureVersion: 7, projectName: "energy-core", chip: "esp32s3", size: 20_000 });
    const image = parseEspImage(bytes);
    expect(image.header).toMatchObject({ segmentCount: 3, chip: "esp32s3", chipId: 9, hashAppended: true, entryAddress: 0x40081000 });
    expect(image.segments[0]).toMatchObject({ loadAddress: 0x3f400020, dataOffset: APP_DESC_OFFSET });
    expect(image.contentLength).toBe(bytes.length);
    expect(image.appendedSha256).toBe(createHash("sha256").update(bytes.subarray(0, bytes.length - 32)).digest("hex"));
    expect(image.appDescriptor).toMatchObject({ version: "2.4.1", secureVersion: 7, projectName: "energy-core", idfVersion: "v5.3.1" });
  });

  it("reads Espressif's reference bootloader (no app descriptor, hash appended)", () => {
    const image = parseEspImage(readFileSync(vector("bootloader_unsigned_v2.bin")));
    expect(image.header).toMatchObject({ segmentCount: 4, chip: "esp32", minChipRev: 3, hashAppended: true });
    expect(image.segments.map((segment) => segment.length)).toEqual([4, 9368, 16424, 4584]);
    expect(image.appDescriptor).toBeUndefined();
    expect(image.contentLength).toBe(30480);
  });

  it("refuses a file that is not an ESP32 image", () => {
    expect(checkOf(() => parseEspImage(Buffer.from("PK\u0003\u0004 a zip file")))).toBe("image magic");
    expect(checkOf(() => parseEspImage(Buffer.alloc(0)))).toBe("image magic");
    const zeroSegments = buildTestImage();
    zeroSegments[1] = 0;
    expect(checkOf(() => parseEspImage(zeroSegments))).toBe("segment count");
  });

  it("refuses a truncated image wherever it is cut", () => {
    const bytes = buildTestImage({ size: 8192 });
    for (const length of [10, 28, 200, bytes.length - 40, bytes.length - 1]) {
      expect(checkOf(() => parseEspImage(bytes.subarray(0, length))), `cut at ${length}`).toBe("image length");
    }
  });

  it("refuses a wrong checksum byte and a wrong appended hash", () => {
    const bytes = buildTestImage({ size: 8192 });
    const segmentByte = Buffer.from(bytes);
    flipBit(segmentByte, APP_DESC_OFFSET + 300);
    expect(checkOf(() => parseEspImage(segmentByte))).toBe("image checksum");
    const hashByte = Buffer.from(bytes);
    flipBit(hashByte, hashByte.length - 1);
    expect(checkOf(() => parseEspImage(hashByte))).toBe("image hash");
  });
});
