/**
 * The ClawChat server (`clawchat serve`): one home port that only answers
 * authenticated HELLOs, one rotating data port for session traffic, up to 100
 * sessions, in-band key and port rotation, the compromised protocol, and chat
 * relayed to a handler. Every drop is silent on the wire and counted.
 * `docs/clawchat-protocol.md` specifies the behaviour implemented here.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { promises as fs } from "node:fs";
import { basename, join } from "node:path";
import { ConfigError } from "../../program/errors";
import { CLAWCHAT_PORT_RANGE } from "../../program/presets";
import { EpochKeys, openPacket, sealHandshake } from "./channel";
import { SystemClock, type Clock, type TimerHandle } from "./clock";
import { gatewayChatHandler, type ChatContext, type ChatHandler } from "./gateway";
import {
  connectionIdOf,
  deriveHandshakeKey,
  deriveSessionKeys,
  Direction,
  generateEphemeralKey,
  signFields,
  wipe,
  x25519,
  type EphemeralKey,
} from "./keys";
import { silentLogger, type Logger } from "./log";
import {
  ackSignatureFields,
  decodeChatPart,
  decodeFileMessage,
  decodeKeyRotation,
  decodePortRotation,
  decodePresence,
  encodeChatPart,
  encodeError,
  encodeFileResult,
  encodeKeyRotation,
  encodePong,
  encodePortRotation,
  encodePresence,
  encodeWelcome,
  ErrorCode,
  FileStatus,
  parseJsonObject,
  signalSignatureFields,
  splitIntoChunks,
  WelcomeStatus,
  type Chunk,
  type CompromisedAck,
  type PresenceName,
} from "./messages";
import { AddressRateLimiter, type RateLimit } from "./rate-limit";
import {
  BOOTSTRAP_KEY_FILE,
  checkSecurityDirectory,
  checkValidity,
  DEFAULT_ITERATIONS,
  issueSecurityFile,
  listSecurityFiles,
  loadSecurityFile,
  readBootstrapKey,
  type SecurityFileContent,
} from "./security-file";
import { CHUNK_BYTES, MessageType, parsePacket, type PacketView } from "./wire";

export interface FileContext extends ChatContext {}
/** Receives a completed file transfer; true accepts it. The default refuses every file. */
export type FileHandler = (file: { name: string; data: Buffer }, context: FileContext) => Promise<boolean>;

/** Every timer of the protocol (docs §8). Tests shorten or stretch them; hosts use the defaults. */
export interface ProtocolTimers {
  /** Port rotation interval (§7.1). Defaults to 3,600,000 ms. */
  portRotationIntervalMs: number;
  /** Announcement lead time (§7.1). Defaults to 120,000 ms. */
  announceBeforeMs: number;
  /** Both ports accepted after the switch (§7.1). Defaults to 300,000 ms. */
  graceMs: number;
  /** Key rotation after this many bytes in one epoch (§10.2). Defaults to 1 GiB. */
  rekeyBytes: number;
  /** How long an epoch's keys still open packets after the switch. Defaults to 60,000 ms. */
  previousKeyLifetimeMs: number;
  /** A session with no valid packet for this long is closed. Defaults to 180,000 ms. */
  sessionIdleMs: number;
  /** A session must send its first packet within this after WELCOME. Defaults to 30,000 ms. */
  handshakeTimeoutMs: number;
  /** Largest accepted |receiver clock − packet timestamp|. Defaults to 60,000 ms. */
  skewMs: number;
  /** Key rotation offer retransmission. Defaults to 2,000 ms, 10 times. */
  offerRetryMs: number;
  offerRetries: number;
  /** Port announcement retransmission to sessions that have not acknowledged. Defaults to 5,000 ms. */
  announceRetryMs: number;
  /** Housekeeping period (idle sessions, caches, aggregated drop logs). Defaults to 10,000 ms. */
  sweepMs: number;
}

export const DEFAULT_TIMERS: ProtocolTimers = {
  portRotationIntervalMs: 3_600_000,
  announceBeforeMs: 120_000,
  graceMs: 300_000,
  rekeyBytes: 1024 ** 3,
  previousKeyLifetimeMs: 60_000,
  sessionIdleMs: 180_000,
  handshakeTimeoutMs: 30_000,
  skewMs: 60_000,
  offerRetryMs: 2_000,
  offerRetries: 10,
  announceRetryMs: 5_000,
  sweepMs: 10_000,
};

export interface ServerLimits {
  /** Concurrent sessions (§11.2). Defaults to 100. */
  maxSessions: number;
  /** Every datagram, per source address, before any parsing. Defaults to 20,000/s, burst 40,000. */
  packets: RateLimit;
  /** HELLOs per source address, before the handshake key is tried. Defaults to 5/s, burst 20. */
  hellos: RateLimit;
  /** Largest chat message in either direction. Defaults to 256 KiB. */
  maxChatBytes: number;
  /** Largest file transfer. Defaults to 1 MiB. */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxSessions: 100,
  packets: { perSecond: 20_000, burst: 40_000 },
  hellos: { perSecond: 5, burst: 20 },
  maxChatBytes: 256 * 1024,
  maxFileBytes: 1024 * 1024,
};

