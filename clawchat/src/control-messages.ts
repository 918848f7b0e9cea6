/**
 * The bodies that run the session rather than carry the conversation (protocol
 * §5, §6.6-§6.8, §9): WELCOME, key rotation, port rotation, and the JSON of the
 * compromised signal and its acknowledgement. Decoders return undefined for
 * anything malformed; a peer drops such a message silently.
 */

export const KeyRotationOp = { offer: 0x01, accept: 0x02, confirm: 0x03, request: 0x04 } as const;

export type KeyRotationMessage =
  | { readonly op: "offer"; readonly epoch: number; readonly publicKey: Buffer; readonly timestampMs: number }
  | { readonly op: "accept"; readonly epoch: number; readonly publicKey: Buffer }
  | { readonly op: "confirm"; readonly epoch: number }
  | { readonly op: "request" };

/**
 * Key rotation: op (u8) then
 *   offer   0x01: new epoch (u16) ‖ X25519 public key (32) ‖ offer time ms (u64)
 *   accept  0x02: new epoch (u16) ‖ X25519 public key (32)
 *   confirm 0x03: new epoch (u16)
 *   request 0x04: nothing (client asks the server to start a rotation)
 */
export function encodeKeyRotation(message: KeyRotationMessage): Buffer {
  switch (message.op) {
    case "offer": {
      const out = Buffer.alloc(43);
      out[0] = KeyRotationOp.offer;
      out.writeUInt16BE(message.epoch, 1);
      message.publicKey.copy(out, 3);
      writeUInt64(out, message.timestampMs, 35);
      return out;
    }
    case "accept": {
      const out = Buffer.alloc(35);
      out[0] = KeyRotationOp.accept;
      out.writeUInt16BE(message.epoch, 1);
      message.publicKey.copy(out, 3);
      return out;
    }
    case "confirm": {
      const out = Buffer.alloc(3);
      out[0] = KeyRotationOp.confirm;
      out.writeUInt16BE(message.epoch, 1);
      return out;
    }
    case "request":
      return Buffer.from([KeyRotationOp.request]);
    default: {
      const unreachable: never = message;
      throw new Error(`unknown key rotation message ${String(unreachable)}`);
    }
  }
}

export function decodeKeyRotation(plaintext: Buffer): KeyRotationMessage | undefined {
  switch (plaintext[0]) {
    case KeyRotationOp.offer:
      return plaintext.length === 43
        ? { op: "offer", epoch: plaintext.readUInt16BE(1), publicKey: plaintext.subarray(3, 35), timestampMs: readUInt64(plaintext, 35) }
        : undefined;
    case KeyRotationOp.accept:
      return plaintext.length === 35 ? { op: "accept", epoch: plaintext.readUInt16BE(1), publicKey: plaintext.subarray(3, 35) } : undefined;
    case KeyRotationOp.confirm:
      return plaintext.length === 3 ? { op: "confirm", epoch: plaintext.readUInt16BE(1) } : undefined;
    case KeyRotationOp.request:
      return plaintext.length === 1 ? { op: "request" } : undefined;
    default:
      return undefined;
  }
}

export type PortRotationMessage =
  | { readonly op: "announce"; readonly rotationId: number; readonly port: number; readonly switchInMs: number; readonly graceMs: number }
  | { readonly op: "ack"; readonly rotationId: number };

/**
 * Port rotation: op (u8) then
 *   announce 0x01: rotation ID (u32) ‖ new port (u16) ‖ switch in ms (u32) ‖ grace ms (u32)
 *   ack      0x02: rotation ID (u32)
 */
export function encodePortRotation(message: PortRotationMessage): Buffer {
  if (message.op === "announce") {
    const out = Buffer.alloc(15);
    out[0] = 0x01;
    out.writeUInt32BE(message.rotationId, 1);
    out.writeUInt16BE(message.port, 5);
    out.writeUInt32BE(message.switchInMs, 7);
    out.writeUInt32BE(message.graceMs, 11);
    return out;
  }
  const out = Buffer.alloc(5);
  out[0] = 0x02;
  out.writeUInt32BE(message.rotationId, 1);
  return out;
}

export function decodePortRotation(plaintext: Buffer): PortRotationMessage | undefined {
  if (plaintext[0] === 0x01 && plaintext.length === 15) {
    const port = plaintext.readUInt16BE(5);
    if (port === 0) return undefined;
    return { op: "announce", rotationId: plaintext.readUInt32BE(1), port, switchInMs: plaintext.readUInt32BE(7), graceMs: plaintext.readUInt32BE(11) };
  }
  if (plaintext[0] === 0x02 && plaintext.length === 5) return { op: "ack", rotationId: plaintext.readUInt32BE(1) };
  return undefined;
}

export function writeUInt64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buffer.writeUInt32BE(value % 0x1_0000_0000, offset + 4);
}

export function readUInt64(buffer: Buffer, offset: number): number {
  return buffer.readUInt32BE(offset) * 0x1_0000_0000 + buffer.readUInt32BE(offset + 4);
}

export const WelcomeStatus = { accepted: 0, serverFull: 1 } as const;

export interface Welcome {
  readonly status: number;
  readonly sessionId: Buffer;
  readonly publicKey: Buffer;
  readonly dataPort: number;
}

/** WELCOME: status (u8) ‖ session ID (8) ‖ server X25519 public key (32) ‖ data port (u16): 43 bytes. */
export function encodeWelcome(welcome: Welcome): Buffer {
  const out = Buffer.alloc(43);
  out[0] = welcome.status;
  welcome.sessionId.copy(out, 1, 0, 8);
  welcome.publicKey.copy(out, 9, 0, 32);
  out.writeUInt16BE(welcome.dataPort, 41);
  return out;
}

export function decodeWelcome(plaintext: Buffer): Welcome | undefined {
  if (plaintext.length !== 43) return undefined;
  return { status: plaintext[0] as number, sessionId: plaintext.subarray(1, 9), publicKey: plaintext.subarray(9, 41), dataPort: plaintext.readUInt16BE(41) };
}

/** §8.3 / §8.4 bodies, carried as UTF-8 JSON in 0x09 and 0x0A. */
export interface CompromisedSignal {
  type: "compromised";
  version: "2.0";
  signal: "CLAWCHAT_COMPROMISED_V2";
  timestamp: number;
  connection_id: string;
  reason: string;
  signature: string;
}

export interface CompromisedAck {
  type: "compromised_ack";
  version: "2.0";
  timestamp: number;
  connection_id: string;
  action: "keys_deleted";
  new_file_ready: boolean;
  signature: string;
}

export function signalSignatureFields(signal: Omit<CompromisedSignal, "signature">): string[] {
  return [signal.signal, signal.connection_id, String(signal.timestamp), signal.reason];
}

export function ackSignatureFields(ack: Omit<CompromisedAck, "signature">): string[] {
  return ["COMPROMISED_ACK", ack.connection_id, String(ack.timestamp), ack.action, String(ack.new_file_ready)];
}

export function parseJsonObject(plaintext: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(plaintext.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
