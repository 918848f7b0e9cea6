/**
 * The ClawChat server (`clawchat serve`): one home port that only answers
 * authenticated HELLOs, one rotating data port for session traffic, up to 100
 * sessions, in-band key and port rotation, the compromised protocol, and chat
 * relayed to a handler. Every drop is silent on the wire and counted.
 * `docs/clawchat-protocol.md` specifies the behaviour; this class routes
 * packets, and each concern lives in its own module: the handshake
 * (`server-handshake.ts`), session state (`server-session.ts`), rotation
 * (`server-key-rotation.ts`, `server-ports.ts`), the relay to the gateway with
 * its limits (`relay.ts`), the security files and the compromised protocol
 * (`server-security.ts`, `server-compromised.ts`), drop counting (`drops.ts`).
 */
import type { Socket } from "node:dgram";
import { basename, join } from "node:path";
import { CLAWCHAT_PORT_RANGE } from "../../core/presets";
import { aeadBackend } from "./aead";
import type { EpochKeys } from "./channel";
import { SystemClock, TimerSet, type Clock } from "./clock";
import { DropCounter } from "./drops";
import { gatewayChatHandler } from "./gateway";
import { wipe } from "./keys";
import { silentLogger, type Logger } from "./log";
import { encodeError } from "./messages";
import { AddressRateLimiter } from "./rate-limit";
import { Relay } from "./relay";
import { Compromise } from "./server-compromised";
import { dispatch, type SessionHandlers } from "./server-dispatch";
import { DEFAULT_LIMITS, resolveTimers, type ProtocolTimers, type ServerLimits, type ServerOptions } from "./server-config";
import { Handshakes } from "./server-handshake";
import { KeyRotation } from "./server-key-rotation";
import { Ports } from "./server-ports";
import { SecurityFiles } from "./server-security";
import type { ServerContext, ServerSession, ServerStats } from "./server-session";
import { StatusFile, statusOf, type ServerStatus } from "./server-status";
import { MessageType, parsePacket, type PacketView } from "./wire";

export { DEFAULT_LIMITS, DEFAULT_TIMERS, type FileContext, type FileHandler, type ProtocolTimers, type ServerLimits, type ServerOptions } from "./server-config";
export type { ServerStats } from "./server-session";
export type { ServerStatus } from "./server-status";

export class ClawChatServer {
  private readonly drops = new DropCounter();
  readonly stats: ServerStats = { received: 0, sent: 0, dropped: this.drops.totals, handshakes: 0, refused: 0, overloaded: 0 };
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timers: ProtocolTimers;
  private readonly limits: ServerLimits;
  private readonly context: ServerContext;
  private readonly packetLimiter: AddressRateLimiter;
  private readonly sessions = new Map<string, ServerSession>();
  private readonly security: SecurityFiles;
  private readonly ports: Ports;
  private readonly handshakes: Handshakes;
  private readonly relay: Relay;
  private readonly keyRotation: KeyRotation;
  private readonly compromise: Compromise;
  private readonly timerSet: TimerSet;
  private startedAt = 0;
  private readonly statusFile: StatusFile;
  private readonly handlers: SessionHandlers;
  private closed = false;

