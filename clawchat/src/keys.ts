/**
 * Every key ClawChat derives, in one place: the handshake key, the session keys
 * of seed 002 §5.3 (with an ephemeral X25519 secret mixed in), the per-direction
 * nonces and the in-band rotation. `docs/clawchat-protocol.md` §4 specifies them
 * and `tests/clawchat/vectors.json` pins them to exact bytes.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from "node:crypto";

export const HANDSHAKE_INFO = "ClawChat v2.0 Handshake";
export const SESSION_INFO = "ClawChat v2.0 Session Keys";

export interface SessionKeys {
  readonly encryptionKey: Buffer;
  readonly macKey: Buffer;
  readonly ivKey: Buffer;
  readonly nextKeySeed: Buffer;
}

/** Which way a packet travels; part of every nonce, so the two directions never share one. */
export const Direction = { clientToServer: 0, serverToClient: 1 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** The key that seals HELLO and WELCOME: HKDF-SHA256(IKM = shared secret, salt = empty, info = "ClawChat v2.0 Handshake"), 32 bytes. */
export function deriveHandshakeKey(sharedSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", sharedSecret, Buffer.alloc(0), HANDSHAKE_INFO, 32));
}

/** `connection_id`: the 8-byte session ID as 16 lowercase hex digits. */
export function connectionIdOf(sessionId: Buffer): string {
  return sessionId.toString("hex");
}

/**
 * Seed 002 §5.3: context = "<connection_id>:<timestamp>", salt = SHA-256(shared_secret ‖ context),
 * HKDF-SHA256 with info "ClawChat v2.0 Session Keys" to 128 bytes. The input keying material is
 * `seed ‖ dh`: for the first epoch the seed is the shared secret, for every later epoch the
 * previous epoch's next-key seed; `dh` is a fresh X25519 secret, so a stolen key of one epoch
 * exposes neither the next epoch nor, once both ephemeral keys are gone, the past ones.
 */
export function deriveSessionKeys(args: {
  sharedSecret: Buffer;
  seed: Buffer;
  dh: Buffer;
  connectionId: string;
  timestampMs: number;
}): SessionKeys {
  const context = Buffer.from(`${args.connectionId}:${args.timestampMs}`, "utf8");
  const salt = createHash("sha256").update(args.sharedSecret).update(context).digest();
  const okm = Buffer.from(hkdfSync("sha256", Buffer.concat([args.seed, args.dh]), salt, SESSION_INFO, 128));
  return {
    encryptionKey: okm.subarray(0, 32),
    macKey: okm.subarray(32, 64),
    ivKey: okm.subarray(64, 96),
    nextKeySeed: okm.subarray(96, 128),
  };
}

/**
 * The GCM nonce of a session packet: the first 12 bytes of the IV key XOR
 * (direction as 4 bytes big-endian ‖ the last 8 bytes of the message ID, i.e. epoch ‖ counter).
 * Unique per key because (direction, epoch, counter) never repeats under one key.
 */
export function sessionNonce(ivKey: Buffer, direction: Direction, messageId: Buffer): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(direction, 0);
  messageId.copy(nonce, 4, 8, 16);
  for (let i = 0; i < 12; i++) nonce[i] = (nonce[i] as number) ^ (ivKey[i] as number);
  return nonce;
}

/** HMAC-SHA256 signature (hex) over the newline-joined fields, for the §8 compromised signal and its ack. */
export function signFields(macKey: Buffer, fields: ReadonlyArray<string>): string {
  return createHmac("sha256", macKey).update(fields.join("\n"), "utf8").digest("hex");
}

const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export interface EphemeralKey {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
}

export function generateEphemeralKey(): EphemeralKey {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: rawPublicKey(publicKey) };
}

/** An ephemeral key from fixed private bytes: only for the published test vectors. */
export function ephemeralKeyFromPrivate(raw: Buffer): EphemeralKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: "der", type: "spki" }).subarray(X25519_SPKI_PREFIX.length);
}

/** X25519(own private, peer public); refuses the all-zero result of a low-order peer key. */
export function x25519(own: EphemeralKey, peerPublic: Buffer): Buffer | undefined {
  if (peerPublic.length !== 32) return undefined;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPublic]), format: "der", type: "spki" });
    const secret = diffieHellman({ privateKey: own.privateKey, publicKey });
    return secret.every((byte) => byte === 0) ? undefined : secret;
  } catch {
    return undefined;
  }
}

/** Overwrites key material in place (best effort in a garbage-collected runtime). */
export function wipe(...buffers: ReadonlyArray<Buffer | undefined>): void {
  for (const buffer of buffers) buffer?.fill(0);
}
