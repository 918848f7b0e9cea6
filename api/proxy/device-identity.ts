/**
 * The chat proxy's device identity (docs/proxy.md "Device identity"): one
 * Ed25519 key per deployment. OpenClaw grants a remote operator connection
 * (every connection through a host's nginx is remote) its scopes only when it
 * carries a signed device identity whose key the host has approved; the host
 * approves exactly this key's public half (host config `proxyDevice`).
 *
 * What OpenClaw 2026.9.6 checks (`verifyGatewayConnectDeviceProof`,
 * `resolveDeviceSignaturePayloadVersion`, `buildDeviceAuthPayloadV3`):
 *   device.id        = hex SHA-256 of the raw 32-byte public key
 *   device.publicKey = raw 32-byte public key, base64url without padding
 *   device.signature = Ed25519 over the UTF-8 string
 *     "v3|<device id>|<client.id>|<client.mode>|<role>|<scopes joined by ,>|<signedAt>|<auth.token>|<nonce>|<platform>|<deviceFamily>"
 *     (platform and deviceFamily trimmed and lower-cased ASCII, "" when absent), base64url
 *   device.signedAt  = the `connect.challenge` `ts` (within 2 minutes of the gateway's clock)
 *   device.nonce     = the `connect.challenge` `nonce`
 *
 * The private key is generated once into the data dir (mode 600, like the JWT
 * secret) or read from a file the operator gives (every API process of a
 * deployment must use the same key); it lives in a KeyObject held in a private
 * field and is never logged, printed or stored elsewhere.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../../core/errors";

export const PROXY_DEVICE_KEY_FILE_NAME = "proxy-device-key.pem";

/** DER header of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** What the host pins (host config `proxyDevice`): public, safe to log and store. */
export interface ProxyDevicePublic {
  /** 64 hex: SHA-256 of the raw public key (OpenClaw's device id). */
  id: string;
  /** The raw 32-byte Ed25519 public key, base64url without padding (OpenClaw's wire form). */
  publicKey: string;
}

/** The `params.device` block of a gateway `connect`. */
export interface SignedDevice {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

/** The connect fields the signature covers (from the client's `connect` params, as sent on). */
export interface DeviceSignatureInput {
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  /** The shared gateway token put into `params.auth.token`. */
  token: string;
  nonce: string;
  signedAt: number;
  platform?: string | undefined;
  deviceFamily?: string | undefined;
}

/** OpenClaw's `normalizeDeviceMetadataForAuth`: trimmed, ASCII upper case lowered. */
function normalizeMetadata(value: string | undefined): string {
  if (typeof value !== "string") return "";
  return value.trim().replace(/[A-Z]/g, (char) => String.fromCharCode(char.charCodeAt(0) + 32));
}

/** OpenClaw's v3 device-auth payload (`buildDeviceAuthPayloadV3`). */
export function deviceAuthPayloadV3(deviceId: string, input: DeviceSignatureInput): string {
  return [
    "v3",
    deviceId,
    input.clientId,
    input.clientMode,
    input.role,
    input.scopes.join(","),
    String(input.signedAt),
    input.token,
    input.nonce,
    normalizeMetadata(input.platform),
    normalizeMetadata(input.deviceFamily),
  ].join("|");
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: "spki", format: "der" });
  if (der.length !== ED25519_SPKI_PREFIX.length + 32 || !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw new Error("not an Ed25519 public key");
  }
  return der.subarray(ED25519_SPKI_PREFIX.length);
}

/** OpenClaw's device id of a raw public key. */
export function deviceIdOf(raw: Buffer): string {
  return createHash("sha256").update(raw).digest("hex");
}

export class ProxyDeviceIdentity {
  readonly #key: KeyObject;
  readonly id: string;
  readonly publicKey: string;

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") throw new Error("the proxy device key must be an Ed25519 private key");
    const raw = rawPublicKey(createPublicKey(privateKey));
    this.#key = privateKey;
    this.id = deviceIdOf(raw);
    this.publicKey = raw.toString("base64url");
  }

  /** A fresh key (tests; a deployment generates its file once with `loadProxyDevice`). */
  static generate(): ProxyDeviceIdentity {
    return new ProxyDeviceIdentity(generateKeyPairSync("ed25519").privateKey);
  }

  /** The public half, what the host config's `proxyDevice` carries. */
  public(): ProxyDevicePublic {
    return { id: this.id, publicKey: this.publicKey };
  }

  /** The `params.device` block for a connect with these fields. */
  sign(input: DeviceSignatureInput): SignedDevice {
    const signature = sign(null, Buffer.from(deviceAuthPayloadV3(this.id, input), "utf8"), this.#key).toString("base64url");
    return { id: this.id, publicKey: this.publicKey, signature, signedAt: input.signedAt, nonce: input.nonce };
  }

  /** Never the key: what `JSON.stringify`, a logger or `console.log` would show. */
  toJSON(): ProxyDevicePublic {
    return this.public();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ProxyDeviceIdentity(${this.id})`;
  }
}

/**
 * The deployment's proxy device: `keyFile` (a PKCS#8 PEM Ed25519 key the operator provides; every API process
 * of a deployment must use the same one) or `<dataDir>/proxy-device-key.pem`, generated on first start with
 * mode 600. Throws `ConfigError` for a file that is not an Ed25519 private key or is readable by others.
 */
export function loadProxyDevice(options: { dataDir: string; keyFile?: string | undefined }): ProxyDeviceIdentity {
  const given = options.keyFile !== undefined;
  const file = options.keyFile ?? join(options.dataDir, PROXY_DEVICE_KEY_FILE_NAME);
  const variable = given ? "CLAWSTACK_PROXY_DEVICE_KEY_FILE" : "CLAWSTACK_DATA_DIR";
  if (!given && !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" });
    try {
      writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  if (!existsSync(file)) throw new ConfigError(variable, `the proxy device key file \`${file}\` does not exist`);
  if (given) {
    if ((statSync(file).mode & 0o077) !== 0) throw new ConfigError(variable, `the proxy device key file \`${file}\` must not be readable by group or others (chmod 600)`);
  } else {
    chmodSync(file, 0o600);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch {
    throw new ConfigError(variable, `the proxy device key file \`${file}\` must hold a PEM private key (PKCS#8 Ed25519)`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new ConfigError(variable, `the proxy device key file \`${file}\` must hold an Ed25519 private key; it holds ${key.asymmetricKeyType ?? "an unknown"} key`);
  }
  return new ProxyDeviceIdentity(key);
}

let processDevice: ProxyDeviceIdentity | undefined;

/**
 * Sets this process's proxy device (the API's and the worker's startup, from `loadProxyDevice`): every
 * `GatewayBridge` made without an explicit device signs with it, and `up` jobs put its public half in the host
 * config. Undefined: connections carry no device identity (a real host then grants no scopes).
 */
export function useProxyDevice(device: ProxyDeviceIdentity | undefined): void {
  processDevice = device;
}

export function currentProxyDevice(): ProxyDeviceIdentity | undefined {
  return processDevice;
}
