/**
 * What the server does with each authenticated session packet, by message type
 * (protocol §3.2): chat, files and ACKs go to the relay, rotation messages to
 * the rotation modules, the compromised signal to its module; presence and
 * keepalive are answered here.
 */
import type { EpochKeys } from "./channel";
import { decodePortRotation } from "./control-messages";
import { decodePresence, encodePong, encodePresence } from "./messages";
import type { Relay } from "./relay";
import type { KeyRotation } from "./server-key-rotation";
import type { ServerContext, ServerSession } from "./server-session";
import { MessageType } from "./wire";

export interface SessionHandlers {
  readonly context: ServerContext;
  readonly relay: Relay;
  readonly keyRotation: KeyRotation;
  /** The current data port, named in every PONG. */
  dataPort(): number;
  compromise(session: ServerSession, keys: EpochKeys, plaintext: Buffer, datagram: Buffer): void;
}

export function dispatch(handlers: SessionHandlers, session: ServerSession, keys: EpochKeys, type: MessageType, plaintext: Buffer, datagram: Buffer): void {
  const { context, relay, keyRotation } = handlers;
  switch (type) {
    case MessageType.chat:
      return relay.onChat(session, plaintext);
    case MessageType.fileTransfer:
      return relay.onFile(session, plaintext);
    case MessageType.ack:
      return relay.onAck(session, plaintext);
    case MessageType.presence: {
      const presence = decodePresence(plaintext);
      if (!presence) return context.drop("malformed", session.address);
      session.presence = presence.status;
      context.logger.log("info", "presence", { session: session.connectionId, status: presence.status });
      context.send(session, MessageType.presence, encodePresence("online"));
      if (presence.status === "offline") context.dropSession(session, "client_offline");
      return;
    }
    case MessageType.keyRotation:
      return keyRotation.onMessage(session, plaintext);
    case MessageType.portRotation: {
      const message = decodePortRotation(plaintext);
      if (message?.op === "ack") session.acknowledgedRotation = Math.max(session.acknowledgedRotation, message.rotationId);
      return;
    }
    case MessageType.error:
      context.logger.log("info", "peer_error", { session: session.connectionId, bytes: plaintext.length });
      return;
    case MessageType.ping:
      if (plaintext.length !== 8) return context.drop("malformed", session.address);
      return context.send(session, MessageType.pong, encodePong(plaintext, handlers.dataPort()));
    case MessageType.pong:
    case MessageType.compromisedAck:
    case MessageType.hello:
    case MessageType.welcome:
      return;
    case MessageType.compromised:
      return handlers.compromise(session, keys, plaintext, datagram);
    default: {
      const unreachable: never = type;
      return context.drop(`type_${String(unreachable)}`, session.address);
    }
  }
}
