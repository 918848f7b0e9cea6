/**
 * Secure Boot V2 public key material: the bytes a signature block carries for
 * a key and the key digest burned into eFuse (SHA-256 of that material).
 *
 * - ECDSA P-256: curve id (2) then X and Y, each 32 bytes little-endian (65 bytes).
 * - RSA-3072: n (384, LE), e (4, LE), R = r^2 mod n with r = 2^3072 (384, LE),
 *   M' = -n^-1 mod 2^32 (4, LE): the Montgomery parameters the ROM uses (776 bytes).
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { FirmwareCheckError } from "./errors";

export type SigningScheme = "ecdsa-p256" | "rsa-3072";

export const ECDSA_P256_CURVE_ID = 2;
export const RSA_KEY_BYTES = 384;
export const RSA_MATERIAL_BYTES = RSA_KEY_BYTES * 2 + 8;
export const ECDSA_MATERIAL_BYTES = 65;

export function bigIntFromBytesBE(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

export function bigIntToBytesBE(value: bigint, size: number): Buffer {
  const hex = value.toString(16);
  if (hex.length > size * 2) throw new RangeError(`value does not fit in ${size} bytes`);
  return Buffer.from(hex.padStart(size * 2, "0"), "hex");
}

export function reversed(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes).reverse();
}

/** Modular inverse by the extended Euclidean algorithm (`modulus` > 1, gcd 1). */
function modInverse(value: bigint, modulus: bigint): bigint {
  let [oldR, r] = [((value % modulus) + modulus) % modulus, modulus];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new RangeError("value is not invertible");
  return ((oldS % modulus) + modulus) % modulus;
}

/** The Montgomery parameters of an RSA-3072 modulus as the ESP32 ROM expects them. */
export function rsaMontgomeryParameters(n: bigint): { r2: bigint; mPrime: number } {
  const r2 = (1n << BigInt(RSA_KEY_BYTES * 8 * 2)) % n;
  const word = 1n << 32n;
  const mPrime = Number((word - modInverse(n % word, word)) % word);
  return { r2, mPrime };
}

function jwkBytes(value: string | undefined): Buffer {
  return Buffer.from(value ?? "", "base64url");
}

/**
 * Which Secure Boot V2 scheme a key is for. Refuses anything other than
 * ECDSA P-256 or RSA-3072 (with a message naming what was given).
 */
export function signingSchemeOf(key: KeyObject, label: string): SigningScheme {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec" && details.namedCurve === "prime256v1") return "ecdsa-p256";
  if (type === "rsa" && details.modulusLength === RSA_KEY_BYTES * 8) return "rsa-3072";
  const given =
    type === "ec"
      ? `an EC key on curve ${details.namedCurve ?? "unknown"}`
      : type === "rsa"
        ? `an RSA-${details.modulusLength ?? "?"} key`
        : `a ${type ?? "symmetric"} key`;
  throw new FirmwareCheckError("key type", `${label} is ${given}; Secure Boot V2 signing needs ECDSA P-256 or RSA-3072`);
}

/** The key material a signature block carries for `key` (see the file comment). */
export function publicKeyMaterial(key: KeyObject, label: string): { scheme: SigningScheme; material: Buffer } {
  const scheme = signingSchemeOf(key, label);
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: "jwk" });
  if (scheme === "ecdsa-p256") {
    const x = jwkBytes(jwk.x);
    const y = jwkBytes(jwk.y);
    return { scheme, material: Buffer.concat([Buffer.from([ECDSA_P256_CURVE_ID]), reversed(x), reversed(y)]) };
  }
  const n = bigIntFromBytesBE(jwkBytes(jwk.n));
  const e = bigIntFromBytesBE(jwkBytes(jwk.e));
  const { r2, mPrime } = rsaMontgomeryParameters(n);
  const mPrimeBytes = Buffer.alloc(4);
  mPrimeBytes.writeUInt32LE(mPrime);
  return {
    scheme,
    material: Buffer.concat([
      reversed(bigIntToBytesBE(n, RSA_KEY_BYTES)),
      reversed(bigIntToBytesBE(e, 4)),
      reversed(bigIntToBytesBE(r2, RSA_KEY_BYTES)),
      mPrimeBytes,
    ]),
  };
}

/** The eFuse key digest: SHA-256 of the block's key material, hex. */
export function keyDigestOfMaterial(material: Uint8Array): string {
  return createHash("sha256").update(material).digest("hex");
}

export function keyDigest(key: KeyObject, label: string): string {
  return keyDigestOfMaterial(publicKeyMaterial(key, label).material);
}

/**
 * Rebuilds the public key a block carries. For RSA it also checks that R and
 * M' belong to n: the ROM trusts them, so a block with wrong ones never verifies on a device.
 */
export function publicKeyFromMaterial(scheme: SigningScheme, material: Uint8Array, label: string): KeyObject {
  if (scheme === "ecdsa-p256") {
    if (material[0] !== ECDSA_P256_CURVE_ID) {
      throw new FirmwareCheckError("ecdsa curve", `${label} has curve id ${material[0]}; only 2 (P-256) is supported`);
    }
    const x = reversed(material.subarray(1, 33)).toString("base64url");
    const y = reversed(material.subarray(33, 65)).toString("base64url");
    try {
      return createPublicKey({ key: { kty: "EC", crv: "P-256", x, y }, format: "jwk" });
    } catch {
      throw new FirmwareCheckError("public key", `${label} holds a point that is not on P-256`);
    }
  }
  const n = bigIntFromBytesBE(reversed(material.subarray(0, RSA_KEY_BYTES)));
  const e = bigIntFromBytesBE(reversed(material.subarray(RSA_KEY_BYTES, RSA_KEY_BYTES + 4)));
  const r2 = bigIntFromBytesBE(reversed(material.subarray(RSA_KEY_BYTES + 4, RSA_KEY_BYTES * 2 + 4)));
  const mPrime = Buffer.from(material).readUInt32LE(RSA_KEY_BYTES * 2 + 4);
  if (n >> BigInt(RSA_KEY_BYTES * 8 - 1) !== 1n || n % 2n === 0n) {
    throw new FirmwareCheckError("public key", `${label} holds an RSA modulus that is not an odd 3072-bit number`);
  }
  const expected = rsaMontgomeryParameters(n);
  if (expected.r2 !== r2 || expected.mPrime !== mPrime) {
    throw new FirmwareCheckError("rsa parameters", `${label} holds R or M' that do not belong to its modulus`);
  }
  return createPublicKey({
    key: {
      kty: "RSA",
      n: bigIntToBytesBE(n, RSA_KEY_BYTES).toString("base64url"),
      e: Buffer.from(e.toString(16).padStart(e.toString(16).length + (e.toString(16).length % 2), "0"), "hex").toString("base64url"),
    },
    format: "jwk",
  });
}
