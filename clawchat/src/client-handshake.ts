/**
 * The client side of the handshake (protocol §5): HELLOs to the home port, a
 * new message ID and timestamp per attempt with the same ephemeral key, until a
 * WELCOME that opens under the handshake key names one of them.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:dgram";
import { EpochKeys, openPacket, sealHandshake } from "./channel";
import type { Clock, TimerHandle } from "./clock";
import { connectionIdOf, deriveSessionKeys, Direction, generateEphemeralKey, wipe, x25519 } from "./keys";
import { decodeWelcome, WelcomeStatus } from "./control-messages";
import { MessageType, parsePacket } from "./wire";

export interface HandshakeArgs {
  readonly socket: Socket;
  readonly clock: Clock;
  readonly sharedSecret: Buffer;
  readonly handshakeKey: Buffer;
  readonly host: string;
  readonly homePort: number;
  readonly attempts: number;
  readonly retryMs: number;
  arm(callback: () => void, delayMs: number): TimerHandle;
  disarm(handle: TimerHandle | undefined): void;
}

export interface Established {
  readonly sessionId: Buffer;
  readonly keys: EpochKeys;
  readonly dataPort: number;
}

export async function runHandshake(args: HandshakeArgs): Promise<Established> {
  const { socket, clock, handshakeKey } = args;
  const ephemeral = generateEphemeralKey();
  const welcome = await new Promise<{ plaintext: Buffer; helloTimestampMs: number }>((resolve, reject) => {
    const sent = new Map<string, number>();
    let tries = 0;
    let timer: TimerHandle | undefined;
    const sendHello = (): void => {
      if (tries++ >= args.attempts) {
        socket.off("message", onWelcome);
        return reject(new Error(`no answer from ${args.host}:${args.homePort} after ${args.attempts} HELLOs: wrong address or port, firewall, or a security file the server no longer accepts`));
      }
      const messageId = randomBytes(16);
      const now = clock.now();
      sent.set(messageId.toString("latin1"), now);
      socket.send(sealHandshake(handshakeKey, messageId, now, MessageType.hello, ephemeral.publicKey), args.homePort, args.host);
      timer = args.arm(sendHello, args.retryMs);
    };
    const onWelcome = (datagram: Buffer): void => {
      const packet = parsePacket(datagram);
      if (typeof packet === "string" || packet.type !== MessageType.welcome) return;
      const helloTimestampMs = sent.get(packet.messageId.toString("latin1"));
      if (helloTimestampMs === undefined) return;
      const plaintext = openPacket(handshakeKey, packet);
      if (!plaintext) return;
      args.disarm(timer);
      socket.off("message", onWelcome);
      resolve({ plaintext, helloTimestampMs });
    };
    socket.on("message", onWelcome);
    sendHello();
  });
  const decoded = decodeWelcome(welcome.plaintext);
  if (!decoded) throw new Error("malformed WELCOME from the server");
  if (decoded.status === WelcomeStatus.serverFull) throw new Error("the server refused the session: it is full (too many concurrent sessions); try again later");
  if (decoded.status !== WelcomeStatus.accepted) throw new Error(`the server refused the session (status ${decoded.status})`);
  const dh = x25519(ephemeral, decoded.publicKey);
  if (!dh) throw new Error("the server sent an invalid X25519 public key");
  const sessionId = Buffer.from(decoded.sessionId);
  const keys = deriveSessionKeys({ sharedSecret: args.sharedSecret, seed: args.sharedSecret, dh, connectionId: connectionIdOf(sessionId), timestampMs: welcome.helloTimestampMs });
  wipe(dh);
  return { sessionId, keys: new EpochKeys(0, keys, Direction.clientToServer), dataPort: decoded.dataPort };
}
