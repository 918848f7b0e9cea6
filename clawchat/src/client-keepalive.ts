/**
 * Keepalive (protocol §6.5): a PING every 15 s keeps NAT mappings open and
 * measures the round trip; the PONG names the server's current data port.
 */
import type { Clock, TimerHandle } from "./clock";
import { randomId } from "./random-ids";
import { MessageType } from "./wire";

export interface KeepaliveIo {
  readonly clock: Clock;
  send(type: MessageType, plaintext: Buffer): void;
  arm(callback: () => void, delayMs: number): TimerHandle;
  isOpen(): boolean;
}

export class Keepalive {
  private readonly waiting = new Map<string, { resolve(ms: number): void; reject(error: Error): void; sentAt: number }>();

  constructor(private readonly io: KeepaliveIo) {}

  /** Round trip of one PING, in clock milliseconds. */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      const id = randomId();
      const key = id.toString("latin1");
      this.waiting.set(key, { resolve, reject, sentAt: this.io.clock.now() });
      try {
        this.io.send(MessageType.ping, id);
      } catch (error) {
        this.waiting.delete(key);
        reject(error as Error);
      }
    });
  }

  /** Pings every `everyMs` while the session is open. */
  schedule(everyMs: number): void {
    this.io.arm(() => {
      if (!this.io.isOpen()) return;
      this.ping().catch(() => undefined);
      this.schedule(everyMs);
    }, everyMs);
  }

  /** A PONG: resolves its PING; returns the data port it names (undefined when malformed). */
  onPong(plaintext: Buffer): number | undefined {
    if (plaintext.length !== 10) return undefined;
    const id = plaintext.toString("latin1", 0, 8);
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    waiting?.resolve(this.io.clock.now() - waiting.sentAt);
    return plaintext.readUInt16BE(8);
  }

  rejectAll(error: Error): void {
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
  }
}
