/**
 * The ClawChat client library (`clawchat connect`): decrypts a security file,
 * runs the handshake (`client-handshake.ts`), sends and receives chat, files
 * and presence (`client-requests.ts`), follows port and key rotation without the
 * caller noticing (`client-rotation.ts`), and can raise the compromised signal
 * (`client-compromised.ts`). One UDP socket per client.
 */
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import { isIPv6 } from "node:net";
import { ClientCompromise } from "./client-compromised";
import { dispatchToClient, type ClientHandlers } from "./client-dispatch";
import { runHandshake } from "./client-handshake";
import { Keepalive } from "./client-keepalive";
import type { ClientEvents, ClientOptions } from "./client-options";
import { Requests } from "./client-requests";
import { ClientRotation } from "./client-rotation";
import { SystemClock, TimerSet, type Clock } from "./clock";
import { encodeKeyRotation, type CompromisedAck } from "./control-messages";
import { connectionIdOf, deriveHandshakeKey, wipe } from "./keys";
import { ErrorCode, encodeChatParts, encodeFileChunk, encodePresence, splitIntoChunks, type PresenceName } from "./messages";
import { randomId } from "./random-ids";
import { loadSecurityFile, readBootstrapKey } from "./security-dir";
import { checkValidity, type SecurityFileContent } from "./security-file";
import { AckKind, DEFAULT_TRANSFER } from "./transfer";
import { MessageType, parsePacket } from "./wire";

