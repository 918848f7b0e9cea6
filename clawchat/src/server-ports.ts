/**
 * The server's sockets and port rotation (protocol §2, §8): a fixed home port
 * for HELLOs, a data port drawn at random from the range, announced and
 * replaced every hour with both ports open during the grace period.
 */
import { randomInt } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { encodePortRotation } from "./control-messages";
import type { ServerContext, ServerSession } from "./server-session";
import { MessageType } from "./wire";

export interface DataSocket {
  readonly socket: Socket;
  readonly port: number;
}

export interface PortsOptions {
  readonly bind: string;
  readonly range: readonly [number, number];
  readonly onDatagram: (socket: Socket, datagram: Buffer, address: string, port: number) => void;
  readonly sessions: () => Iterable<ServerSession>;
  readonly rotateKeys: () => void;
  readonly isClosed: () => boolean;
}

export class Ports {
  home!: DataSocket;
  data!: DataSocket;
  previous?: DataSocket;
  next?: DataSocket;
  rotationId = 0;

  constructor(
    private readonly context: ServerContext,
    private readonly options: PortsOptions,
  ) {}

  /** Binds the home port and a first data port. */
  async open(homePort: number): Promise<void> {
    const home = await this.bind(homePort);
    this.home = { socket: home, port: home.address().port };
    this.data = await this.bindRandomPort();
  }

  /** Ports accepting session traffic: the data port, plus the announced or retiring one. */
  get dataPorts(): number[] {
    return [this.data, this.next, this.previous].filter((s): s is DataSocket => s !== undefined).map((s) => s.port);
  }

  isDataSocket(socket: Socket): boolean {
    return socket === this.data.socket || socket === this.previous?.socket || socket === this.next?.socket;
  }

  async close(): Promise<void> {
    for (const open of [this.home, this.data, this.previous, this.next]) if (open) await closeSocket(open.socket);
  }

  private async bind(port: number): Promise<Socket> {
    const address = this.options.bind;
    const socket = createSocket({ type: address.includes(":") ? "udp6" : "udp4", recvBufferSize: this.context.limits.recvBufferBytes });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.on("message", (datagram, remote) => this.options.onDatagram(socket, datagram, remote.address, remote.port));
    socket.on("error", (error) => this.context.logger.log("error", "socket_error", { reason: error.message }));
    return socket;
  }

  /** §7.3: up to 10 random ports from the range; the first that binds wins. */
  private async bindRandomPort(): Promise<DataSocket> {
    const [min, max] = this.options.range;
    const taken = new Set([this.home?.port, this.data?.port, this.previous?.port, this.next?.port]);
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

  scheduleAnnouncement(at: number): void {
    this.context.arm(() => {
      void this.announce(at).catch((error: unknown) => {
        this.context.logger.log("error", "port_rotation_failed", { reason: error instanceof Error ? error.message : "unknown" });
        this.scheduleAnnouncement(at + this.context.timers.portRotationIntervalMs);
      });
    }, at - this.context.clock.now());
  }

  /** §7.2 at T+3480: bind the new port, announce it to every session, rotate every session's keys. */
  private async announce(at: number): Promise<void> {
    const { clock, logger, timers } = this.context;
    const next = await this.bindRandomPort();
    if (this.options.isClosed()) return void (await closeSocket(next.socket));
    this.next = next;
    const rotationId = ++this.rotationId;
    const switchAt = at + timers.announceBeforeMs;
    logger.log("info", "port_rotation_announced", { rotation: rotationId, new_port: next.port, old_port: this.data.port });
    const announce = (): void => {
      const now = clock.now();
      for (const session of this.options.sessions()) {
        if (!session.established || session.acknowledgedRotation >= rotationId) continue;
        const switchInMs = Math.max(0, switchAt - now);
        this.context.send(session, MessageType.portRotation, encodePortRotation({ op: "announce", rotationId, port: next.port, switchInMs, graceMs: timers.graceMs }));
      }
      if (now < switchAt + timers.graceMs && rotationId === this.rotationId) this.context.arm(announce, timers.announceRetryMs);
    };
    announce();
    this.options.rotateKeys();
    this.context.arm(() => this.switchTo(next), switchAt - clock.now());
    this.scheduleAnnouncement(at + timers.portRotationIntervalMs);
  }

  private switchTo(next: DataSocket): void {
    const old = this.data;
    this.previous = old;
    this.data = next;
    this.next = undefined;
    this.context.logger.log("info", "port_rotated", { new_port: next.port, old_port: old.port, grace_ms: this.context.timers.graceMs });
    this.context.arm(() => {
      if (this.previous === old) this.previous = undefined;
      void closeSocket(old.socket);
      this.context.logger.log("info", "port_closed", { port: old.port });
    }, this.context.timers.graceMs);
  }
}

export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
