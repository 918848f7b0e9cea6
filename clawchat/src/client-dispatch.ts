/**
 * What the client does with each authenticated packet, by message type
 * (protocol §3.2): answers and ACKs go to the requests in flight, rotation
 * messages to the rotation module, keepalives are answered, server errors
 * either fail the request they name or reach the caller as an event.
 */
import type { ClientRotation } from "./client-rotation";
import type { Keepalive } from "./client-keepalive";
import type { Requests } from "./client-requests";
import { decodeChatPart, decodeError, decodeFileMessage, decodePresence, encodePong, type PresenceName } from "./messages";
import { MessageType } from "./wire";

export interface ClientHandlers {
  readonly requests: Requests;
  readonly rotation: ClientRotation;
  readonly keepalive: Keepalive;
  send(type: MessageType, plaintext: Buffer): void;
  /** The server's presence, answering our `setPresence`. */
  presence(presence: { status: PresenceName; note: string }): void;
  compromiseAck(plaintext: Buffer): void;
  /** A server error that answers none of our requests; code 3 ends the session. */
  serverError(code: number, text: string): void;
}

export function dispatchToClient(handlers: ClientHandlers, type: MessageType, plaintext: Buffer): void {
  const { requests, rotation } = handlers;
  switch (type) {
    case MessageType.chat: {
      const chunk = decodeChatPart(plaintext);
      if (chunk) requests.onChatPart(chunk.id, chunk.index, chunk.count, chunk.data);
      return;
    }
    case MessageType.fileTransfer: {
      const message = decodeFileMessage(plaintext);
      if (message?.op === "result") requests.onFileResult(message.id, { status: message.status, reason: message.reason });
      return;
    }
    case MessageType.ack:
      return requests.onAck(plaintext);
    case MessageType.presence: {
      const presence = decodePresence(plaintext);
      if (presence) handlers.presence(presence);
      return;
    }
    case MessageType.keyRotation:
      return rotation.onKeyRotation(plaintext);
    case MessageType.portRotation:
      return rotation.onPortRotation(plaintext);
    case MessageType.error: {
      const error = decodeError(plaintext);
      if (!error || requests.onError(error.reference, new Error(`server error ${error.code}: ${error.text}`))) return;
      return handlers.serverError(error.code, error.text);
    }
    case MessageType.ping:
      // The client has no data port to report: 0 (docs §6.5).
      if (plaintext.length === 8) handlers.send(MessageType.pong, encodePong(plaintext, 0));
      return;
    case MessageType.pong: {
      const port = handlers.keepalive.onPong(plaintext);
      if (port !== undefined) rotation.onPongPort(port);
      return;
    }
    case MessageType.compromisedAck:
      return handlers.compromiseAck(plaintext);
    case MessageType.compromised:
    case MessageType.hello:
    case MessageType.welcome:
      return;
    default: {
      const unreachable: never = type;
      return void unreachable;
    }
  }
}

