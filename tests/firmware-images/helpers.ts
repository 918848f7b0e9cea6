/** Shared fixtures for the firmware tests: keys, temp dirs, an in-memory S3 behind aws-sdk-client-mock. */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type GetObjectCommandOutput, type PutObjectCommandInput } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { stringify } from "yaml";

export const VECTORS = join(__dirname, "vectors");
export const vector = (name: string): string => join(VECTORS, name);

export function tempDir(prefix = "clawstack-fw-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function ecdsaKey(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
}

export function rsaKey(bits = 3072): KeyObject {
  return generateKeyPairSync("rsa", { modulusLength: bits }).privateKey;
}

export function writePrivatePem(dir: string, name: string, key: KeyObject): string {
  const path = join(dir, name);
  writeFileSync(path, key.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  return path;
}

export function writePublicPem(dir: string, name: string, key: KeyObject): string {
  const path = join(dir, name);
  writeFileSync(path, key.export({ format: "pem", type: "spki" }));
  return path;
}

export function writeChannel(dir: string, channel: string, digests: string[], chip = "esp32"): void {
  writeFileSync(join(dir, `${channel}.yaml`), stringify({ channel, chip, signingKeyDigests: digests }));
}

/**
 * An S3 bucket in memory: GetObject, PutObject (honouring `IfNoneMatch: "*"`
 * with a 412 like S3) and ListObjectsV2. `puts` records every put's input.
 */
export function memoryS3(): { client: S3Client; objects: Map<string, Buffer>; puts: PutObjectCommandInput[]; restore: () => void } {
  const objects = new Map<string, Buffer>();
  const puts: PutObjectCommandInput[] = [];
  const mock = mockClient(S3Client);
  mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    puts.push(input);
    const id = `${input.Bucket}/${input.Key}`;
    if (input.IfNoneMatch === "*" && objects.has(id)) {
      throw Object.assign(new Error("At least one of the pre-conditions you specified did not hold"), { name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    }
    objects.set(id, Buffer.from(input.Body as Uint8Array));
    return { ETag: '"etag"' };
  });
  mock.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (!body) throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
    // The SDK's Body is a stream with mixins; the bucket code only calls transformToByteArray.
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } as unknown as GetObjectCommandOutput["Body"] };
  });
  mock.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix?: string }) => {
    const prefix = `${input.Bucket}/${input.Prefix ?? ""}`;
    const keys = [...objects.keys()].filter((id) => id.startsWith(prefix)).map((id) => id.slice(input.Bucket.length + 1));
    return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
  });
  return { client: new S3Client({ region: "eu-west-1" }), objects, puts, restore: () => mock.restore() };
}

/** Flips the lowest bit of one byte in place. */
export function flipBit(bytes: Buffer, offset: number): Buffer {
  bytes.writeUInt8(bytes.readUInt8(offset) ^ 0x01, offset);
  return bytes;
}