export interface ServerOptions {
  /** The security directory (mode 700) holding `bootstrap.key` and the `.sec` files. */
  dir: string;
  /** Defaults to 127.0.0.1 (closed by default); hosts pass 0.0.0.0 explicitly. */
  bind?: string;
  /** The home port. Defaults to `server_udp_port` of the newest security file. */
  port?: number;
  /** Data ports are drawn from this range (§7.3). Defaults to 49152-65535 (`CLAWCHAT_PORT_RANGE`, which the host firewalls open). */
  portRange?: readonly [number, number];
  clock?: Clock;
  logger?: Logger;
  /** Defaults to the OpenClaw gateway relay (`gatewayChatHandler()`). */
  chatHandler?: ChatHandler;
  fileHandler?: FileHandler;
  timers?: Partial<ProtocolTimers>;
  limits?: Partial<ServerLimits>;
  /** PBKDF2 iterations of the files this server issues. Defaults to 600,000. */
  iterations?: number;
}

interface Assembly {
  readonly parts: Array<Buffer | undefined>;
  received: number;
  bytes: number;
  name?: string;
}

interface Answered {
  readonly plaintexts: Buffer[];
  readonly expiresAt: number;
}

interface PendingRotation {
  readonly epoch: number;
  readonly ephemeral: EphemeralKey;
  readonly timestampMs: number;
  tries: number;
  timer?: TimerHandle;
}

interface ServerSession {
  readonly id: Buffer;
  readonly key: string;
  readonly connectionId: string;
  readonly sharedSecret: Buffer;
  readonly startedAt: number;
  address: string;
  port: number;
  socket: Socket;
  current: EpochKeys;
  previous?: EpochKeys;
  previousTimer?: TimerHandle;
  pending?: PendingRotation;
  lastConfirmAt: number;
  established: boolean;
  lastSeen: number;
  bytesIn: number;
  bytesOut: number;
  presence: PresenceName;
  acknowledgedRotation: number;
  terminated: boolean;
  readonly chats: Map<string, Assembly>;
  readonly inProgress: Set<string>;
  readonly answered: Map<string, Answered>;
  readonly files: Map<string, Assembly>;
  readonly fileResults: Map<string, Answered>;
}

interface DataSocket {
  readonly socket: Socket;
  readonly port: number;
}

export interface ServerStats {
  received: number;
  sent: number;
  dropped: Record<string, number>;
  handshakes: number;
  refused: number;
}

const ANSWER_CACHE_MS = 300_000;
const MAX_ASSEMBLIES = 16;
const MAX_ANSWERED = 64;
const MAX_HELLO_CACHE = 65_536;
const MAX_TOMBSTONES = 16;

