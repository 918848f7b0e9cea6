/**
 * Signer backends behind one interface: a local PEM private key (default),
 * AWS KMS (`Sign` with `MessageType: DIGEST`) and GCP Cloud KMS
 * (`AsymmetricSign` with a SHA-256 digest): the image never leaves the
 * machine. The same backends sign images and release manifests.
 */
import { constants, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { GetPublicKeyCommand, SignCommand, type KMSClient, type SigningAlgorithmSpec } from "@aws-sdk/client-kms";
import { FirmwareCheckError, FirmwareUsageError } from "./errors";
import { bigIntFromBytesBE, bigIntToBytesBE, keyDigest, signingSchemeOf, type SigningScheme } from "./signing-keys";

export interface ImageSigner {
  /** Where the key lives, for messages (never key material). */
  readonly description: string;
  /** The public key, checked to be ECDSA P-256 or RSA-3072. */
  publicKey(): Promise<KeyObject>;
  /**
   * Signs `message`, whose SHA-256 is `digest`. Returns the raw big-endian
   * signature: ECDSA r‖s (64 bytes) or RSA-PSS (SHA-256, MGF1-SHA-256, salt 32; 384 bytes).
   */
  sign(digest: Buffer, message: Uint8Array): Promise<Buffer>;
}

export interface SignerIdentity {
  scheme: SigningScheme;
  keyDigest: string;
  publicKey: KeyObject;
}

export async function signerIdentity(signer: ImageSigner): Promise<SignerIdentity> {
  const publicKey = await signer.publicKey();
  return { scheme: signingSchemeOf(publicKey, signer.description), keyDigest: keyDigest(publicKey, signer.description), publicKey };
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new FirmwareUsageError(`cannot read key file \`${path}\`: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Signs with a PEM private key on disk. The key is read once and never printed. */
export class LocalKeySigner implements ImageSigner {
  readonly description: string;
  private readonly scheme: SigningScheme;

  private constructor(
    private readonly privateKey: KeyObject,
    path: string,
  ) {
    this.description = `local key ${path}`;
    this.scheme = signingSchemeOf(privateKey, `\`${path}\``);
  }

  static fromPemFile(path: string): LocalKeySigner {
    const pem = readKeyFile(path);
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new FirmwareUsageError(`\`${path}\` is not a PEM private key (for verification pass public keys with --pubkey)`);
    }
    return new LocalKeySigner(key, path);
  }

  static fromKeyObject(key: KeyObject, label: string): LocalKeySigner {
    return new LocalKeySigner(key, label);
  }

  async publicKey(): Promise<KeyObject> {
    return createPublicKey(this.privateKey);
  }

  async sign(_digest: Buffer, message: Uint8Array): Promise<Buffer> {
    // node:crypto cannot sign a precomputed digest, so it hashes `message` itself; the result is the same signature scheme.
    if (this.scheme === "ecdsa-p256") return sign("sha256", message, { key: this.privateKey, dsaEncoding: "ieee-p1363" });
    return sign("sha256", message, { key: this.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  }
}

/** Converts a DER `ECDSA-Sig-Value` (SEQUENCE { r INTEGER, s INTEGER }) to r‖s, 32 bytes each. */
export function derEcdsaToRaw(der: Uint8Array): Buffer {
  const bytes = Buffer.from(der);
  const fail = (why: string): never => {
    throw new FirmwareCheckError("kms signature", `the DER ECDSA signature is malformed: ${why}`);
  };
  let offset = 0;
  const readLength = (): number => {
    const first = bytes[offset++];
    if (first === undefined) return fail("length runs past the end");
    if (first < 0x80) return first;
    if (first !== 0x81) return fail("unexpected long length");
    const value = bytes[offset++];
    return value === undefined ? fail("length runs past the end") : value;
  };
  if (bytes[offset++] !== 0x30) fail("not a SEQUENCE");
  if (readLength() !== bytes.length - offset) fail("SEQUENCE length does not match");
  const integers: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    if (bytes[offset++] !== 0x02) fail("expected an INTEGER");
    const length = readLength();
    if (length === 0 || offset + length > bytes.length) fail("INTEGER length out of range");
    integers.push(bigIntFromBytesBE(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset !== bytes.length) fail("trailing bytes");
  try {
    return Buffer.concat(integers.map((value) => bigIntToBytesBE(value, 32)));
  } catch {
    return fail("r or s longer than 32 bytes");
  }
}

const KMS_ALGORITHM: Readonly<Record<SigningScheme, SigningAlgorithmSpec>> = {
  "ecdsa-p256": "ECDSA_SHA_256",
  // KMS RSASSA-PSS uses MGF1 with the same hash and a salt as long as the digest (32): what the ROM expects.
  "rsa-3072": "RSASSA_PSS_SHA_256",
};

/** Signs with an AWS KMS asymmetric key (`ECC_NIST_P256` or `RSA_3072`, `SIGN_VERIFY`). */
export class KmsSigner implements ImageSigner {
  readonly description: string;
  private cached?: { key: KeyObject; scheme: SigningScheme };

  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {
    this.description = `AWS KMS key ${keyId}`;
  }

  private async identity(): Promise<{ key: KeyObject; scheme: SigningScheme }> {
    if (this.cached) return this.cached;
    const response = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    if (!response.PublicKey) throw new FirmwareCheckError("kms public key", `${this.description} returned no public key`);
    if (response.KeyUsage && response.KeyUsage !== "SIGN_VERIFY") {
      throw new FirmwareCheckError("key type", `${this.description} has key usage ${response.KeyUsage}; signing needs SIGN_VERIFY`);
    }
    const key = createPublicKey({ key: Buffer.from(response.PublicKey), format: "der", type: "spki" });
    this.cached = { key, scheme: signingSchemeOf(key, this.description) };
    return this.cached;
  }

  async publicKey(): Promise<KeyObject> {
    return (await this.identity()).key;
  }

  async sign(digest: Buffer): Promise<Buffer> {
    const { scheme } = await this.identity();
    const response = await this.client.send(
      new SignCommand({ KeyId: this.keyId, Message: digest, MessageType: "DIGEST", SigningAlgorithm: KMS_ALGORITHM[scheme] }),
    );
    if (!response.Signature) throw new FirmwareCheckError("kms signature", `${this.description} returned no signature`);
    return scheme === "ecdsa-p256" ? derEcdsaToRaw(response.Signature) : Buffer.from(response.Signature);
  }
}

/**
 * What the Cloud KMS signer needs of `@google-cloud/kms`'s
 * `KeyManagementServiceClient` (which satisfies it): tests pass a stand-in.
 */
export interface CloudKmsClient {
  getPublicKey(request: { name: string }): Promise<[{ pem?: string | null; algorithm?: string | number | null }, ...unknown[]]>;
  asymmetricSign(request: { name: string; digest: { sha256: Buffer } }): Promise<[{ signature?: Uint8Array | string | null; name?: string | null }, ...unknown[]]>;
}

/** Cloud KMS key version algorithms the ESP32 ROM can verify, by scheme. */
const CLOUD_KMS_ALGORITHM: Readonly<Record<SigningScheme, string>> = {
  "ecdsa-p256": "EC_SIGN_P256_SHA256",
  // Cloud KMS RSA-PSS uses MGF1-SHA-256 and a 32-byte salt: what the ROM expects.
  "rsa-3072": "RSA_SIGN_PSS_3072_SHA256",
};

/** `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>`: signing names one key version. */
const CLOUD_KMS_VERSION = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/[1-9][0-9]*$/;

/** Signs with a GCP Cloud KMS asymmetric key version (`EC_SIGN_P256_SHA256` or `RSA_SIGN_PSS_3072_SHA256`). */
export class CloudKmsSigner implements ImageSigner {
  readonly description: string;
  private cached?: { key: KeyObject; scheme: SigningScheme };

  constructor(
    private readonly client: CloudKmsClient,
    private readonly versionName: string,
  ) {
    if (!CLOUD_KMS_VERSION.test(versionName)) {
      throw new FirmwareUsageError(
        "`--gcp-kms-key` must name a key version: projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>/cryptoKeyVersions/<n> " +
          `(the firmware stack's \`signingKeyId\` plus \`/cryptoKeyVersions/1\`); given ${JSON.stringify(versionName)}`,
      );
    }
    this.description = `Cloud KMS key ${versionName}`;
  }

  private async identity(): Promise<{ key: KeyObject; scheme: SigningScheme }> {
    if (this.cached) return this.cached;
    const [response] = await this.client.getPublicKey({ name: this.versionName });
    if (!response.pem) throw new FirmwareCheckError("kms public key", `${this.description} returned no public key`);
    const key = createPublicKey(response.pem);
    const scheme = signingSchemeOf(key, this.description);
    if (typeof response.algorithm === "string" && response.algorithm !== CLOUD_KMS_ALGORITHM[scheme]) {
      throw new FirmwareCheckError(
        "key type",
        `${this.description} uses ${response.algorithm}; Secure Boot V2 needs ${CLOUD_KMS_ALGORITHM["ecdsa-p256"]} or ${CLOUD_KMS_ALGORITHM["rsa-3072"]}`,
      );
    }
    this.cached = { key, scheme };
    return this.cached;
  }

  async publicKey(): Promise<KeyObject> {
    return (await this.identity()).key;
  }

  async sign(digest: Buffer): Promise<Buffer> {
    const { scheme } = await this.identity();
    const [response] = await this.client.asymmetricSign({ name: this.versionName, digest: { sha256: digest } });
    if (!response.signature) throw new FirmwareCheckError("kms signature", `${this.description} returned no signature`);
    const signature = typeof response.signature === "string" ? Buffer.from(response.signature, "base64") : Buffer.from(response.signature);
    // Either way the caller verifies the signature against the public key before anything is written.
    return scheme === "ecdsa-p256" ? derEcdsaToRaw(signature) : signature;
  }
}

export interface TrustedKey {
  /** The file name or label shown when this key verifies a block. */
  name: string;
  key: KeyObject;
  scheme: SigningScheme;
  keyDigest: string;
}

/** Loads a public key (or derives it from a private key) for verification and checks its type and size. */
export function loadTrustedKey(path: string): TrustedKey {
  const pem = readKeyFile(path);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new FirmwareUsageError(`\`${path}\` is not a PEM public key`);
  }
  return trustedKeyFrom(key, path);
}

export function trustedKeyFrom(key: KeyObject, name: string): TrustedKey {
  const label = `\`${name}\``;
  return { name, key, scheme: signingSchemeOf(key, label), keyDigest: keyDigest(key, label) };
}
