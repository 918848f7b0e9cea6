/**
 * The ClawChat test vectors of `docs/clawchat-protocol.md` §12: fixed inputs
 * run through the library to exact bytes. `vectors.test.ts` checks that the
 * published `docs/clawchat-vectors.json` equals this computation and also
 * recomputes every value a second way, from the document's own description
 * with bare `node:crypto` primitives. Regenerate (only when the protocol
 * changes on purpose): `npx tsx tests/clawchat/write-vectors.ts`.
 */
import { EpochKeys, sealHandshake } from "../../clawchat/src/channel";
import {
  connectionIdOf,
  deriveHandshakeKey,
  deriveSessionKeys,
  Direction,
  ephemeralKeyFromPrivate,
  sessionNonce,
  signFields,
  x25519,
  type SessionKeys,
} from "../../clawchat/src/keys";
import { ackSignatureFields, encodeKeyRotation, encodePortRotation, encodeWelcome, signalSignatureFields, WelcomeStatus, type CompromisedAck, type CompromisedSignal } from "../../clawchat/src/control-messages";
import { encodeChatPart, encodePong } from "../../clawchat/src/messages";
import { buildContent, encryptSecurityFile } from "../../clawchat/src/security-file";
import { AckKind, encodeAck } from "../../clawchat/src/transfer";
import { MessageType } from "../../clawchat/src/wire";

/** Bytes start, start+1, ... (mod 256): readable fixed inputs. */
export function counting(start: number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (start + i) & 0xff));
}

export const INPUTS = {
  sharedSecret: counting(0x00, 32),
  bootstrapKey: counting(0x20, 32),
  clientEphemeralPrivate: counting(0x40, 32),
  serverEphemeralPrivate: counting(0x60, 32),
  clientRotationPrivate: counting(0x80, 32),
  serverRotationPrivate: counting(0xa0, 32),
  helloMessageId: counting(0xc0, 16),
  helloNonce: counting(0xd0, 12),
  welcomeNonce: counting(0xe0, 12),
  sessionId: Buffer.from("1122334455667788", "hex"),
  helloTimestampMs: 1_771_761_600_000,
  dataPort: 54_321,
  pingId: counting(0xf0, 8),
  chatId: Buffer.from("0102030405060708", "hex"),
  chatText: "hello, claw",
  fileSalt: counting(0x10, 32),
  fileIv: counting(0x30, 12),
  fileIterations: 100_000,
} as const;

function hex(buffer: Buffer): string {
  return buffer.toString("hex");
}

function keysHex(keys: SessionKeys): Record<string, string> {
  return { encryption_key: hex(keys.encryptionKey), mac_key: hex(keys.macKey), iv_key: hex(keys.ivKey), next_key_seed: hex(keys.nextKeySeed) };
}

