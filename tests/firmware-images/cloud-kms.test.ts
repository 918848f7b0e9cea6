/**
 * The GCP Cloud KMS signer: `AsymmetricSign` with the SHA-256 digest of the
 * padded image (never the image), DER ECDSA converted to r‖s, RSA-PSS as is;
 * the key's algorithm and the returned signature are checked before anything
 * is written. The client is a stand-in with `KeyManagementServiceClient`'s two
 * methods, signing with a local key for digests the test registered (node:crypto
 * cannot sign a bare digest, so the stand-in must know the message). Also the
 * CLI: `pubkey`, `sign` then `verify` with `--gcp-kms-key`. Publishing goes
 * through the same `ImageSigner` interface the release tests cover.
 */
import { constants, createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../firmware-images/cli";
import { FirmwareCheckError, FirmwareUsageError } from "../../firmware-images/errors";
import { padToSector } from "../../firmware-images/secure-boot-v2";
import { signImage, verifyImage } from "../../firmware-images/signed-image";
import { CloudKmsSigner, type CloudKmsClient, trustedKeyFrom } from "../../firmware-images/signer-backends";
import { keyDigest } from "../../firmware-images/signing-keys";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { ecdsaKey, rsaKey, tempDir, writePublicPem } from "./helpers";

const VERSION = "projects/claw-firmware/locations/europe-west1/keyRings/firmware/cryptoKeys/signing/cryptoKeyVersions/1";

interface StandIn extends CloudKmsClient {
  signed: Array<{ name: string; digest: string }>;
  /** Registers a message so the stand-in can sign its digest (a real KMS never sees the message). */
  allow(message: Uint8Array): void;
}

function standIn(key: KeyObject, algorithm: string, options: { signWith?: KeyObject; encoding?: "bytes" | "base64" } = {}): StandIn {
  const messages = new Map<string, Uint8Array>();
  const signed: Array<{ name: string; digest: string }> = [];
  const signer = options.signWith ?? key;
  return {
    signed,
    allow: (message) => messages.set(createHash("sha256").update(message).digest("hex"), message),
    async getPublicKey({ name }) {
      return [{ pem: createPublicKey(key).export({ format: "pem", type: "spki" }).toString(), algorithm, name }];
    },
    async asymmetricSign({ name, digest }) {
      const hex = digest.sha256.toString("hex");
      signed.push({ name, digest: hex });
      const message = messages.get(hex);
      if (!message) throw new Error("the stand-in was asked to sign a digest no test registered");
      const signature = algorithm.startsWith("EC_")
        ? sign("sha256", message, { key: signer, dsaEncoding: "der" })
        : sign("sha256", message, { key: signer, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      return [{ signature: options.encoding === "base64" ? signature.toString("base64") : new Uint8Array(signature), name }];
    },
  };
}

describe.each([
  { algorithm: "EC_SIGN_P256_SHA256", makeKey: () => ecdsaKey(), encoding: "bytes" as const },
  { algorithm: "RSA_SIGN_PSS_3072_SHA256", makeKey: () => rsaKey(), encoding: "base64" as const },
])("Cloud KMS $algorithm", ({ algorithm, makeKey, encoding }) => {
  it("signs the digest of the padded image and the block verifies with the Cloud KMS public key", async () => {
    const key = makeKey();
    const image = buildTestImage({ size: 12_000 });
    const padded = padToSector(image);
    const kms = standIn(key, algorithm, { encoding });
    kms.allow(padded);
    const { signed } = await signImage(image, new CloudKmsSigner(kms, VERSION));
    expect(kms.signed).toEqual([{ name: VERSION, digest: createHash("sha256").update(padded).digest("hex") }]);
    const report = verifyImage(signed, [trustedKeyFrom(createPublicKey(key), "cloud-kms.pem")]);
    expect(report.trustedBlocks).toHaveLength(1);
  });
});

describe("Cloud KMS refusals", () => {
  it("refuses a name that is not a key version", () => {
    for (const name of ["projects/p/locations/l/keyRings/r/cryptoKeys/k", "alias/firmware", `${VERSION}/extra`, VERSION.replace("/1", "/0")]) {
      expect(() => new CloudKmsSigner(standIn(ecdsaKey(), "EC_SIGN_P256_SHA256"), name)).toThrow(FirmwareUsageError);
    }
  });

  it("refuses a key whose algorithm the ROM cannot verify (PKCS#1 v1.5, or a P-384 key)", async () => {
    const pkcs1 = await signImage(buildTestImage(), new CloudKmsSigner(standIn(rsaKey(), "RSA_SIGN_PKCS1_3072_SHA256"), VERSION)).catch((caught: unknown) => caught);
    expect((pkcs1 as FirmwareCheckError).check).toBe("key type");
    expect((pkcs1 as Error).message).toContain("RSA_SIGN_PKCS1_3072_SHA256");
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    const curve = await signImage(buildTestImage(), new CloudKmsSigner(standIn(p384, "EC_SIGN_P384_SHA384"), VERSION)).catch((caught: unknown) => caught);
    expect(curve).toBeInstanceOf(Error);
    expect((curve as Error).message).toMatch(/P-256|prime256v1|ECDSA/i);
  });

  it("refuses a signature made by another key than the one GetPublicKey reported", async () => {
    const image = buildTestImage();
    const kms = standIn(ecdsaKey(), "EC_SIGN_P256_SHA256", { signWith: ecdsaKey() });
    kms.allow(padToSector(image));
    const error = await signImage(image, new CloudKmsSigner(kms, VERSION)).catch((caught: unknown) => caught);
    expect((error as FirmwareCheckError).check).toBe("signer output");
  });
});

describe("firmware CLI with --gcp-kms-key", () => {
  it("prints the key digest, signs an image that verifies with the Cloud KMS public key; refuses two signers at once", async () => {
    const dir = tempDir();
    const key = ecdsaKey();
    const kms = standIn(key, "EC_SIGN_P256_SHA256");
    const lines: string[] = [];
    const errors: string[] = [];
    let minute = 0;
    const cli = (...argv: string[]) =>
      main(argv, { cloudKmsClient: kms, stdout: (line) => lines.push(line), stderr: (line) => errors.push(line), now: () => new Date(Date.UTC(2026, 10, 23, 10, minute++)) });

    expect(await cli("pubkey", "--gcp-kms-key", VERSION)).toBe(0);
    const digest = keyDigest(createPublicKey(key), "test");
    expect(lines.join("\n")).toContain(digest);

    const imagePath = join(dir, "app.bin");
    const image = buildTestImage({ size: 9_000 });
    writeFileSync(imagePath, image);
    kms.allow(padToSector(image));
    const signedPath = join(dir, "app.signed.bin");
    expect(await cli("sign", imagePath, "--gcp-kms-key", VERSION, "-o", signedPath), errors.join("\n")).toBe(0);
    expect(kms.signed.every((call) => call.name === VERSION)).toBe(true);

    const verified = await cli("verify", signedPath, "--pubkey", writePublicPem(dir, "kms.pub.pem", createPublicKey(key)));
    expect(verified, errors.join("\n")).toBe(0);
    expect(readFileSync(signedPath).length % 4096).toBe(0);

    errors.length = 0;
    expect(await cli("sign", imagePath, "--key", join(dir, "k.pem"), "--gcp-kms-key", VERSION, "-o", join(dir, "x.bin"))).toBe(2);
    expect(errors.join("\n")).toMatch(/give one signer, not `--key` and `--gcp-kms-key`/);
  });
});