export class ClawChatServer {
  readonly stats: ServerStats = { received: 0, sent: 0, dropped: {}, handshakes: 0, refused: 0 };
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timers: ProtocolTimers;
  private readonly limits: ServerLimits;
  private readonly chatHandler: ChatHandler;
  private readonly fileHandler: FileHandler;
  private readonly packetLimiter: AddressRateLimiter;
  private readonly helloLimiter: AddressRateLimiter;
  private readonly sessions = new Map<string, ServerSession>();
  private readonly helloCache = new Map<string, number>();
  private readonly tombstones = new Map<string, { ack: Buffer; address: string; port: number; socket: Socket; expiresAt: number }>();
  private readonly dropLog = new Map<string, number>();
  private bootstrapKey: Buffer = Buffer.alloc(0);
  private file!: { path: string; content: SecurityFileContent };
  private sharedSecret: Buffer = Buffer.alloc(0);
  private handshakeKey: Buffer = Buffer.alloc(0);
  private home!: DataSocket;
  private data!: DataSocket;
  private previousData?: DataSocket;
  private nextData?: DataSocket;
  private rotationId = 0;
  private startedAt = 0;
  private readonly armed = new Set<TimerHandle>();
  private closed = false;
  private rotating: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServerOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? silentLogger;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.chatHandler = options.chatHandler ?? gatewayChatHandler();
    this.fileHandler = options.fileHandler ?? (async () => false);
    this.packetLimiter = new AddressRateLimiter(this.limits.packets);
    this.helloLimiter = new AddressRateLimiter(this.limits.hellos);
  }

  /** Checks the directory and files, loads (or re-issues) the security file and binds the home and data ports. */
  async start(): Promise<void> {
    const dir = this.options.dir;
    await checkSecurityDirectory(dir);
    this.bootstrapKey = await readBootstrapKey(join(dir, BOOTSTRAP_KEY_FILE));
    const [newest] = await listSecurityFiles(dir);
    if (!newest) throw new ConfigError("dir", `\`--dir\` ${dir} holds no clawchat-*.sec file; run \`clawchat init --dir ${dir}\``);
    this.file = await loadSecurityFile(newest, this.bootstrapKey);
    try {
      checkValidity(this.file.content, this.clock.now(), basename(newest));
    } catch {
      await this.reissue("expired");
    }
    this.useSecret(Buffer.from(this.file.content.shared_secret, "base64"));
    const homePort = this.options.port ?? this.file.content.server_udp_port;
    const homeSocket = await this.bind(homePort);
    this.home = { socket: homeSocket, port: homeSocket.address().port };
    this.data = await this.bindRandomPort();
    this.startedAt = this.clock.now();
    this.scheduleAnnouncement(this.startedAt + this.timers.portRotationIntervalMs - this.timers.announceBeforeMs);
    this.scheduleExpiry();
    this.arm(() => this.sweep(), this.timers.sweepMs);
    this.logger.log("info", "server_started", { bind: this.bindAddress, home_port: this.home.port, data_port: this.data.port, file: basename(this.file.path) });
  }

  get homePort(): number {
    return this.home.port;
  }

  get dataPort(): number {
    return this.data.port;
  }

  /** Ports currently accepting session traffic (the data port, plus the announced or retiring one). */
  get openDataPorts(): number[] {
    return [this.data, this.nextData, this.previousData].filter((s): s is DataSocket => s !== undefined).map((s) => s.port);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get securityFilePath(): string {
    return this.file.path;
  }

  /** The key epoch of every session (test and operator visibility; no key material). */
  sessionEpochs(): Array<{ connectionId: string; epoch: number; established: boolean }> {
    return [...this.sessions.values()].map((s) => ({ connectionId: s.connectionId, epoch: s.current.epoch, established: s.established }));
  }

  /** Starts a key rotation on every established session now (the hourly tick does this too). */
  rotateKeys(): void {
    for (const session of this.sessions.values()) if (session.established) this.startKeyRotation(session);
  }

  /** Resolves once any security-file rotation in flight (compromise, expiry) has finished. */
  async settled(): Promise<void> {
    await this.rotating;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const handle of this.armed) this.clock.clearTimeout(handle);
    this.armed.clear();
    for (const session of [...this.sessions.values()]) this.dropSession(session, "server_stopped");
    await this.rotating.catch(() => undefined);
    for (const data of [this.home, this.data, this.previousData, this.nextData]) if (data) await closeSocket(data.socket);
    wipe(this.sharedSecret, this.handshakeKey, this.bootstrapKey);
    this.logger.log("info", "server_stopped", {});
  }

  /* ------------------------------------------------------------ sockets */

  private get bindAddress(): string {
    return this.options.bind ?? "127.0.0.1";
  }

  private async bind(port: number): Promise<Socket> {
    const socket = createSocket({ type: this.bindAddress.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port, address: this.bindAddress, exclusive: true }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.on("message", (datagram, remote) => this.onDatagram(socket, datagram, remote.address, remote.port));
    socket.on("error", (error) => this.logger.log("error", "socket_error", { reason: error.message }));
    return socket;
  }

  /** §7.3: up to 10 random ports from the range; the first that binds wins. */
  private async bindRandomPort(): Promise<DataSocket> {
    const [min, max] = this.options.portRange ?? CLAWCHAT_PORT_RANGE;
    const taken = new Set([this.home?.port, this.data?.port, this.previousData?.port, this.nextData?.port]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const port = randomInt(min, max + 1);
      if (taken.has(port)) continue;
      try {
        return { socket: await this.bind(port), port };
      } catch {
        // Port in use: try another, as §7.3 does.
      }
    }
    throw new Error(`could not bind a UDP port in ${min}-${max} after 10 attempts`);
  }

  private arm(callback: () => void, delayMs: number): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.armed.delete(handle);
      if (!this.closed) callback();
    }, delayMs);
    this.armed.add(handle);
    return handle;
  }

  private disarm(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.clock.clearTimeout(handle);
    this.armed.delete(handle);
  }

  private isDataSocket(socket: Socket): boolean {
    return socket === this.data.socket || socket === this.previousData?.socket || socket === this.nextData?.socket;
  }

  private transmit(socket: Socket, datagram: Buffer, address: string, port: number): void {
    this.stats.sent++;
    socket.send(datagram, port, address, (error) => {
      if (error) this.logger.log("warn", "send_failed", { address, port, reason: error.message });
    });
  }

  /* ------------------------------------------------------------ receive */

  private drop(reason: string, address: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    if (reason === "rate_limited" || reason === "auth_failed" || reason === "replay" || reason === "tag" || reason === "nonce") {
      const key = `${address}|${reason}`;
      if (this.dropLog.has(key) || this.dropLog.size < 1024) this.dropLog.set(key, (this.dropLog.get(key) ?? 0) + 1);
    }
  }

  private onDatagram(socket: Socket, datagram: Buffer, address: string, port: number): void {
    this.stats.received++;
    if (this.closed) return;
    if (!this.packetLimiter.take(address, this.clock.now())) return this.drop("rate_limited", address);
    if (this.tombstones.size > 0 && ((datagram[25] ?? 0) & 0x0f) === MessageType.compromised) {
      const tombstone = this.tombstones.get(createHash("sha256").update(datagram).digest("base64"));
      if (tombstone && tombstone.expiresAt > this.clock.now()) return this.transmit(tombstone.socket, tombstone.ack, address, port);
    }
    const packet = parsePacket(datagram);
    if (typeof packet === "string") return this.drop(packet, address);
    if (Math.abs(this.clock.now() - packet.timestampMs) > this.timers.skewMs) return this.drop("skew", address);
    if (packet.type === MessageType.hello) return this.onHello(socket, packet, address, port);
    if (packet.type === MessageType.welcome) return this.drop("type", address);
    if (!this.isDataSocket(socket)) return this.drop("home_port", address);
    const session = this.sessions.get(packet.messageId.toString("latin1", 0, 8));
    if (!session || session.terminated) return this.drop("unknown_session", address);
    const epoch = packet.messageId.readUInt16BE(8);
    const keys = epoch === session.current.epoch ? session.current : epoch === session.previous?.epoch ? session.previous : undefined;
    if (!keys) return this.drop("epoch", address);
    const plaintext = keys.open(packet);
    if (typeof plaintext === "string") return this.drop(plaintext, address);
    session.lastSeen = this.clock.now();
    session.bytesIn += datagram.length;
    session.address = address;
    session.port = port;
    session.socket = socket;
    if (!session.established) {
      session.established = true;
      this.logger.log("info", "session_established", { session: session.connectionId, address, port });
    }
    if (keys === session.previous && session.lastSeen - session.lastConfirmAt >= 1000) {
      // The client still sends under the old epoch: it missed our CONFIRM; repeat it.
      session.lastConfirmAt = session.lastSeen;
      this.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "confirm", epoch: session.current.epoch }));
    }
    this.dispatch(session, keys, packet, plaintext, datagram);
    if (session.current.bytes >= this.timers.rekeyBytes && !session.pending && !session.terminated) this.startKeyRotation(session);
  }

  private onHello(socket: Socket, packet: PacketView, address: string, port: number): void {
    if (!this.helloLimiter.take(address, this.clock.now())) return this.drop("rate_limited", address);
    if (packet.ciphertext.length !== 32) return this.drop("hello_length", address);
    const idKey = packet.messageId.toString("latin1");
    if (this.helloCache.has(idKey)) return this.drop("replay", address);
    const clientPublic = openPacket(this.handshakeKey, packet);
    if (!clientPublic) {
      this.logger.log("debug", "auth_failed", { address, port, bytes: packet.ciphertext.length });
      return this.drop("auth_failed", address);
    }
    if (this.helloCache.size >= MAX_HELLO_CACHE) return this.drop("hello_cache_full", address);
    this.helloCache.set(idKey, this.clock.now() + 2 * this.timers.skewMs);
    const now = this.clock.now();
    if (this.sessions.size >= this.limits.maxSessions) {
      this.stats.refused++;
      this.logger.log("warn", "session_refused", { address, port, reason: "server_full", sessions: this.sessions.size });
      const welcome = encodeWelcome({ status: WelcomeStatus.serverFull, sessionId: Buffer.alloc(8), publicKey: Buffer.alloc(32), dataPort: 0 });
      return this.transmit(socket, sealHandshake(this.handshakeKey, packet.messageId, now, MessageType.welcome, welcome), address, port);
    }
    const ephemeral = generateEphemeralKey();
    const dh = x25519(ephemeral, clientPublic);
    if (!dh) return this.drop("bad_public_key", address);
    let sessionId = randomBytes(8);
    while (this.sessions.has(sessionId.toString("latin1"))) sessionId = randomBytes(8);
    const connectionId = connectionIdOf(sessionId);
    const keys = deriveSessionKeys({ sharedSecret: this.sharedSecret, seed: this.sharedSecret, dh, connectionId, timestampMs: packet.timestampMs });
    wipe(dh);
    const session: ServerSession = {
      id: sessionId,
      key: sessionId.toString("latin1"),
      connectionId,
      sharedSecret: Buffer.from(this.sharedSecret),
      startedAt: now,
      address,
      port,
      socket: this.data.socket,
      current: new EpochKeys(0, keys, Direction.serverToClient),
      lastConfirmAt: 0,
      established: false,
      lastSeen: now,
      bytesIn: packet.ciphertext.length,
      bytesOut: 0,
      presence: "online",
      acknowledgedRotation: this.rotationId,
      terminated: false,
      chats: new Map(),
      inProgress: new Set(),
      answered: new Map(),
      files: new Map(),
      fileResults: new Map(),
    };
    this.sessions.set(session.key, session);
    this.stats.handshakes++;
    const welcome = encodeWelcome({ status: WelcomeStatus.accepted, sessionId, publicKey: ephemeral.publicKey, dataPort: this.data.port });
    this.transmit(socket, sealHandshake(this.handshakeKey, packet.messageId, now, MessageType.welcome, welcome), address, port);
    this.logger.log("info", "session_opened", { session: connectionId, address, port, sessions: this.sessions.size });
  }

  /* ------------------------------------------------------------ send */

  private send(session: ServerSession, type: MessageType, plaintext: Buffer): void {
    if (session.terminated) return;
    const socket = this.isDataSocket(session.socket) ? session.socket : this.data.socket;
    const datagram = session.current.seal(session.id, this.clock.now(), type, plaintext);
    session.bytesOut += datagram.length;
    this.transmit(socket, datagram, session.address, session.port);
    if (session.current.bytes >= this.timers.rekeyBytes && !session.pending) this.startKeyRotation(session);
  }

  private sendError(session: ServerSession, code: number, reference: Buffer | undefined, text: string): void {
    this.send(session, MessageType.error, encodeError(code, reference, text));
  }

  /* ------------------------------------------------------------ dispatch */

  private dispatch(session: ServerSession, keys: EpochKeys, packet: PacketView, plaintext: Buffer, datagram: Buffer): void {
    switch (packet.type) {
      case MessageType.chat:
        return this.onChat(session, plaintext);
      case MessageType.fileTransfer:
        return this.onFile(session, plaintext);
      case MessageType.presence: {
        const presence = decodePresence(plaintext);
        if (!presence) return this.drop("malformed", session.address);
        session.presence = presence.status;
        this.logger.log("info", "presence", { session: session.connectionId, status: presence.status });
        this.send(session, MessageType.presence, encodePresence("online"));
        if (presence.status === "offline") this.dropSession(session, "client_offline");
        return;
      }
      case MessageType.keyRotation:
        return this.onKeyRotation(session, plaintext);
      case MessageType.portRotation: {
        const message = decodePortRotation(plaintext);
        if (message?.op === "ack") session.acknowledgedRotation = Math.max(session.acknowledgedRotation, message.rotationId);
        return;
      }
      case MessageType.error:
        this.logger.log("info", "peer_error", { session: session.connectionId, bytes: plaintext.length });
        return;
      case MessageType.ping:
        if (plaintext.length !== 8) return this.drop("malformed", session.address);
        return this.send(session, MessageType.pong, encodePong(plaintext, this.data.port));
      case MessageType.pong:
      case MessageType.compromisedAck:
        return;
      case MessageType.compromised:
        return this.onCompromised(session, keys, plaintext, datagram);
      case MessageType.hello:
      case MessageType.welcome:
        return;
      default: {
        const unreachable: never = packet.type;
        return this.drop(`type_${String(unreachable)}`, session.address);
      }
    }
  }

  private collect(assemblies: Map<string, Assembly>, chunk: Chunk, maxBytes: number): Assembly | "too_large" | "busy" | undefined {
    const key = chunk.id.toString("latin1");
    let assembly = assemblies.get(key);
    if (!assembly) {
      if (chunk.count * CHUNK_BYTES > maxBytes + CHUNK_BYTES) return "too_large";
      if (assemblies.size >= MAX_ASSEMBLIES) return "busy";
      assembly = { parts: new Array<Buffer | undefined>(chunk.count).fill(undefined), received: 0, bytes: 0 };
      assemblies.set(key, assembly);
    }
    if (assembly.parts.length !== chunk.count) return undefined;
    if (assembly.parts[chunk.index] === undefined) {
      assembly.parts[chunk.index] = Buffer.from(chunk.data);
      assembly.received++;
      assembly.bytes += chunk.data.length;
    }
    if (assembly.bytes > maxBytes) {
      assemblies.delete(key);
      return "too_large";
    }
    if (assembly.received < chunk.count) return undefined;
    assemblies.delete(key);
    return assembly;
  }

  private onChat(session: ServerSession, plaintext: Buffer): void {
    const chunk = decodeChatPart(plaintext);
    if (!chunk) return this.drop("malformed", session.address);
    const key = chunk.id.toString("latin1");
    const answered = session.answered.get(key);
    if (answered) {
      // A retransmitted question whose answer was lost: send the same answer again, never ask twice.
      for (const part of answered.plaintexts) this.send(session, MessageType.chat, part);
      return;
    }
    if (session.inProgress.has(key)) return;
    const result = this.collect(session.chats, chunk, this.limits.maxChatBytes);
    if (result === undefined) return;
    const chatId = Buffer.from(chunk.id);
    if (result === "too_large" || result === "busy") {
      return this.sendError(session, result === "busy" ? ErrorCode.busy : ErrorCode.tooLarge, chatId, result === "busy" ? "too many messages in flight" : "message too large");
    }
    const question = Buffer.concat(result.parts as Buffer[]);
    session.inProgress.add(key);
    const context: ChatContext = { connectionId: session.connectionId, address: session.address };
    const started = this.clock.now();
    this.chatHandler(question.toString("utf8"), context).then(
      (answer) => {
        session.inProgress.delete(key);
        if (session.terminated) return;
        let bytes = Buffer.from(answer, "utf8");
        if (bytes.length > this.limits.maxChatBytes) bytes = bytes.subarray(0, this.limits.maxChatBytes);
        const parts = splitIntoChunks(chatId, bytes).map(encodeChatPart);
        this.remember(session.answered, key, parts);
        for (const part of parts) this.send(session, MessageType.chat, part);
        this.logger.log("info", "chat", { session: session.connectionId, address: session.address, bytes_in: question.length, bytes_out: bytes.length, outcome: "answered", ms: this.clock.now() - started });
      },
      (error: unknown) => {
        session.inProgress.delete(key);
        this.logger.log("warn", "chat", { session: session.connectionId, address: session.address, bytes_in: question.length, outcome: "handler_failed", reason: error instanceof Error ? error.message.slice(0, 120) : "unknown" });
        this.sendError(session, ErrorCode.gatewayError, chatId, "the assistant is unavailable; try again later");
      },
    );
  }

  private remember(cache: Map<string, Answered>, key: string, plaintexts: Buffer[]): void {
    if (cache.size >= MAX_ANSWERED) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, { plaintexts, expiresAt: this.clock.now() + ANSWER_CACHE_MS });
  }

  private onFile(session: ServerSession, plaintext: Buffer): void {
    const message = decodeFileMessage(plaintext);
    if (!message || message.op !== "chunk") return this.drop("malformed", session.address);
    const key = message.chunk.id.toString("latin1");
    const done = session.fileResults.get(key);
    if (done) {
      for (const part of done.plaintexts) this.send(session, MessageType.fileTransfer, part);
      return;
    }
    if (session.inProgress.has(key)) return;
    const result = this.collect(session.files, message.chunk, this.limits.maxFileBytes);
    if (result === undefined) return;
    const fileId = Buffer.from(message.chunk.id);
    const reply = (status: number, reason: string): void => {
      const part = encodeFileResult(fileId, status, reason);
      this.remember(session.fileResults, key, [part]);
      this.send(session, MessageType.fileTransfer, part);
    };
    if (result === "too_large" || result === "busy") return reply(FileStatus.tooLarge, result === "busy" ? "too many transfers in flight" : `files are limited to ${this.limits.maxFileBytes} bytes`);
    const data = Buffer.concat(result.parts as Buffer[]);
    session.inProgress.add(key);
    this.fileHandler({ name: message.name, data }, { connectionId: session.connectionId, address: session.address }).then(
      (accepted) => {
        session.inProgress.delete(key);
        this.logger.log("info", "file", { session: session.connectionId, address: session.address, bytes: data.length, outcome: accepted ? "accepted" : "refused" });
        reply(accepted ? FileStatus.accepted : FileStatus.refused, accepted ? "" : "file transfer is not enabled on this server");
      },
      () => {
        session.inProgress.delete(key);
        reply(FileStatus.refused, "the file handler failed");
      },
    );
  }

  /* ------------------------------------------------------------ key rotation */

  private startKeyRotation(session: ServerSession): void {
    if (session.pending || session.terminated) return;
    session.pending = { epoch: (session.current.epoch + 1) & 0xffff, ephemeral: generateEphemeralKey(), timestampMs: this.clock.now(), tries: 0 };
    this.sendOffer(session);
  }

  private sendOffer(session: ServerSession): void {
    const pending = session.pending;
    if (!pending || session.terminated) return;
    if (pending.tries >= this.timers.offerRetries) {
      session.pending = undefined;
      this.logger.log("warn", "key_rotation_failed", { session: session.connectionId, reason: "no_accept" });
      return;
    }
    pending.tries++;
    this.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "offer", epoch: pending.epoch, publicKey: pending.ephemeral.publicKey, timestampMs: pending.timestampMs }));
    pending.timer = this.arm(() => this.sendOffer(session), this.timers.offerRetryMs);
  }

  private onKeyRotation(session: ServerSession, plaintext: Buffer): void {
    const message = decodeKeyRotation(plaintext);
    if (!message) return this.drop("malformed", session.address);
    if (message.op === "request") return this.startKeyRotation(session);
    if (message.op !== "accept") return;
    if (message.epoch === session.current.epoch && session.previous) {
      // Our CONFIRM was lost: the client repeats its ACCEPT.
      return this.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "confirm", epoch: session.current.epoch }));
    }
    const pending = session.pending;
    if (!pending || message.epoch !== pending.epoch) return;
    const dh = x25519(pending.ephemeral, message.publicKey);
    if (!dh) return this.drop("bad_public_key", session.address);
    const keys = deriveSessionKeys({ sharedSecret: session.sharedSecret, seed: session.current.keys.nextKeySeed, dh, connectionId: session.connectionId, timestampMs: pending.timestampMs });
    wipe(dh);
    this.disarm(pending.timer);
    session.pending = undefined;
    this.retire(session);
    session.current = new EpochKeys(pending.epoch, keys, Direction.serverToClient);
    session.lastConfirmAt = this.clock.now();
    this.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "confirm", epoch: pending.epoch }));
    this.logger.log("info", "key_rotated", { session: session.connectionId, epoch: pending.epoch });
  }

  /** Moves the current epoch to `previous` (receive only) and wipes it after its lifetime. */
  private retire(session: ServerSession): void {
    this.disarm(session.previousTimer);
    session.previous?.destroy();
    const retired = session.current;
    session.previous = retired;
    session.previousTimer = this.arm(() => {
      if (session.previous === retired) session.previous = undefined;
      retired.destroy();
    }, this.timers.previousKeyLifetimeMs);
  }

  /* ------------------------------------------------------------ port rotation */

  private scheduleAnnouncement(at: number): void {
    this.arm(() => {
      void this.announcePortRotation(at).catch((error: unknown) => {
        this.logger.log("error", "port_rotation_failed", { reason: error instanceof Error ? error.message : "unknown" });
        this.scheduleAnnouncement(at + this.timers.portRotationIntervalMs);
      });
    }, at - this.clock.now());
  }

  /** §7.2 at T+3480: bind the new port, announce it to every session, rotate every session's keys. */
  private async announcePortRotation(at: number): Promise<void> {
    const next = await this.bindRandomPort();
    if (this.closed) return void (await closeSocket(next.socket));
    this.nextData = next;
    const rotationId = ++this.rotationId;
    const switchAt = at + this.timers.announceBeforeMs;
    this.logger.log("info", "port_rotation_announced", { rotation: rotationId, new_port: next.port, old_port: this.data.port });
    const announce = (): void => {
      const now = this.clock.now();
      for (const session of this.sessions.values()) {
        if (!session.established || session.acknowledgedRotation >= rotationId) continue;
        const switchInMs = Math.max(0, switchAt - now);
        this.send(session, MessageType.portRotation, encodePortRotation({ op: "announce", rotationId, port: next.port, switchInMs, graceMs: this.timers.graceMs }));
      }
      if (now < switchAt + this.timers.graceMs && rotationId === this.rotationId) this.arm(announce, this.timers.announceRetryMs);
    };
    announce();
    this.rotateKeys();
    this.arm(() => this.switchPort(next), switchAt - this.clock.now());
    this.scheduleAnnouncement(at + this.timers.portRotationIntervalMs);
  }

  private switchPort(next: DataSocket): void {
    const old = this.data;
    this.previousData = old;
    this.data = next;
    this.nextData = undefined;
    this.logger.log("info", "port_rotated", { new_port: next.port, old_port: old.port, grace_ms: this.timers.graceMs });
    this.arm(() => {
      if (this.previousData === old) this.previousData = undefined;
      void closeSocket(old.socket);
      this.logger.log("info", "port_closed", { port: old.port });
    }, this.timers.graceMs);
  }

  /* ------------------------------------------------------------ compromised protocol */

  private onCompromised(session: ServerSession, keys: EpochKeys, plaintext: Buffer, datagram: Buffer): void {
    const body = parseJsonObject(plaintext);
    const fields = body && {
      type: body.type,
      version: body.version,
      signal: body.signal,
      timestamp: body.timestamp,
      connection_id: body.connection_id,
      reason: body.reason,
      signature: body.signature,
    };
    if (
      !fields ||
      fields.type !== "compromised" ||
      fields.version !== "2.0" ||
      fields.signal !== "CLAWCHAT_COMPROMISED_V2" ||
      typeof fields.timestamp !== "number" ||
      fields.connection_id !== session.connectionId ||
      typeof fields.reason !== "string" ||
      typeof fields.signature !== "string"
    ) {
      this.logger.log("warn", "security_event", { kind: "compromised_signal_malformed", session: session.connectionId, address: session.address });
      return this.drop("malformed", session.address);
    }
    const expected = Buffer.from(signFields(keys.keys.macKey, signalSignatureFields({ ...fields, type: "compromised", version: "2.0", signal: "CLAWCHAT_COMPROMISED_V2", timestamp: fields.timestamp, connection_id: fields.connection_id, reason: fields.reason })), "utf8");
    const given = Buffer.from(fields.signature, "utf8");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      this.logger.log("warn", "security_event", { kind: "compromised_signal_bad_signature", session: session.connectionId, address: session.address });
      return this.drop("signature", session.address);
    }
    this.logger.log("warn", "security_event", { kind: "compromised_signal", session: session.connectionId, address: session.address, port: session.port, reason: fields.reason.slice(0, 64) });
    const macKey = Buffer.from(keys.keys.macKey);
    const reply = { address: session.address, port: session.port, socket: this.isDataSocket(session.socket) ? session.socket : this.data.socket, current: session.current, id: session.id };
    for (const other of this.sessions.values()) other.terminated = true;
    this.rotating = this.rotating
      .then(() => this.reissue("compromised"))
      .then(() => {
        const now = this.clock.now();
        const unsigned: Omit<CompromisedAck, "signature"> = { type: "compromised_ack", version: "2.0", timestamp: Math.floor(now / 1000), connection_id: session.connectionId, action: "keys_deleted", new_file_ready: true };
        const ack: CompromisedAck = { ...unsigned, signature: signFields(macKey, ackSignatureFields(unsigned)) };
        wipe(macKey);
        const ackDatagram = reply.current.seal(reply.id, now, MessageType.compromisedAck, Buffer.from(JSON.stringify(ack), "utf8"));
        this.transmit(reply.socket, ackDatagram, reply.address, reply.port);
        if (this.tombstones.size >= MAX_TOMBSTONES) this.tombstones.clear();
        this.tombstones.set(createHash("sha256").update(datagram).digest("base64"), { ack: ackDatagram, ...reply, expiresAt: now + 10_000 });
        for (const other of [...this.sessions.values()]) {
          if (other !== session) {
            other.terminated = false;
            this.sendError(other, ErrorCode.sessionTerminated, undefined, "security event: all keys revoked; load the new security file");
          }
          this.dropSession(other, "compromised");
        }
        this.helloCache.clear();
      })
      .catch((error: unknown) => {
        this.logger.log("error", "security_event", { kind: "reissue_failed", reason: error instanceof Error ? error.message : "unknown" });
      });
  }

  /**
   * Writes a new security file (new shared secret, same server identity and
   * bootstrap key), then deletes every other `.sec` file; new HELLOs must use
   * the new secret. Established sessions keep their own keys (except after a
   * compromise, where the caller drops them).
   */
  private async reissue(reason: "expired" | "compromised"): Promise<void> {
    const content = this.file.content;
    const issued = await issueSecurityFile(this.options.dir, this.bootstrapKey, {
      serverIp: content.server_public_ip,
      port: content.server_udp_port,
      name: content.server_name,
      serverId: content.server_id,
      validitySeconds: content.valid_until - content.valid_from,
      iterations: this.options.iterations ?? DEFAULT_ITERATIONS,
      nowMs: this.clock.now(),
    });
    const deleted: string[] = [];
    for (const path of await listSecurityFiles(this.options.dir)) {
      if (path === issued.path) continue;
      await fs.rm(path, { force: true });
      deleted.push(basename(path));
    }
    this.file = issued;
    if (this.sharedSecret.length > 0) this.useSecret(Buffer.from(issued.content.shared_secret, "base64"));
    this.logger.log("warn", "security_file_issued", { reason, file: basename(issued.path), deleted: deleted.join(",") });
    if (this.startedAt > 0) this.scheduleExpiry();
  }

  private useSecret(secret: Buffer): void {
    wipe(this.sharedSecret, this.handshakeKey);
    this.sharedSecret = secret;
    this.handshakeKey = deriveHandshakeKey(secret);
  }

  private expiryTimer?: TimerHandle;

  /** At `valid_until` the server issues the next file; running sessions are not affected (docs §9). */
  private scheduleExpiry(): void {
    this.disarm(this.expiryTimer);
    const due = this.file.content.valid_until * 1000 - this.clock.now();
    this.expiryTimer = this.arm(() => {
      this.rotating = this.rotating.then(() => this.reissue("expired")).catch((error: unknown) => {
        this.logger.log("error", "security_event", { kind: "reissue_failed", reason: error instanceof Error ? error.message : "unknown" });
      });
    }, Math.max(0, due));
  }

  /* ------------------------------------------------------------ housekeeping */

  private dropSession(session: ServerSession, reason: string): void {
    if (this.sessions.get(session.key) !== session) return;
    this.sessions.delete(session.key);
    session.terminated = true;
    this.disarm(session.pending?.timer);
    this.disarm(session.previousTimer);
    session.pending = undefined;
    session.current.destroy();
    session.previous?.destroy();
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
      else {
        for (const cache of [session.answered, session.fileResults]) for (const [key, entry] of cache) if (entry.expiresAt < now) cache.delete(key);
      }
    }
    for (const [key, expiresAt] of this.helloCache) if (expiresAt < now) this.helloCache.delete(key);
    for (const [key, tombstone] of this.tombstones) if (tombstone.expiresAt < now) this.tombstones.delete(key);
    for (const [key, count] of this.dropLog) {
      const [address, reason] = key.split("|");
      this.logger.log("warn", "packets_dropped", { address, reason, count });
    }
    this.dropLog.clear();
    this.arm(() => this.sweep(), this.timers.sweepMs);
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