export async function computeVectors(): Promise<Record<string, unknown>> {
  const t0 = INPUTS.helloTimestampMs;
  const handshakeKey = deriveHandshakeKey(INPUTS.sharedSecret);
  const clientEphemeral = ephemeralKeyFromPrivate(INPUTS.clientEphemeralPrivate);
  const serverEphemeral = ephemeralKeyFromPrivate(INPUTS.serverEphemeralPrivate);
  const hello = sealHandshake(handshakeKey, INPUTS.helloMessageId, t0, MessageType.hello, clientEphemeral.publicKey, INPUTS.helloNonce);
  const welcomeBody = encodeWelcome({ status: WelcomeStatus.accepted, sessionId: INPUTS.sessionId, publicKey: serverEphemeral.publicKey, dataPort: INPUTS.dataPort });
  const welcome = sealHandshake(handshakeKey, INPUTS.helloMessageId, t0 + 3, MessageType.welcome, welcomeBody, INPUTS.welcomeNonce);
  const dh0 = x25519(clientEphemeral, serverEphemeral.publicKey) as Buffer;
  const connectionId = connectionIdOf(INPUTS.sessionId);
  const epoch0 = deriveSessionKeys({ sharedSecret: INPUTS.sharedSecret, seed: INPUTS.sharedSecret, dh: dh0, connectionId, timestampMs: t0 });

  const client0 = new EpochKeys(0, epoch0, Direction.clientToServer);
  const server0 = new EpochKeys(0, epoch0, Direction.serverToClient);
  const ping = client0.seal(INPUTS.sessionId, t0 + 10, MessageType.ping, INPUTS.pingId);
  const pong = server0.seal(INPUTS.sessionId, t0 + 11, MessageType.pong, encodePong(INPUTS.pingId, INPUTS.dataPort));
  const chatBody = encodeChatPart({ id: INPUTS.chatId, index: 0, count: 1, data: Buffer.from(INPUTS.chatText, "utf8") });
  const chat = client0.seal(INPUTS.sessionId, t0 + 20, MessageType.chat, chatBody);
  const announce = encodePortRotation({ op: "announce", rotationId: 1, port: 60_000, switchInMs: 120_000, graceMs: 300_000 });
  const announcePacket = server0.seal(INPUTS.sessionId, t0 + 30, MessageType.portRotation, announce);

  const offerTimestampMs = t0 + 3_480_000;
  const serverRotation = ephemeralKeyFromPrivate(INPUTS.serverRotationPrivate);
  const clientRotation = ephemeralKeyFromPrivate(INPUTS.clientRotationPrivate);
  const offer = encodeKeyRotation({ op: "offer", epoch: 1, publicKey: serverRotation.publicKey, timestampMs: offerTimestampMs });
  const offerPacket = server0.seal(INPUTS.sessionId, offerTimestampMs, MessageType.keyRotation, offer);
  const accept = encodeKeyRotation({ op: "accept", epoch: 1, publicKey: clientRotation.publicKey });
  const acceptPacket = client0.seal(INPUTS.sessionId, offerTimestampMs + 1, MessageType.keyRotation, accept);
  // §6.9: the client acknowledges parts 0, 2 and 9 of a 10-part answer (still under epoch 0, its counter 3).
  const ackHeld = [0, 2, 9];
  const ackBitmap = Buffer.alloc(2);
  for (const index of ackHeld) ackBitmap[index >> 3] = (ackBitmap[index >> 3] as number) | (0x80 >> (index & 7));
  const ackBody = encodeAck({ kind: AckKind.chat, id: INPUTS.chatId, count: 10, bitmap: ackBitmap });
  const ackPacket = client0.seal(INPUTS.sessionId, offerTimestampMs + 1, MessageType.ack, ackBody);
  const dh1 = x25519(clientRotation, serverRotation.publicKey) as Buffer;
  const epoch1 = deriveSessionKeys({ sharedSecret: INPUTS.sharedSecret, seed: epoch0.nextKeySeed, dh: dh1, connectionId, timestampMs: offerTimestampMs });
  const server1 = new EpochKeys(1, epoch1, Direction.serverToClient);
  const confirmPacket = server1.seal(INPUTS.sessionId, offerTimestampMs + 2, MessageType.keyRotation, encodeKeyRotation({ op: "confirm", epoch: 1 }));

  const signalUnsigned: Omit<CompromisedSignal, "signature"> = {
    type: "compromised",
    version: "2.0",
    signal: "CLAWCHAT_COMPROMISED_V2",
    timestamp: Math.floor(t0 / 1000) + 60,
    connection_id: connectionId,
    reason: "user_initiated",
  };
  const signal: CompromisedSignal = { ...signalUnsigned, signature: signFields(epoch0.macKey, signalSignatureFields(signalUnsigned)) };
  const ackUnsigned: Omit<CompromisedAck, "signature"> = {
    type: "compromised_ack",
    version: "2.0",
    timestamp: Math.floor(t0 / 1000) + 61,
    connection_id: connectionId,
    action: "keys_deleted",
    new_file_ready: true,
  };
  const ack: CompromisedAck = { ...ackUnsigned, signature: signFields(epoch0.macKey, ackSignatureFields(ackUnsigned)) };

  const content = buildContent(
    INPUTS.bootstrapKey,
    { serverIp: "203.0.113.7", port: 54_321, name: "Vector server", serverId: "cc-00000000-0000-4000-8000-000000000000", validitySeconds: 7 * 86_400, nowMs: t0 },
    INPUTS.sharedSecret,
  );
  const pkg = await encryptSecurityFile(content, INPUTS.bootstrapKey, { iterations: INPUTS.fileIterations, salt: INPUTS.fileSalt, iv: INPUTS.fileIv, timestamp: t0 / 1000 });

  return {
    description: "ClawChat v2 test vectors: docs/clawchat-protocol.md §12. All binary values are lowercase hex unless named *_base64.",
    inputs: {
      shared_secret: hex(INPUTS.sharedSecret),
      client_ephemeral_private: hex(INPUTS.clientEphemeralPrivate),
      server_ephemeral_private: hex(INPUTS.serverEphemeralPrivate),
      hello_message_id: hex(INPUTS.helloMessageId),
      hello_timestamp_ms: t0,
      hello_nonce: hex(INPUTS.helloNonce),
      welcome_timestamp_ms: t0 + 3,
      welcome_nonce: hex(INPUTS.welcomeNonce),
      session_id: hex(INPUTS.sessionId),
      data_port: INPUTS.dataPort,
    },
    handshake: {
      handshake_key: hex(handshakeKey),
      client_ephemeral_public: hex(clientEphemeral.publicKey),
      server_ephemeral_public: hex(serverEphemeral.publicKey),
      hello_datagram: hex(hello),
      welcome_plaintext: hex(welcomeBody),
      welcome_datagram: hex(welcome),
      x25519_shared: hex(dh0),
      connection_id: connectionId,
      context: `${connectionId}:${t0}`,
      epoch0: keysHex(epoch0),
    },
    session: {
      ping: { timestamp_ms: t0 + 10, ping_id: hex(INPUTS.pingId), message_id: hex(ping.subarray(1, 17)), nonce: hex(sessionNonce(epoch0.ivKey, Direction.clientToServer, ping.subarray(1, 17))), datagram: hex(ping) },
      pong: { timestamp_ms: t0 + 11, plaintext: hex(encodePong(INPUTS.pingId, INPUTS.dataPort)), datagram: hex(pong) },
      chat: { timestamp_ms: t0 + 20, text: INPUTS.chatText, chat_id: hex(INPUTS.chatId), plaintext: hex(chatBody), datagram: hex(chat) },
      port_announce: { timestamp_ms: t0 + 30, plaintext: hex(announce), datagram: hex(announcePacket) },
    },
    key_rotation: {
      offer_timestamp_ms: offerTimestampMs,
      server_rotation_private: hex(INPUTS.serverRotationPrivate),
      client_rotation_private: hex(INPUTS.clientRotationPrivate),
      offer_plaintext: hex(offer),
      offer_datagram: hex(offerPacket),
      accept_plaintext: hex(accept),
      accept_datagram: hex(acceptPacket),
      x25519_shared: hex(dh1),
      epoch1: keysHex(epoch1),
      confirm_datagram: hex(confirmPacket),
    },
    compromised: {
      signal,
      signal_signed_text: signalSignatureFields(signalUnsigned).join("\n"),
      ack,
      ack_signed_text: ackSignatureFields(ackUnsigned).join("\n"),
    },
    security_file: {
      bootstrap_key_base64: INPUTS.bootstrapKey.toString("base64"),
      salt: hex(INPUTS.fileSalt),
      iv: hex(INPUTS.fileIv),
      iterations: INPUTS.fileIterations,
      content_json: JSON.stringify(content),
      package: pkg,
    },
    ack: { timestamp_ms: offerTimestampMs + 1, counter: 3, chat_id: hex(INPUTS.chatId), count: 10, parts_held: ackHeld, plaintext: hex(ackBody), datagram: hex(ackPacket) },
  };
}