export { parseServerOverride, type ClientEvents, type ClientOptions } from "./client-options";

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export class ClawChatClient extends EventEmitter<ClientEvents> {
  private readonly clock: Clock;
  private readonly socket: Socket;
  private readonly handshakeKey: Buffer;
  private readonly sharedSecret: Buffer;
  private readonly host: string;
  private readonly homePort: number;
  private sessionId: Buffer = Buffer.alloc(8);
  private readonly rotation: ClientRotation;
  private readonly requests: Requests;
  private readonly keepalive: Keepalive;
  private presenceWaiters: Array<Waiting<{ status: PresenceName; note: string }>> = [];
  private compromise?: ClientCompromise;
  private closedReason?: string;
  private readonly timers: TimerSet;
  private readonly handlers: ClientHandlers;

  private constructor(
    readonly content: SecurityFileContent,
    private readonly options: ClientOptions,
  ) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.timers = new TimerSet(this.clock);
    this.sharedSecret = Buffer.from(content.shared_secret, "base64");
    this.handshakeKey = deriveHandshakeKey(this.sharedSecret);
    this.host = options.server?.host ?? content.server_public_ip;
    this.homePort = options.server?.port ?? content.server_udp_port;
    this.socket = createSocket({ type: isIPv6(this.host) ? "udp6" : "udp4", recvBufferSize: options.recvBufferBytes ?? 4 * 1024 * 1024 });
    const io = { clock: this.clock, send: (type: MessageType, plaintext: Buffer) => this.send(type, plaintext), arm: (callback: () => void, delayMs: number) => this.timers.arm(callback, delayMs) };
    this.rotation = new ClientRotation({
      ...io,
      sharedSecret: this.sharedSecret,
      connectionId: () => this.connectionId,
      previousKeyLifetimeMs: options.previousKeyLifetimeMs ?? 60_000,
      disarm: (handle) => this.timers.disarm(handle),
      keyRotated: (epoch) => this.emit("keyRotated", { epoch }),
      portRotated: (port) => this.emit("portRotated", { port }),
    });
    this.keepalive = new Keepalive({ ...io, isOpen: () => this.isOpen });
    this.requests = new Requests({
      ...io,
      transfer: { ...DEFAULT_TRANSFER, ...options.transfer },
      retransmitMs: options.retransmitMs ?? 3_000,
      retransmits: options.retransmits ?? 20,
      isOpen: () => this.isOpen,
    });
    this.handlers = {
      requests: this.requests,
      rotation: this.rotation,
      keepalive: this.keepalive,
      send: (type, plaintext) => this.send(type, plaintext),
      presence: (presence) => this.presenceWaiters.shift()?.resolve(presence),
      compromiseAck: (plaintext) => this.compromise?.onAck(plaintext),
      serverError: (code, text) => {
        this.emit("serverError", { code, text });
        if (code === ErrorCode.sessionTerminated) void this.shutdown("terminated_by_server");
      },
    };
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
    return this.rotation.port;
  }

  /** The local UDP port (for operators and the benchmark's kernel drop count). */
  get localPort(): number {
    return this.socket.address().port;
  }

  get epoch(): number {
    return this.rotation.current?.epoch ?? -1;
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
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
    const established = await runHandshake({
      socket: this.socket,
      clock: this.clock,
      sharedSecret: this.sharedSecret,
      handshakeKey: this.handshakeKey,
      host: this.host,
      homePort: this.homePort,
      attempts: this.options.handshakeAttempts ?? 5,
      retryMs: this.options.handshakeRetryMs ?? 2_000,
      arm: (callback, delayMs) => this.timers.arm(callback, delayMs),
      disarm: (handle) => this.timers.disarm(handle),
    });
    this.sessionId = established.sessionId;
    this.rotation.current = established.keys;
    this.rotation.port = established.dataPort;
    await this.ping();
    this.keepalive.schedule(this.options.keepaliveMs ?? 15_000);
  }

  /* ------------------------------------------------------------ send */

  private send(type: MessageType, plaintext: Buffer): void {
    const current = this.rotation.current;
    if (!current || !this.isOpen) throw new Error(`the ClawChat session is closed (${this.closedReason ?? "not connected"})`);
    this.socket.send(current.seal(this.sessionId, this.clock.now(), type, plaintext), this.rotation.port, this.host);
  }

  /** Sends a chat message and resolves with the server's answer (the OpenClaw assistant's reply). */
  chat(text: string): Promise<string> {
    const id = randomId();
    return this.requests.start(AckKind.chat, MessageType.chat, id, encodeChatParts(id, text));
  }

  /** Sends a file (≤ the server's limit, 1 MiB by default); resolves with the server's verdict. */
  sendFile(name: string, data: Buffer): Promise<{ status: number; reason: string }> {
    const id = randomId();
    return this.requests.start(AckKind.file, MessageType.fileTransfer, id, splitIntoChunks(id, data).map((chunk) => encodeFileChunk(chunk, name)));
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
    return this.keepalive.ping();
  }

  /** Asks the server to rotate the session keys now (it initiates; §5.4). */
  requestKeyRotation(): void {
    this.send(MessageType.keyRotation, encodeKeyRotation({ op: "request" }));
  }

  /**
   * §8: sends the signed compromised signal (repeating it every second until
   * acknowledged or `response_timeout` passes), then deletes the session keys
   * and the local security file and closes the socket, with or without an
   * acknowledgement (fail secure).
   */
  reportCompromised(reason = "user_initiated"): Promise<CompromisedAck> {
    const current = this.rotation.current;
    if (!current || !this.isOpen) return Promise.reject(new Error("the ClawChat session is closed"));
    this.compromise = new ClientCompromise(
      {
        sessionId: this.sessionId,
        connectionId: this.connectionId,
        timeoutMs: this.content.compromised_protocol.response_timeout * 1000,
        now: () => this.clock.now(),
        transmit: (datagram) => this.socket.send(datagram, this.rotation.port, this.host),
        arm: (callback, delayMs) => this.timers.arm(callback, delayMs),
        disarm: (handle) => this.timers.disarm(handle),
        destroyLocalSecrets: async (why) => {
          if (this.options.securityFilePath) await fs.rm(this.options.securityFilePath, { force: true });
          await this.shutdown(why);
        },
      },
      current,
      reason,
    );
    return this.compromise.done;
  }

  /** Ends the session cleanly: presence `offline` tells the server to drop it, then the socket closes. */
  async close(): Promise<void> {
    if (!this.isOpen) return;
    const current = this.rotation.current;
    if (current) {
      const datagram = current.seal(this.sessionId, this.clock.now(), MessageType.presence, encodePresence("offline"));
      await new Promise<void>((resolve) => this.socket.send(datagram, this.rotation.port, this.host, () => resolve()));
    }
    await this.shutdown("closed");
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.timers.clear();
    this.rotation.destroy();
    wipe(this.sharedSecret, this.handshakeKey);
    const error = new Error(`the ClawChat session is closed (${reason})`);
    this.requests.rejectAll(error);
    this.keepalive.rejectAll(error);
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

  /* ------------------------------------------------------------ receive */

  private onDatagram(datagram: Buffer): void {
    if (!this.rotation.current || !this.isOpen) return;
    const packet = parsePacket(datagram);
    if (typeof packet === "string" || packet.type === MessageType.hello || packet.type === MessageType.welcome) return;
    if (Math.abs(this.clock.now() - packet.timestampMs) > (this.options.skewMs ?? 60_000)) return;
    if (!isOurSession(datagram, this.sessionId)) return;
    const keys = this.rotation.keysFor(datagram.readUInt16BE(9));
    if (!keys) return;
    const plaintext = keys.open(packet);
    if (typeof plaintext === "string") return;
    this.rotation.opened(keys);
    dispatchToClient(this.handlers, packet.type, plaintext);
  }
}

/** Whether the datagram's message ID starts with our session ID (offsets 1-8, §3.1). */
function isOurSession(datagram: Buffer, sessionId: Buffer): boolean {
  for (let i = 0; i < 8; i++) if (datagram[1 + i] !== sessionId[i]) return false;
  return true;
}