  constructor(private readonly options: ServerOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? silentLogger;
    this.timers = resolveTimers(options.timers);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.timerSet = new TimerSet(this.clock, () => this.closed);
    this.context = {
      clock: this.clock,
      logger: this.logger,
      timers: this.timers,
      limits: this.limits,
      arm: (callback, delayMs) => this.timerSet.arm(callback, delayMs),
      disarm: (handle) => this.timerSet.disarm(handle),
      send: (session, type, plaintext) => this.send(session, type, plaintext),
      sendError: (session, code, reference, text) => this.send(session, MessageType.error, encodeError(code, reference, text)),
      drop: (reason, address) => this.drops.count(reason, address),
      dropSession: (session, reason) => this.dropSession(session, reason),
    };
    this.packetLimiter = new AddressRateLimiter(this.limits.packets);
    this.statusFile = new StatusFile(options.statusFile === undefined ? join(options.dir, "status.json") : options.statusFile, this.logger);
    this.security = new SecurityFiles(this.context, options.dir, options.iterations);
    this.ports = new Ports(this.context, {
      bind: options.bind ?? "127.0.0.1",
      range: options.portRange ?? CLAWCHAT_PORT_RANGE,
      onDatagram: (socket, datagram, address, port) => this.onDatagram(socket, datagram, address, port),
      sessions: () => this.sessions.values(),
      rotateKeys: () => this.rotateKeys(),
      isClosed: () => this.closed,
    });
    this.handshakes = new Handshakes(this.context, this.stats);
    this.relay = new Relay(this.context, options.chatHandler ?? gatewayChatHandler(), options.fileHandler ?? (async () => false), this.stats);
    this.keyRotation = new KeyRotation(this.context);
    this.handlers = {
      context: this.context,
      relay: this.relay,
      keyRotation: this.keyRotation,
      dataPort: () => this.ports.data.port,
      compromise: (session, keys, plaintext, datagram) => this.compromise.onSignal(session, keys, plaintext, datagram),
    };
    this.compromise = new Compromise(this.context, {
      sessions: this.sessions,
      security: this.security,
      replySocket: (session) => this.replySocket(session),
      transmit: (socket, datagram, address, port) => this.transmit(socket, datagram, address, port),
      onRevoked: () => this.handshakes.forget(),
    });
  }

  /** Checks the directory and files, loads (or re-issues) the security file and binds the home and data ports. */
  async start(): Promise<void> {
    // The AES-GCM backend first: with CLAWCHAT_AEAD=native and no addon, nothing is bound.
    const aead = aeadBackend();
    await this.security.load();
    await this.ports.open(this.options.port ?? this.security.file.content.server_udp_port);
    this.startedAt = this.clock.now();
    this.ports.scheduleAnnouncement(this.startedAt + this.timers.portRotationIntervalMs - this.timers.announceBeforeMs);
    this.security.startExpiry();
    this.timerSet.arm(() => this.sweep(), this.timers.sweepMs);
    this.logger.log("info", "server_started", { bind: this.options.bind ?? "127.0.0.1", home_port: this.homePort, data_port: this.dataPort, file: basename(this.security.file.path), aead: aead.name, aead_detail: aead.detail });
    this.statusFile.write(this.status());
  }

  get homePort(): number {
    return this.ports.home.port;
  }

  get dataPort(): number {
    return this.ports.data.port;
  }

