/**
 * The server side of the handshake (protocol §5): a HELLO on the home port is
 * rate limited per address, checked against replays, opened under the
 * handshake key, and only then answered with a WELCOME from the home port.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:dgram";
import { EpochKeys, openPacket, sealHandshake } from "./channel";
import { connectionIdOf, deriveSessionKeys, Direction, generateEphemeralKey, wipe, x25519 } from "./keys";
import { encodeWelcome, WelcomeStatus } from "./control-messages";
import { AddressRateLimiter } from "./rate-limit";
import { newSession, type ServerContext, type ServerSession, type ServerStats } from "./server-session";
import { MessageType, type PacketView } from "./wire";

const MAX_HELLO_CACHE = 65_536;

/** What a HELLO needs from the server at the moment it arrives. */
export interface HandshakeTarget {
  readonly sessions: Map<string, ServerSession>;
  readonly sharedSecret: Buffer;
  readonly handshakeKey: Buffer;
  readonly homeSocket: Socket;
  readonly dataSocket: Socket;
  readonly dataPort: number;
  readonly rotationId: number;
  transmit(socket: Socket, datagram: Buffer, address: string, port: number): void;
  onOpened(session: ServerSession): void;
}

export class Handshakes {
  private readonly limiter: AddressRateLimiter;
  /** HELLO message IDs seen within 2 × the skew limit (§4.5). */
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly context: ServerContext,
    private readonly stats: ServerStats,
  ) {
    this.limiter = new AddressRateLimiter(context.limits.hellos);
  }

  /** A HELLO that arrived on the home port (HELLOs elsewhere are dropped by the caller). */
  onHello(target: HandshakeTarget, packet: PacketView, address: string, port: number): void {
    const { clock, logger, limits } = this.context;
    const drop = (reason: string): void => this.context.drop(reason, address);
    if (!this.limiter.take(address, clock.now())) return drop("rate_limited");
    if (packet.ciphertext.length !== 32) return drop("hello_length");
    const idKey = packet.messageId.toString("latin1");
    if (this.seen.has(idKey)) return drop("replay");
    const clientPublic = openPacket(target.handshakeKey, packet);
    if (!clientPublic) {
      logger.log("debug", "auth_failed", { address, port, bytes: packet.ciphertext.length });
      return drop("auth_failed");
    }
    if (this.seen.size >= MAX_HELLO_CACHE) return drop("hello_cache_full");
    const now = clock.now();
    this.seen.set(idKey, now + 2 * this.context.timers.skewMs);
    const welcome = (fields: Parameters<typeof encodeWelcome>[0]): void =>
      target.transmit(target.homeSocket, sealHandshake(target.handshakeKey, packet.messageId, now, MessageType.welcome, encodeWelcome(fields)), address, port);
    if (target.sessions.size >= limits.maxSessions) {
      this.stats.refused++;
      logger.log("warn", "session_refused", { address, port, reason: "server_full", sessions: target.sessions.size });
      return welcome({ status: WelcomeStatus.serverFull, sessionId: Buffer.alloc(8), publicKey: Buffer.alloc(32), dataPort: 0 });
    }
    const ephemeral = generateEphemeralKey();
    const dh = x25519(ephemeral, clientPublic);
    if (!dh) return drop("bad_public_key");
    let sessionId = randomBytes(8);
    while (target.sessions.has(sessionId.toString("latin1"))) sessionId = randomBytes(8);
    const connectionId = connectionIdOf(sessionId);
    const keys = deriveSessionKeys({ sharedSecret: target.sharedSecret, seed: target.sharedSecret, dh, connectionId, timestampMs: packet.timestampMs });
    wipe(dh);
    const session = newSession({
      id: sessionId,
      connectionId,
      sharedSecret: Buffer.from(target.sharedSecret),
      startedAt: now,
      address,
      port,
      socket: target.dataSocket,
      current: new EpochKeys(0, keys, Direction.serverToClient),
      acknowledgedRotation: target.rotationId,
    });
    session.bytesIn = packet.ciphertext.length;
    target.sessions.set(session.key, session);
    this.stats.handshakes++;
    target.onOpened(session);
    welcome({ status: WelcomeStatus.accepted, sessionId, publicKey: ephemeral.publicKey, dataPort: target.dataPort });
    logger.log("info", "session_opened", { session: connectionId, address, port, sessions: target.sessions.size });
  }

  /** Forgets expired HELLO IDs (sweep), or all of them (after the shared secret changed). */
  forget(now = Infinity): void {
    for (const [key, expiresAt] of this.seen) if (expiresAt < now) this.seen.delete(key);
  }
}
