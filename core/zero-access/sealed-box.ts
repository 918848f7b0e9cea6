/**
 * Sealing to the user's device keys: how a host hands the user its ClawChat
 * security file and bootstrap key without the provider being able to read
 * them. Hybrid encryption with WebCrypto only, so the browser opens it:
 *
 *   content   AES-256-GCM under a random 32-byte content key, 12-byte random
 *             IV, additional data = `context` (e.g. "clawchat-keys:<instanceId>")
 *   per device key (recipient)
 *             an ephemeral ECDH P-256 key pair; shared secret with the
 *             recipient's sealing key (256 bits); HKDF-SHA-256 with
 *             salt = the ephemeral public key (SPKI DER) and
 *             info = "clawstack sealed-box v1|<context>|<fingerprint>"
 *             gives the key that wraps the content key (AES-256-GCM)
 *
 * The blob names recipients by fingerprint only; the API stores and serves
 * it and holds no key that opens it.
 */
import { buffer, fromBase64, randomBytes, toBase64, utf8 } from "./encoding.js";
import type { WebCryptoKey } from "./webcrypto-types.js";
import { SEALING_ALGORITHM, type UserPublicKey, importSealingPublicKey, userKeyFingerprint } from "./user-keys.js";

export const SEALED_BOX_ALGORITHM = "ECDH-P256+HKDF-SHA256+A256GCM";
/** Largest plaintext sealed (the ClawChat security file and bootstrap key are a few KiB). */
export const SEALED_BOX_MAX_PLAINTEXT = 64 * 1024;
export const SEALED_BOX_MAX_RECIPIENTS = 16;

export interface SealedRecipient {
  fingerprint: string;
  /** base64 SPKI DER of the ephemeral ECDH public key. */
  ephemeral: string;
  iv: string;
  /** The content key, AES-256-GCM wrapped (32 bytes + 16-byte tag), base64. */
  wrappedKey: string;
}

export interface SealedBox {
  v: 1;
  alg: typeof SEALED_BOX_ALGORITHM;
  context: string;
  recipients: SealedRecipient[];
  iv: string;
  ciphertext: string;
}

export class SealedBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedBoxError";
  }
}

/** Seals `plaintext` to every device key in `recipients`. */
export async function sealTo(recipients: readonly UserPublicKey[], plaintext: Uint8Array, context: string): Promise<SealedBox> {
  if (recipients.length < 1 || recipients.length > SEALED_BOX_MAX_RECIPIENTS) {
    throw new SealedBoxError(`seal to 1 to ${SEALED_BOX_MAX_RECIPIENTS} device keys; got ${recipients.length}`);
  }
  if (plaintext.length > SEALED_BOX_MAX_PLAINTEXT) throw new SealedBoxError(`at most ${SEALED_BOX_MAX_PLAINTEXT} bytes are sealed`);
  const subtle = globalThis.crypto.subtle;
  const contentKeyBytes = randomBytes(32);
  const contentKey = await subtle.importKey("raw", buffer(contentKeyBytes), "AES-GCM", false, ["encrypt"]);
  const iv = randomBytes(12);
  const ciphertext = new Uint8Array(
    await subtle.encrypt({ name: "AES-GCM", iv: buffer(iv), additionalData: buffer(utf8.encode(context)) }, contentKey, buffer(plaintext)),
  );
  const sealed: SealedRecipient[] = [];
  for (const recipient of recipients) {
    const fingerprint = await userKeyFingerprint(recipient);
    const recipientKey = await importSealingPublicKey("recipient.sealing", recipient.sealing);
    const ephemeral = await subtle.generateKey(SEALING_ALGORITHM, true, ["deriveBits"]);
    const ephemeralSpki = new Uint8Array(await subtle.exportKey("spki", ephemeral.publicKey));
    const shared = await subtle.deriveBits({ name: "ECDH", public: recipientKey }, ephemeral.privateKey, 256);
    const wrappingKey = await wrappingKeyFrom(shared, ephemeralSpki, context, fingerprint, "encrypt");
    const wrapIv = randomBytes(12);
    const wrappedKey = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: buffer(wrapIv) }, wrappingKey, buffer(contentKeyBytes)));
    sealed.push({ fingerprint, ephemeral: toBase64(ephemeralSpki), iv: toBase64(wrapIv), wrappedKey: toBase64(wrappedKey) });
  }
  contentKeyBytes.fill(0);
  return { v: 1, alg: SEALED_BOX_ALGORITHM, context, recipients: sealed, iv: toBase64(iv), ciphertext: toBase64(ciphertext) };
}

