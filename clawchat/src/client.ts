/**
 * The ClawChat client library (`clawchat connect`): decrypts a security file,
 * runs the handshake, sends and receives chat, files and presence, follows port
 * and key rotation without the caller noticing, and can raise the compromised
 * signal. One UDP socket per client.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import { isIPv6 } from "node:net";
import { ConfigError } from "../../program/errors";
import { EpochKeys, openPacket, sealHandshake } from "./channel";
import { SystemClock, type Clock, type TimerHandle } from "./clock";
import { randomId } from "./random-ids";
import { connectionIdOf, deriveHandshakeKey, deriveSessionKeys, Direction, generateEphemeralKey, signFields, wipe, x25519 } from "./keys";
import {
  ackSignatureFields,
  decodeChatPart,
  decodeError,
  decodeFileMessage,
  decodeKeyRotation,
  decodePortRotation,
  decodePresence,
  encodeChatPart,
  encodeFileChunk,
  encodeKeyRotation,
  encodePong,
  encodePortRotation,
  encodePresence,
  parseJsonObject,
  signalSignatureFields,
  splitIntoChunks,
  WelcomeStatus,
  decodeWelcome,
  type CompromisedAck,
  type CompromisedSignal,
  type PresenceName,
} from "./messages";
import { checkValidity, loadSecurityFile, readBootstrapKey, type SecurityFileContent } from "./security-file";
import { MessageType, parsePacket, type PacketView } from "./wire";

export interface ClientOptions {
  clock?: Clock;
  /** Overrides `server_public_ip` / `server_udp_port` of the security file (e.g. behind NAT, or in tests). */
  server?: { host: string; port: number };
  /** The security file this client loaded: deleted by the compromised protocol. */
  securityFilePath?: string;
  /** HELLO retransmission. Defaults to 2,000 ms, 5 attempts. */
  handshakeRetryMs?: number;
  handshakeAttempts?: number;
  /** Chat / file retransmission while unanswered. Defaults to 3,000 ms, 20 times. */
  retransmitMs?: number;
  retransmits?: number;
  /** Keepalive PING period. Defaults to 15,000 ms (keeps NAT mappings open). */
  keepaliveMs?: number;
  /** Largest |local clock − packet timestamp| accepted. Defaults to 60,000 ms. */
  skewMs?: number;
  /** Old epoch keys still open packets this long after a key switch. Defaults to 60,000 ms. */
  previousKeyLifetimeMs?: number;
}

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

interface Outgoing<T> extends Waiting<T> {
  readonly plaintexts: Buffer[];
  readonly type: MessageType;
  tries: number;
  timer?: TimerHandle;
  readonly parts: Array<Buffer | undefined>;
  received: number;
}

/** What `on(...)` reports: rotations and the end of the session. No key material ever. */
export interface ClientEvents {
  portRotated: [{ port: number }];
  keyRotated: [{ epoch: number }];
  serverError: [{ code: number; text: string }];
  closed: [{ reason: string }];
}

export class ClawChatClient extends EventEmitter<ClientEvents> {
  private readonly clock: Clock;
  private readonly socket: Socket;
  private readonly handshakeKey: Buffer;
  private readonly sharedSecret: Buffer;
  private readonly host: string;
  private homePort: number;
  private port = 0;
  private sessionId = Buffer.alloc(8);
  private current?: EpochKeys;
  private previous?: EpochKeys;
  private previousTimer?: TimerHandle;
  private upcoming?: { epoch: number; offerKey: Buffer; accept: Buffer; keys: EpochKeys };
  private readonly chats = new Map<string, Outgoing<string>>();
  private readonly files = new Map<string, Outgoing<{ status: number; reason: string }>>();
  private readonly pings = new Map<string, Waiting<number> & { sentAt: number }>();
  private presenceWaiters: Array<Waiting<{ status: PresenceName; note: string }>> = [];
  private compromise?: Waiting<CompromisedAck> & { datagram: Buffer; macKey: Buffer; timer?: TimerHandle; tries: number };
  private handledRotations = new Set<number>();
  private portSwitchTimer?: TimerHandle;
  private keepaliveTimer?: TimerHandle;
  private closedReason?: string;
  private readonly timers = new Set<TimerHandle>();

