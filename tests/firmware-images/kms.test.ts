/**
 * The AWS KMS signer against aws-sdk-client-mock. The mock stands in for KMS
 * with a local key: it receives only the digest (as KMS does with
 * `MessageType: DIGEST`) and signs the message registered under that digest,
 * returning DER for ECDSA, so the block verifies for real.
 */
import { constants, createHash, createPublicKey, sign, type KeyObject } from "node:crypto";
import { GetPublicKeyCommand, KMSClient, SignCommand, type SignCommandInput } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { FirmwareCheckError } from "../../firmware-images/errors";
import { padToSector } from "../../firmware-images/secure-boot-v2";
import { signImage, verifyImage } from "../../firmware-images/signed-image";
import { KmsSigner, derEcdsaToRaw, trustedKeyFrom } from "../../firmware-images/signer-backends";
import { buildTestImage } from "../../firmware-images/testdata/generate";
import { ecdsaKey, rsaKey } from "./helpers";

const kms = mockClient(KMSClient);
afterEach(() => kms.reset());

function fakeKms(key: KeyObject, keySpec: "ECC_NIST_P256" | "RSA_3072" | "RSA_2048", messages: Map<string, Buffer>): SignCommandInput[] {
  const calls: SignCommandInput[] = [];
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: "arn:aws:kms:eu-west-1:111122223333:key/test",
    KeySpec: keySpec,
    KeyUsage: "SIGN_VERIFY",
    PublicKey: new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" })),
  });
  kms.on(SignCommand).callsFake((input: SignCommandInput) => {
    calls.push(input);
    const message = messages.get(Buffer.from(input.Message!).toString("hex"));
    if (!message) throw new Error("the mock was asked to sign a digest no test registered");
    const signature =
      input.SigningAlgorithm === "ECDSA_SHA_256"
        ? sign("sha256", message, { key, dsaEncoding: "der" })
        : sign("sha256", message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    return { Signature: new Uint8Array(signature), SigningAlgorithm: input.SigningAlgorithm, KeyId: input.KeyId };
  });
  return calls;
}

describe.each([
  { keySpec: "ECC_NIST_P256", algorithm: "ECDSA_SHA_256", makeKey: () => ecdsaKey() },
  { keySpec: "RSA_3072", algorithm: "RSASSA_PSS_SHA_256", makeKey: () => rsaKey() },
] as const)("KMS $keySpec", ({ keySpec, algorithm, makeKey }) => {
  it("signs the digest with MessageType DIGEST and the block verifies with the KMS public key", async () => {
    const key = makeKey();
    const image = buildTestImage({ size: 12_000 });
    const padded = padToSector(image);
    const digest = createHash("sha256").update(padded).digest();
    const calls = fakeKms(key, keySpec, new Map([[digest.toString("hex"), padded]]));
    const signer = new KmsSigner(new KMSClient({ region: "eu-west-1" }), "alias/firmware-signing");
    const { signed } = await signImage(image, signer);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ KeyId: "alias/firmware-signing", MessageType: "DIGEST", SigningAlgorithm: algorithm });
    expect(Buffer.from(calls[0]!.Message!).equals(digest)).toBe(true);
    const report = verifyImage(signed, [trustedKeyFrom(createPublicKey(key), "kms.pem")]);
    expect(report.trustedBlocks).toHaveLength(1);
  });
});

describe("KMS refusals", () => {
  it("refuses a KMS key of the wrong type or size", async () => {
    fakeKms(rsaKey(2048), "RSA_2048", new Map());
    const signer = new KmsSigner(new KMSClient({ region: "eu-west-1" }), "alias/too-small");
    const error = await signImage(buildTestImage(), signer).catch((caught: unknown) => caught);
    expect((error as FirmwareCheckError).check).toBe("key type");
  });

  it("refuses a signature made by a different key than GetPublicKey reported", async () => {
    const image = buildTestImage();
    const padded = padToSector(image);
    const other = ecdsaKey();
    const messages = new Map([[createHash("sha256").update(padded).digest("hex"), padded]]);
    fakeKms(ecdsaKey(), "ECC_NIST_P256", messages);
    kms.on(SignCommand).callsFake(() => ({ Signature: new Uint8Array(sign("sha256", padded, { key: other, dsaEncoding: "der" })) }));
    const error = await signImage(image, new KmsSigner(new KMSClient({ region: "eu-west-1" }), "k")).catch((caught: unknown) => caught);
    expect((error as FirmwareCheckError).check).toBe("signer output");
  });
});

describe("derEcdsaToRaw", () => {
  it("converts DER to fixed-width r‖s, including short and sign-padded integers", () => {
    const der = Buffer.from([0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x01, 0x02]);
    const raw = derEcdsaToRaw(der);
    expect(raw.length).toBe(64);
    expect(raw.readUInt8(31)).toBe(0x80);
    expect(raw.subarray(62).equals(Buffer.from([0x01, 0x02]))).toBe(true);
  });

  it.each([
    ["not a SEQUENCE", [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["a wrong SEQUENCE length", [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["trailing bytes", [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    ["an oversized integer", [0x30, 0x25, 0x02, 0x21, ...Array<number>(33).fill(0x7f), 0x02, 0x00]],
  ])("refuses %s", (_what, bytes) => {
    expect(() => derEcdsaToRaw(Buffer.from(bytes))).toThrow(FirmwareCheckError);
  });
});
