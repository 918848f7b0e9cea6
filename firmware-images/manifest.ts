/**
 * Signed documents in the firmware bucket: release manifests, the channel's
 * current pointer and rollback records share one envelope
 *
 *   { "payload": {...}, "signature": { "scheme", "keyDigest", "publicKey", "value" } }
 *
 * `value` signs the canonical JSON of `payload` (keys sorted, no whitespace,
 * UTF-8) with the same schemes as the image blocks (ECDSA P-256 SHA-256 or
 * RSA-3072 PSS). `publicKey` is the SPKI DER (base64); a reader trusts it only
 * when its Secure Boot key digest is one the channel allows, as the eFuse does.
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import { FirmwareCheckError } from "./errors";
import { verifyRawSignature } from "./signed-image";
import { signerIdentity, type ImageSigner } from "./signer-backends";
import { keyDigest, signingSchemeOf } from "./signing-keys";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex characters");

export const MANIFEST_FORMAT = "clawstack.firmware.release/v1";
export const ROLLBACK_RECORD_FORMAT = "clawstack.firmware.rollback/v1";

export const releaseManifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  channel: z.string(),
  chip: z.string(),
  imageName: z.string(),
  /** Bucket key of the signed image. */
  imageKey: z.string(),
  version: z.string(),
  secureVersion: z.number().int().nonnegative(),
  /** The anti-rollback floor: devices refuse images with a lower `secure_version`. */
  minSecureVersion: z.number().int().nonnegative(),
  sha256: hex64,
  size: z.number().int().positive(),
  /** Key digests of the image's Secure Boot V2 blocks, in block order. */
  imageKeyDigests: z.array(hex64).min(1),
  /** When the version was first published. */
  publishedAt: z.iso.datetime(),
  /** When this document was signed (equals `publishedAt` except for rollback pointers). */
  timestamp: z.iso.datetime(),
  /** Set on the channel pointer when a rollback made it. */
  rollback: z.strictObject({ from: z.string(), reason: z.string(), recordKey: z.string() }).optional(),
});
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>;

export const rollbackRecordSchema = z.strictObject({
  format: z.literal(ROLLBACK_RECORD_FORMAT),
  channel: z.string(),
  actor: z.string(),
  timestamp: z.iso.datetime(),
  from: z.strictObject({ version: z.string(), secureVersion: z.number().int().nonnegative() }),
  to: z.strictObject({ version: z.string(), secureVersion: z.number().int().nonnegative() }),
  minSecureVersion: z.number().int().nonnegative(),
  reason: z.string().min(1),
});
export type RollbackRecord = z.infer<typeof rollbackRecordSchema>;

const envelopeSchema = z.strictObject({
  payload: z.record(z.string(), z.unknown()),
  signature: z.strictObject({
    scheme: z.enum(["ecdsa-p256", "rsa-3072"]),
    keyDigest: hex64,
    publicKey: z.base64(),
    value: z.base64(),
  }),
});
export type SignedDocument = z.infer<typeof envelopeSchema>;

/** Canonical JSON: object keys sorted at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export async function signDocument(payload: ReleaseManifest | RollbackRecord, signer: ImageSigner): Promise<SignedDocument> {
  const identity = await signerIdentity(signer);
  const message = Buffer.from(canonicalJson(payload), "utf8");
  const signature = await signer.sign(createHash("sha256").update(message).digest(), message);
  if (!verifyRawSignature(identity.scheme, identity.publicKey, message, signature)) {
    throw new FirmwareCheckError("signer output", `${signer.description} returned a manifest signature that does not verify with its own public key`);
  }
  return {
    payload: payload as Record<string, unknown>,
    signature: {
      scheme: identity.scheme,
      keyDigest: identity.keyDigest,
      publicKey: identity.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
      value: signature.toString("base64"),
    },
  };
}

/**
 * Checks a signed document: its shape, that its key's digest is allowed and
 * matches the stated one, and the signature over the canonical payload.
 * Throws `FirmwareCheckError("manifest signature", ...)` naming `label`.
 */
export function verifyDocument<T>(raw: unknown, schema: z.ZodType<T>, allowedKeyDigests: readonly string[], label: string): { payload: T; keyDigest: string } {
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) {
    throw new FirmwareCheckError("manifest format", `${label} is not a signed document: ${z.prettifyError(envelope.error)}`);
  }
  const { payload, signature } = envelope.data;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(signature.publicKey, "base64"), format: "der", type: "spki" });
  } catch {
    throw new FirmwareCheckError("manifest signature", `${label} carries a public key that does not parse`);
  }
  const scheme = signingSchemeOf(key, `the key of ${label}`);
  const digest = keyDigest(key, `the key of ${label}`);
  if (digest !== signature.keyDigest || scheme !== signature.scheme) {
    throw new FirmwareCheckError("manifest signature", `${label} states key ${signature.keyDigest} (${signature.scheme}) but carries ${digest} (${scheme})`);
  }
  if (!allowedKeyDigests.includes(digest)) {
    throw new FirmwareCheckError("manifest signature", `${label} is signed by key ${digest}, which the channel does not allow`);
  }
  const message = Buffer.from(canonicalJson(payload), "utf8");
  if (!verifyRawSignature(scheme, key, message, Buffer.from(signature.value, "base64"))) {
    throw new FirmwareCheckError("manifest signature", `${label}: the signature does not verify over the payload`);
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new FirmwareCheckError("manifest format", `${label} has a bad payload: ${z.prettifyError(parsed.error)}`);
  }
  return { payload: parsed.data, keyDigest: digest };
}

export function parseJsonDocument(bytes: Buffer, label: string): unknown {
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch {
    throw new FirmwareCheckError("manifest format", `${label} is not JSON`);
  }
}