  private constructor(
    readonly content: SecurityFileContent,
    private readonly options: ClientOptions,
  ) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.sharedSecret = Buffer.from(content.shared_secret, "base64");
    this.handshakeKey = deriveHandshakeKey(this.sharedSecret);
    this.host = options.server?.host ?? content.server_public_ip;
    this.homePort = options.server?.port ?? content.server_udp_port;
    this.socket = createSocket({ type: isIPv6(this.host) ? "udp6" : "udp4" });
  }

  /** Decrypts the security file with the bootstrap key file (both must be mode 600), refuses an expired file, connects. */
  static async open(securityFile: string, bootstrapKeyFile: string, options: ClientOptions = {}): Promise<ClawChatClient> {
    const bootstrapKey = await readBootstrapKey(bootstrapKeyFile);
    const loaded = await loadSecurityFile(securityFile, bootstrapKey);
    wipe(bootstrapKey);
    checkValidity(loaded.content, (options.clock ?? new SystemClock()).now(), securityFile);
    return ClawChatClient.connect(loaded.content, { securityFilePath: securityFile, ...options });
  }

  /** Connects with already-decrypted security file content. Resolves once the server answered a first PING under the session keys. */
  static async connect(content: SecurityFileContent, options: ClientOptions = {}): Promise<ClawChatClient> {
    const client = new ClawChatClient(content, options);
    try {
      await client.handshake();
      return client;
    } catch (error) {
      await client.shutdown("handshake_failed");
      throw error;
    }
  }

  get connectionId(): string {
    return connectionIdOf(this.sessionId);
  }

  get dataPort(): number {
    return this.port;
  }

  get epoch(): number {
    return this.current?.epoch ?? -1;
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  /* ------------------------------------------------------------ setup */

  private arm(callback: () => void, delayMs: number): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(handle);
      callback();
    }, delayMs);
    this.timers.add(handle);
    return handle;
  }

  private disarm(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.clock.clearTimeout(handle);
    this.timers.delete(handle);
  }

  private async handshake(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once("error", reject);
      this.socket.bind(0, () => {
        this.socket.off("error", reject);
        resolve();
      });
    });
    this.socket.on("message", (datagram) => this.onDatagram(datagram));
    this.socket.on("error", () => undefined);
    const ephemeral = generateEphemeralKey();
    const attempts = this.options.handshakeAttempts ?? 5;
    const welcome = await new Promise<{ packet: PacketView; plaintext: Buffer; hello: { timestampMs: number } }>((resolve, reject) => {
      const sent = new Map<string, number>();
      let tries = 0;
      let timer: TimerHandle | undefined;
      const sendHello = (): void => {
        if (tries++ >= attempts) {
          this.socket.off("message", onWelcome);
          return reject(new Error(`no answer from ${this.host}:${this.homePort} after ${attempts} HELLOs: wrong address or port, firewall, or a security file the server no longer accepts`));
        }
        const messageId = randomBytes(16);
        const now = this.clock.now();
        sent.set(messageId.toString("latin1"), now);
        this.socket.send(sealHandshake(this.handshakeKey, messageId, now, MessageType.hello, ephemeral.publicKey), this.homePort, this.host);
        timer = this.arm(sendHello, this.options.handshakeRetryMs ?? 2_000);
      };
      const onWelcome = (datagram: Buffer): void => {
        const packet = parsePacket(datagram);
        if (typeof packet === "string" || packet.type !== MessageType.welcome) return;
        const helloTime = sent.get(packet.messageId.toString("latin1"));
        if (helloTime === undefined) return;
        const plaintext = openPacket(this.handshakeKey, packet);
        if (!plaintext) return;
        this.disarm(timer);
        this.socket.off("message", onWelcome);
        resolve({ packet, plaintext, hello: { timestampMs: helloTime } });
      };
      this.socket.on("message", onWelcome);
      sendHello();
    });
    const decoded = decodeWelcome(welcome.plaintext);
    if (!decoded) throw new Error("malformed WELCOME from the server");
    if (decoded.status === WelcomeStatus.serverFull) throw new Error("the server refused the session: it is full (too many concurrent sessions); try again later");
    if (decoded.status !== WelcomeStatus.accepted) throw new Error(`the server refused the session (status ${decoded.status})`);
    const dh = x25519(ephemeral, decoded.publicKey);
    if (!dh) throw new Error("the server sent an invalid X25519 public key");
    this.sessionId = Buffer.from(decoded.sessionId);
    const keys = deriveSessionKeys({ sharedSecret: this.sharedSecret, seed: this.sharedSecret, dh, connectionId: this.connectionId, timestampMs: welcome.hello.timestampMs });
    wipe(dh);
    this.current = new EpochKeys(0, keys, Direction.clientToServer);
    this.port = decoded.dataPort;
    await this.ping();
    this.scheduleKeepalive();
  }

  private scheduleKeepalive(): void {
    this.keepaliveTimer = this.arm(() => {
      if (!this.isOpen) return;
      this.ping().catch(() => undefined);
      this.scheduleKeepalive();
    }, this.options.keepaliveMs ?? 15_000);
  }

  /* ------------------------------------------------------------ send */

  private send(type: MessageType, plaintext: Buffer): void {
    if (!this.current || !this.isOpen) throw new Error(`the ClawChat session is closed (${this.closedReason ?? "not connected"})`);
    this.socket.send(this.current.seal(this.sessionId, this.clock.now(), type, plaintext), this.port, this.host);
  }

  /** Sends a chat message and resolves with the server's answer (the OpenClaw assistant's reply). */
  chat(text: string): Promise<string> {
    const id = randomId();
    const plaintexts = splitIntoChunks(id, Buffer.from(text, "utf8")).map(encodeChatPart);
    return this.request(this.chats, id, MessageType.chat, plaintexts);
  }

  /** Sends a file (≤ the server's limit, 1 MiB by default); resolves with the server's verdict. */
  sendFile(name: string, data: Buffer): Promise<{ status: number; reason: string }> {
    const id = randomId();
    const plaintexts = splitIntoChunks(id, data).map((chunk) => encodeFileChunk(chunk, name));
    return this.request(this.files, id, MessageType.fileTransfer, plaintexts);
  }

  private request<T>(table: Map<string, Outgoing<T>>, id: Buffer, type: MessageType, plaintexts: Buffer[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = id.toString("latin1");
      const outgoing: Outgoing<T> = { resolve, reject, plaintexts, type, tries: 0, parts: [], received: 0 };
      table.set(key, outgoing);
      const transmit = (): void => {
        if (!table.has(key)) return;
        if (outgoing.tries++ > (this.options.retransmits ?? 20)) {
          table.delete(key);
          return reject(new Error("no answer from the server"));
        }
        try {
          for (const plaintext of plaintexts) this.send(type, plaintext);
        } catch (error) {
          table.delete(key);
          return reject(error as Error);
        }
        outgoing.timer = this.arm(transmit, this.options.retransmitMs ?? 3_000);
      };
      transmit();
    });
  }

  /** Tells the server our presence; resolves with the server's own presence. `offline` ends the session. */
  setPresence(status: PresenceName, note = ""): Promise<{ status: PresenceName; note: string }> {
    return new Promise((resolve, reject) => {
      this.presenceWaiters.push({ resolve, reject });
      try {
        this.send(MessageType.presence, encodePresence(status, note));
      } catch (error) {
        reject(error as Error);
      }
    });
  }

  /** Round trip of a keepalive PING, in clock milliseconds. */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      const id = randomId();
      const key = id.toString("latin1");
      this.pings.set(key, { resolve, reject, sentAt: this.clock.now() });
      try {
        this.send(MessageType.ping, id);
      } catch (error) {
        this.pings.delete(key);
        reject(error as Error);
      }
    });
  }

  /** Asks the server to rotate the session keys now (it initiates; §5.4). */
  requestKeyRotation(): void {
    this.send(MessageType.keyRotation, encodeKeyRotation({ op: "request" }));
  }

  /**
   * §8: sends the signed compromised signal (repeating the same datagram every
   * second until acknowledged or `response_timeout` passes), then deletes the
   * session keys and the local security file and closes the socket, with or
   * without an acknowledgement (fail secure).
   */
  reportCompromised(reason = "user_initiated"): Promise<CompromisedAck> {
    const current = this.current;
    if (!current || !this.isOpen) return Promise.reject(new Error("the ClawChat session is closed"));
    const unsigned: Omit<CompromisedSignal, "signature"> = {
      type: "compromised",
      version: "2.0",
      signal: "CLAWCHAT_COMPROMISED_V2",
      timestamp: Math.floor(this.clock.now() / 1000),
      connection_id: this.connectionId,
      reason,
    };
    const signal: CompromisedSignal = { ...unsigned, signature: signFields(current.keys.macKey, signalSignatureFields(unsigned)) };
    const datagram = current.seal(this.sessionId, this.clock.now(), MessageType.compromised, Buffer.from(JSON.stringify(signal), "utf8"));
    const timeoutMs = this.content.compromised_protocol.response_timeout * 1000;
    return new Promise((resolve, reject) => {
      this.compromise = { resolve, reject, datagram, macKey: Buffer.from(current.keys.macKey), tries: 0 };
      const repeat = (): void => {
        const pending = this.compromise;
        if (!pending) return;
        if (pending.tries * 1000 >= timeoutMs) {
          this.compromise = undefined;
          void this.destroyLocalSecrets("compromised_unacknowledged").then(() =>
            reject(new Error(`no acknowledgement within ${timeoutMs / 1000} s: local keys and security file deleted anyway; tell the server operator`)),
          );
          return;
        }
        pending.tries++;
        this.socket.send(datagram, this.port, this.host);
        pending.timer = this.arm(repeat, 1_000);
      };
      repeat();
    });
  }

  /** Ends the session cleanly: presence `offline` tells the server to drop it, then the socket closes. */
  async close(): Promise<void> {
    if (!this.isOpen) return;
    const current = this.current;
    if (current) {
      const datagram = current.seal(this.sessionId, this.clock.now(), MessageType.presence, encodePresence("offline"));
      await new Promise<void>((resolve) => this.socket.send(datagram, this.port, this.host, () => resolve()));
    }
    await this.shutdown("closed");
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const handle of this.timers) this.clock.clearTimeout(handle);
    this.timers.clear();
    this.current?.destroy();
    this.previous?.destroy();
    this.upcoming?.keys.destroy();
    wipe(this.sharedSecret, this.handshakeKey);
    const error = new Error(`the ClawChat session is closed (${reason})`);
    for (const table of [this.chats, this.files, this.pings] as Array<Map<string, Waiting<never>>>) {
      for (const waiting of table.values()) waiting.reject(error);
      table.clear();
    }
    for (const waiting of this.presenceWaiters) waiting.reject(error);
    this.presenceWaiters = [];
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    this.emit("closed", { reason });
  }

  private async destroyLocalSecrets(reason: string): Promise<void> {
    if (this.options.securityFilePath) await fs.rm(this.options.securityFilePath, { force: true });
    await this.shutdown(reason);
  }

  /* ------------------------------------------------------------ receive */

  private onDatagram(datagram: Buffer): void {
    if (!this.current || !this.isOpen) return;
    const packet = parsePacket(datagram);
    if (typeof packet === "string" || packet.type === MessageType.hello || packet.type === MessageType.welcome) return;
    if (Math.abs(this.clock.now() - packet.timestampMs) > (this.options.skewMs ?? 60_000)) return;
    if (!packet.messageId.subarray(0, 8).equals(this.sessionId)) return;
    const epoch = packet.messageId.readUInt16BE(8);
    let keys: EpochKeys | undefined;
    if (epoch === this.current.epoch) keys = this.current;
    else if (epoch === this.previous?.epoch) keys = this.previous;
    else if (epoch === this.upcoming?.epoch) keys = this.upcoming.keys;
    if (!keys) return;
    const plaintext = keys.open(packet);
    if (typeof plaintext === "string") return;
    if (keys === this.upcoming?.keys) this.promoteUpcoming();
    this.dispatch(keys, packet, plaintext);
  }

  /** The server sent under the new epoch (its CONFIRM or anything after): switch sending to it. */
  private promoteUpcoming(): void {
    const upcoming = this.upcoming;
    if (!upcoming || !this.current) return;
    this.upcoming = undefined;
    wipe(upcoming.offerKey);
    this.disarm(this.previousTimer);
    this.previous?.destroy();
    const retired = this.current;
    this.previous = retired;
    this.previousTimer = this.arm(() => {
      if (this.previous === retired) this.previous = undefined;
      retired.destroy();
    }, this.options.previousKeyLifetimeMs ?? 60_000);
    this.current = upcoming.keys;
    this.emit("keyRotated", { epoch: upcoming.epoch });
  }

  private dispatch(keys: EpochKeys, packet: PacketView, plaintext: Buffer): void {
    switch (packet.type) {
      case MessageType.chat: {
        const chunk = decodeChatPart(plaintext);
        if (chunk) this.collectAnswer(this.chats, chunk.id, chunk.index, chunk.count, chunk.data, (parts) => Buffer.concat(parts).toString("utf8"));
        return;
      }
      case MessageType.fileTransfer: {
        const message = decodeFileMessage(plaintext);
        if (message?.op === "result") {
          this.collectAnswer(this.files, message.id, 0, 1, plaintext, () => ({ status: message.status, reason: message.reason }));
        }
        return;
      }
      case MessageType.presence: {
        const presence = decodePresence(plaintext);
        if (presence) this.presenceWaiters.shift()?.resolve(presence);
        return;
      }
      case MessageType.keyRotation:
        return this.onKeyRotation(plaintext);
      case MessageType.portRotation:
        return this.onPortRotation(plaintext);
      case MessageType.error: {
        const error = decodeError(plaintext);
        if (!error) return;
        const key = error.reference.toString("latin1");
        const waiting = this.chats.get(key) ?? this.files.get(key);
        if (waiting) {
          this.chats.delete(key);
          this.files.delete(key);
          this.disarm(waiting.timer);
          waiting.reject(new Error(`server error ${error.code}: ${error.text}`));
          return;
        }
        this.emit("serverError", { code: error.code, text: error.text });
        if (error.code === 3) void this.shutdown("terminated_by_server");
        return;
      }
      case MessageType.ping:
        // The client has no data port to report: 0 (docs §6.5).
        if (plaintext.length === 8) this.send(MessageType.pong, encodePong(plaintext, 0));
        return;
      case MessageType.pong: {
        if (plaintext.length !== 10) return;
        const waiting = this.pings.get(plaintext.toString("latin1", 0, 8));
        if (waiting) {
          this.pings.delete(plaintext.toString("latin1", 0, 8));
          waiting.resolve(this.clock.now() - waiting.sentAt);
        }
        const port = plaintext.readUInt16BE(8);
        if (port !== this.port && !this.portSwitchTimer) this.switchPort(port);
        return;
      }
      case MessageType.compromisedAck:
        return this.onCompromisedAck(plaintext);
      case MessageType.compromised:
      case MessageType.hello:
      case MessageType.welcome:
        return;
      default: {
        const unreachable: never = packet.type;
        return void unreachable;
      }
    }
    void keys;
  }

  private collectAnswer<T>(table: Map<string, Outgoing<T>>, id: Buffer, index: number, count: number, data: Buffer, finish: (parts: Buffer[]) => T): void {
    const key = id.toString("latin1");
    const outgoing = table.get(key);
    if (!outgoing) return;
    if (outgoing.parts.length === 0) outgoing.parts.length = count;
    if (outgoing.parts.length !== count || outgoing.parts[index] !== undefined) return;
    outgoing.parts[index] = Buffer.from(data);
    outgoing.received++;
    if (outgoing.received < count) return;
    table.delete(key);
    this.disarm(outgoing.timer);
    outgoing.resolve(finish(outgoing.parts as Buffer[]));
  }

  private onKeyRotation(plaintext: Buffer): void {
    const message = decodeKeyRotation(plaintext);
    const current = this.current;
    if (!message || !current || message.op !== "offer") return;
    if (this.upcoming && this.upcoming.epoch === message.epoch) {
      // The server repeats its OFFER: our ACCEPT was lost. Answer with the same ACCEPT.
      if (this.upcoming.offerKey.equals(message.publicKey)) this.send(MessageType.keyRotation, this.upcoming.accept);
      return;
    }
    if (message.epoch !== ((current.epoch + 1) & 0xffff)) return;
    const ephemeral = generateEphemeralKey();
    const dh = x25519(ephemeral, message.publicKey);
    if (!dh) return;
    const keys = deriveSessionKeys({ sharedSecret: this.sharedSecret, seed: current.keys.nextKeySeed, dh, connectionId: this.connectionId, timestampMs: message.timestampMs });
    wipe(dh);
    this.upcoming?.keys.destroy();
    const accept = encodeKeyRotation({ op: "accept", epoch: message.epoch, publicKey: ephemeral.publicKey });
    this.upcoming = { epoch: message.epoch, offerKey: Buffer.from(message.publicKey), accept, keys: new EpochKeys(message.epoch, keys, Direction.clientToServer) };
    this.send(MessageType.keyRotation, accept);
  }

  private onPortRotation(plaintext: Buffer): void {
    const message = decodePortRotation(plaintext);
    if (message?.op !== "announce") return;
    this.send(MessageType.portRotation, encodePortRotation({ op: "ack", rotationId: message.rotationId }));
    if (this.handledRotations.has(message.rotationId)) return;
    this.handledRotations.add(message.rotationId);
    this.disarm(this.portSwitchTimer);
    if (message.switchInMs === 0) return this.switchPort(message.port);
    this.portSwitchTimer = this.arm(() => this.switchPort(message.port), message.switchInMs);
  }

  private switchPort(port: number): void {
    this.portSwitchTimer = undefined;
    if (port === this.port) return;
    this.port = port;
    this.emit("portRotated", { port });
  }

  private onCompromisedAck(plaintext: Buffer): void {
    const pending = this.compromise;
    const body = parseJsonObject(plaintext);
    if (!pending || !body) return;
    if (body.type !== "compromised_ack" || body.connection_id !== this.connectionId || body.action !== "keys_deleted" || typeof body.timestamp !== "number" || typeof body.new_file_ready !== "boolean" || typeof body.signature !== "string") return;
    const unsigned: Omit<CompromisedAck, "signature"> = { type: "compromised_ack", version: "2.0", timestamp: body.timestamp, connection_id: this.connectionId, action: "keys_deleted", new_file_ready: body.new_file_ready };
    const expected = Buffer.from(signFields(pending.macKey, ackSignatureFields(unsigned)), "utf8");
    const given = Buffer.from(body.signature, "utf8");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return;
    this.compromise = undefined;
    this.disarm(pending.timer);
    wipe(pending.macKey);
    void this.destroyLocalSecrets("compromised").then(() => pending.resolve({ ...unsigned, signature: body.signature as string }));
  }
}

/** Reads the CLI's `--server host:port` override. */
export function parseServerOverride(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError("server", `\`--server\` must be <host>:<port> (IPv6 as [addr]:port); got ${JSON.stringify(value)}`);
  }
  return { host: match[1] as string, port };
}
