/**
 * Support SSH public keys (`ssh-ed25519 AAAA...`, `ecdsa-sha2-nistp256 AAAA...`):
 * parsing a key line and its OpenSSH fingerprint, `SHA256:` + unpadded base64
 * of the SHA-256 of the key blob, the same text `ssh-keygen -lf` prints and
 * sshd logs. Pure: the API, the CLI and tests call it.
 */
import { createHash } from "node:crypto";

export const SUPPORT_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256"] as const;

export class SshKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SshKeyError";
  }
}

export interface ParsedSshKey {
  /** `<type> <base64>`, the comment dropped (what a grant statement carries). */
  line: string;
  fingerprint: string;
}

/** Parses one OpenSSH public key line; the blob's own type must match the line's (ed25519: 32-byte key; nistp256: 65-byte point). */
export function parseSupportKey(text: string): ParsedSshKey {
  const parts = text.trim().split(/\s+/);
  const [type, data] = parts;
  if (!type || !data || !(SUPPORT_KEY_TYPES as readonly string[]).includes(type)) {
    throw new SshKeyError(`must be an OpenSSH public key line of type ${SUPPORT_KEY_TYPES.join(" or ")}`);
  }
  if (!/^[A-Za-z0-9+/]{40,200}={0,2}$/.test(data)) throw new SshKeyError("the key data must be 40 to 200 characters of base64");
  const blob = Buffer.from(data, "base64");
  const fields = readSshStrings(blob);
  const expectedFields = type === "ssh-ed25519" ? 2 : 3;
  if (!fields || fields.length !== expectedFields || fields[0]!.toString("latin1") !== type) {
    throw new SshKeyError(`the key data is not an ${type} public key`);
  }
  if (type === "ssh-ed25519" && fields[1]!.length !== 32) throw new SshKeyError("an ssh-ed25519 key is 32 bytes");
  if (type === "ecdsa-sha2-nistp256" && (fields[1]!.toString("latin1") !== "nistp256" || fields[2]!.length !== 65 || fields[2]![0] !== 4)) {
    throw new SshKeyError("an ecdsa-sha2-nistp256 key is an uncompressed P-256 point");
  }
  return { line: `${type} ${data}`, fingerprint: sshFingerprint(blob) };
}

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The OpenSSH fingerprint of a key line already known to be well formed (a grant's `supportKeys`). */
export function fingerprintOfKeyLine(line: string): string {
  return parseSupportKey(line).fingerprint;
}

/** SSH wire strings (uint32 length + bytes) until the end; null when they do not fill the buffer exactly. */
function readSshStrings(blob: Buffer): Buffer[] | null {
  const fields: Buffer[] = [];
  let offset = 0;
  while (offset < blob.length) {
    if (offset + 4 > blob.length || fields.length > 4) return null;
    const length = blob.readUInt32BE(offset);
    offset += 4;
    if (offset + length > blob.length) return null;
    fields.push(blob.subarray(offset, offset + length));
    offset += length;
  }
  return fields;
}