  /** Ports currently accepting session traffic (the data port, plus the announced or retiring one). */
  get openDataPorts(): number[] {
    return this.ports.dataPorts;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get securityFilePath(): string {
    return this.security.file.path;
  }

  /** The key epoch of every session (test and operator visibility; no key material). */
  sessionEpochs(): Array<{ connectionId: string; epoch: number; established: boolean }> {
    return [...this.sessions.values()].map((s) => ({ connectionId: s.connectionId, epoch: s.current.epoch, established: s.established }));
  }

  /** Counts for operators (`clawchat status`): sessions, gateway calls, every drop by reason. */
  status(): ServerStatus {
    return statusOf(this.clock.now(), this.startedAt, this.stats, { home: this.homePort, data: this.openDataPorts, sessions: this.sessions.size, gatewayCalls: this.relay.gatewayCalls, aead: aeadBackend().name });
  }

  /** Starts a key rotation on every established session now (the hourly tick does this too). */
  rotateKeys(): void {
    for (const session of this.sessions.values()) if (session.established) this.keyRotation.start(session);
  }

  /** Resolves once any security-file rotation in flight (compromise, expiry) has finished. */
  async settled(): Promise<void> {
    await this.security.rotating;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statusFile.close();
    this.timerSet.clear();
    for (const session of [...this.sessions.values()]) this.dropSession(session, "server_stopped");
    await this.security.rotating;
    await this.ports.close();
    this.security.wipe();
    this.logger.log("info", "server_stopped", {});
  }

  /* ------------------------------------------------------------ sending */

  /** Errors surface as the socket's `error` event (logged once per error, no closure per packet). */
  private transmit(socket: Socket, datagram: Buffer, address: string, port: number): void {
    this.stats.sent++;
    socket.send(datagram, port, address);
  }

  private replySocket(session: ServerSession): Socket {
    return this.ports.isDataSocket(session.socket) ? session.socket : this.ports.data.socket;
  }

  private send(session: ServerSession, type: MessageType, plaintext: Buffer): void {
    if (session.terminated) return;
    const datagram = session.current.seal(session.id, this.clock.now(), type, plaintext);
    session.bytesOut += datagram.length;
    this.transmit(this.replySocket(session), datagram, session.address, session.port);
    this.keyRotation.checkVolume(session);
  }

  /* ------------------------------------------------------------ receive */

  private onDatagram(socket: Socket, datagram: Buffer, address: string, port: number): void {
    this.stats.received++;
    if (this.closed) return;
    const now = this.clock.now();
    if (!this.packetLimiter.take(address, now)) return this.drops.count("rate_limited", address);
    if (this.compromise.replayAck(datagram, address, port)) return;
    const packet = parsePacket(datagram);
    if (typeof packet === "string") return this.drops.count(packet, address);
    if (Math.abs(now - packet.timestampMs) > this.timers.skewMs) return this.drops.count("skew", address);
    if (socket === this.ports.home.socket) {
      if (packet.type !== MessageType.hello) return this.drops.count("home_port", address);
      return this.onHello(packet, address, port);
    }
    // §2: HELLOs go to the home port only; WELCOME never leaves a data port.
    if (packet.type === MessageType.hello || packet.type === MessageType.welcome) return this.drops.count("type_on_data_port", address);
    if (!this.ports.isDataSocket(socket)) return this.drops.count("closed_port", address);
    // The message ID starts with the session ID (§3.1): offsets 1-8 of the datagram.
    const session = this.sessions.get(datagram.toString("latin1", 1, 9));
    if (!session || session.terminated) return this.drops.count("unknown_session", address);
    const epoch = datagram.readUInt16BE(9);
    const keys = epoch === session.current.epoch ? session.current : epoch === session.previous?.epoch ? session.previous : undefined;
    if (!keys) return this.drops.count("epoch", address);
    const plaintext = keys.open(packet);
    if (typeof plaintext === "string") return this.drops.count(plaintext, address);
    session.lastSeen = now;
    session.bytesIn += datagram.length;
    session.address = address;
    session.port = port;
    session.socket = socket;
    if (!session.established) {
      session.established = true;
      this.logger.log("info", "session_established", { session: session.connectionId, address, port });
    }
    if (keys === session.previous) this.keyRotation.onPreviousEpoch(session);
    dispatch(this.handlers, session, keys, packet.type, plaintext, datagram);
    this.keyRotation.checkVolume(session);
  }

  private onHello(packet: PacketView, address: string, port: number): void {
    this.handshakes.onHello(
      {
        sessions: this.sessions,
        sharedSecret: this.security.sharedSecret,
        handshakeKey: this.security.handshakeKey,
        homeSocket: this.ports.home.socket,
        dataSocket: this.ports.data.socket,
        dataPort: this.ports.data.port,
        rotationId: this.ports.rotationId,
        transmit: (out, reply, toAddress, toPort) => this.transmit(out, reply, toAddress, toPort),
        onOpened: () => undefined,
      },
      packet,
      address,
      port,
    );
  }

  /* ------------------------------------------------------------ housekeeping */

  private dropSession(session: ServerSession, reason: string): void {
    if (this.sessions.get(session.key) !== session) return;
    this.sessions.delete(session.key);
    session.terminated = true;
    this.keyRotation.end(session);
    this.relay.sweep(session, this.clock.now(), true);
    wipe(session.sharedSecret);
    this.logger.log("info", "session_closed", {
      session: session.connectionId,
      address: session.address,
      reason,
      duration_ms: this.clock.now() - session.startedAt,
      bytes_in: session.bytesIn,
      bytes_out: session.bytesOut,
    });
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const session of [...this.sessions.values()]) {
      if (!session.established && now - session.startedAt > this.timers.handshakeTimeoutMs) this.dropSession(session, "handshake_timeout");
      else if (now - session.lastSeen > this.timers.sessionIdleMs) this.dropSession(session, "idle");
      else this.relay.sweep(session, now);
    }
    this.handshakes.forget(now);
    this.compromise.sweep(now);
    this.drops.flush(this.logger);
    this.statusFile.write(this.status());
    this.timerSet.arm(() => this.sweep(), this.timers.sweepMs);
  }
}