/**
 * Opens a sealed box with one device key (its sealing private half may be
 * non-extractable). Throws `SealedBoxError` when the box is not for this key,
 * was sealed for another context, or was changed.
 */
export async function openSealed(
  box: SealedBox,
  device: { publicKey: UserPublicKey; sealingKey: WebCryptoKey },
  context: string,
): Promise<Uint8Array> {
  checkSealedBox(box);
  if (box.context !== context) throw new SealedBoxError(`the box was sealed for "${box.context}", not "${context}"`);
  const fingerprint = await userKeyFingerprint(device.publicKey);
  const recipient = box.recipients.find((entry) => entry.fingerprint === fingerprint);
  if (!recipient) throw new SealedBoxError(`the box is not sealed to device key ${fingerprint}`);
  const subtle = globalThis.crypto.subtle;
  try {
    const ephemeralSpki = fromBase64(recipient.ephemeral);
    const ephemeral = await subtle.importKey("spki", buffer(ephemeralSpki), SEALING_ALGORITHM, false, []);
    const shared = await subtle.deriveBits({ name: "ECDH", public: ephemeral }, device.sealingKey, 256);
    const wrappingKey = await wrappingKeyFrom(shared, ephemeralSpki, context, fingerprint, "decrypt");
    const contentKeyBytes = new Uint8Array(
      await subtle.decrypt({ name: "AES-GCM", iv: buffer(fromBase64(recipient.iv)) }, wrappingKey, buffer(fromBase64(recipient.wrappedKey))),
    );
    const contentKey = await subtle.importKey("raw", buffer(contentKeyBytes), "AES-GCM", false, ["decrypt"]);
    contentKeyBytes.fill(0);
    return new Uint8Array(
      await subtle.decrypt(
        { name: "AES-GCM", iv: buffer(fromBase64(box.iv)), additionalData: buffer(utf8.encode(context)) },
        contentKey,
        buffer(fromBase64(box.ciphertext)),
      ),
    );
  } catch {
    throw new SealedBoxError("the box does not open with this device key (changed, or sealed to another key)");
  }
}

/** Structural checks of a box received from the network (sizes bounded before any crypto). */
export function checkSealedBox(box: unknown): asserts box is SealedBox {
  const fail = (field: string, allowed: string): never => {
    throw new SealedBoxError(`\`${field}\` must be ${allowed}`);
  };
  if (typeof box !== "object" || box === null || Array.isArray(box)) fail("box", "an object");
  const value = box as Record<string, unknown>;
  if (value.v !== 1) fail("v", "1");
  if (value.alg !== SEALED_BOX_ALGORITHM) fail("alg", `"${SEALED_BOX_ALGORITHM}"`);
  if (typeof value.context !== "string" || value.context.length < 1 || value.context.length > 200) fail("context", "1 to 200 characters");
  const base64 = (field: string, text: unknown, max: number) => {
    if (typeof text !== "string" || text.length > max || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) fail(field, `base64 of at most ${max} characters`);
  };
  base64("iv", value.iv, 16);
  base64("ciphertext", value.ciphertext, Math.ceil(((SEALED_BOX_MAX_PLAINTEXT + 16) * 4) / 3) + 4);
  if (!Array.isArray(value.recipients) || value.recipients.length < 1 || value.recipients.length > SEALED_BOX_MAX_RECIPIENTS) {
    fail("recipients", `a list of 1 to ${SEALED_BOX_MAX_RECIPIENTS} entries`);
  }
  (value.recipients as unknown[]).forEach((entry, i) => {
    if (typeof entry !== "object" || entry === null) fail(`recipients[${i}]`, "an object");
    const recipient = entry as Record<string, unknown>;
    if (typeof recipient.fingerprint !== "string" || !/^SHA256:[A-Za-z0-9+/]{43}$/.test(recipient.fingerprint)) {
      fail(`recipients[${i}].fingerprint`, "SHA256:<43 base64 characters>");
    }
    base64(`recipients[${i}].ephemeral`, recipient.ephemeral, 200);
    base64(`recipients[${i}].iv`, recipient.iv, 16);
    base64(`recipients[${i}].wrappedKey`, recipient.wrappedKey, 64);
  });
}

async function wrappingKeyFrom(
  shared: ArrayBuffer,
  ephemeralSpki: Uint8Array,
  context: string,
  fingerprint: string,
  usage: "encrypt" | "decrypt",
): Promise<WebCryptoKey> {
  const subtle = globalThis.crypto.subtle;
  const material = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: buffer(ephemeralSpki), info: buffer(utf8.encode(`clawstack sealed-box v1|${context}|${fingerprint}`)) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    [usage],
  );
}
