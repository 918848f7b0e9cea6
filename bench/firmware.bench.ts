/**
 * `npm run bench -- firmware`: signing and verifying ESP32 images with a local
 * key (ECDSA P-256 and RSA-3072), 1 MiB and 4 MiB, next to a plain SHA-256 of
 * the same bytes measured in the same run. Signing hashes the padded image once
 * for the block and once inside the signature; verifying parses the image
 * (checksum, appended SHA-256) and hashes it again per block, so the ratio
 * shows what the Secure Boot V2 work costs beyond hashing.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { signImage, verifyImage } from "../firmware-images/signed-image";
import { LocalKeySigner, trustedKeyFrom } from "../firmware-images/signer-backends";
import { buildTestImage } from "../firmware-images/testdata/generate";

const MIB = 1024 * 1024;

/** Median time of `runs` calls after one warm-up, in milliseconds. */
async function median(runs: number, action: () => unknown): Promise<number> {
  await action();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await action();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const mibPerSecond = (bytes: number, ms: number): string => `${((bytes / MIB) / (ms / 1000)).toFixed(1)} MiB/s`;

export default async function firmwareBench(): Promise<void> {
  const keys: Array<[string, KeyObject]> = [
    ["ecdsa-p256", generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey],
    ["rsa-3072", generateKeyPairSync("rsa", { modulusLength: 3072 }).privateKey],
  ];
  const runs = 9;
  console.log(`median of ${runs} runs after a warm-up; baseline: one SHA-256 of the same bytes`);
  console.log("size   scheme      sha256 (baseline)        sign                      verify                    sign/sha  verify/sha");
  for (const size of [1 * MIB, 4 * MIB]) {
    const image = buildTestImage({ size, version: "1.0.0", secureVersion: 1 });
    const shaMs = await median(runs, () => createHash("sha256").update(image).digest());
    for (const [scheme, privateKey] of keys) {
      const signer = LocalKeySigner.fromKeyObject(privateKey, `bench ${scheme}`);
      const trusted = [trustedKeyFrom(createPublicKey(privateKey), "bench.pub.pem")];
      const { signed } = await signImage(image, signer);
      // The signed image must verify, or the figures mean nothing.
      verifyImage(signed, trusted);
      const signMs = await median(runs, () => signImage(image, signer));
      const verifyMs = await median(runs, () => verifyImage(signed, trusted));
      console.log(
        [
          `${size / MIB} MiB`.padEnd(6),
          scheme.padEnd(11),
          `${shaMs.toFixed(2)} ms ${mibPerSecond(image.length, shaMs)}`.padEnd(24),
          `${signMs.toFixed(2)} ms ${mibPerSecond(image.length, signMs)}`.padEnd(25),
          `${verifyMs.toFixed(2)} ms ${mibPerSecond(signed.length, verifyMs)}`.padEnd(25),
          `${(signMs / shaMs).toFixed(1)}x`.padEnd(9),
          `${(verifyMs / shaMs).toFixed(1)}x`,
        ].join(" "),
      );
    }
  }
}
