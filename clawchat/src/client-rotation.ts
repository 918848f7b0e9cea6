/**
 * Key and port rotation as the client follows them (protocol §7, §8): ACCEPT
 * an OFFER with a fresh X25519 key, switch sending to the new epoch once the
 * server uses it, keep the old epoch receive-only for a while; acknowledge port
 * announcements and switch at the announced time.
 */
import { EpochKeys } from "./channel";
import type { Clock, TimerHandle } from "./clock";
import { deriveSessionKeys, Direction, generateEphemeralKey, wipe, x25519 } from "./keys";
import { decodeKeyRotation, decodePortRotation, encodeKeyRotation, encodePortRotation } from "./control-messages";
import { MessageType } from "./wire";

export interface RotationIo {
  readonly clock: Clock;
  readonly sharedSecret: Buffer;
  readonly connectionId: () => string;
  readonly previousKeyLifetimeMs: number;
  send(type: MessageType, plaintext: Buffer): void;
  arm(callback: () => void, delayMs: number): TimerHandle;
  disarm(handle: TimerHandle | undefined): void;
  keyRotated(epoch: number): void;
  portRotated(port: number): void;
}

export class ClientRotation {
  current?: EpochKeys;
  previous?: EpochKeys;
  port = 0;
  private previousTimer?: TimerHandle;
  private upcoming?: { epoch: number; offerKey: Buffer; accept: Buffer; keys: EpochKeys };
  private readonly handledRotations = new Set<number>();
  private portSwitchTimer?: TimerHandle;

  constructor(private readonly io: RotationIo) {}

  /** The keys that open a packet of `epoch`, if any. */
  keysFor(epoch: number): EpochKeys | undefined {
    if (epoch === this.current?.epoch) return this.current;
    if (epoch === this.previous?.epoch) return this.previous;
    if (epoch === this.upcoming?.epoch) return this.upcoming.keys;
    return undefined;
  }

  /** A packet opened under `keys`: if they are the upcoming epoch's, the server switched; so do we. */
  opened(keys: EpochKeys): void {
    const upcoming = this.upcoming;
    if (!upcoming || keys !== upcoming.keys || !this.current) return;
    this.upcoming = undefined;
    wipe(upcoming.offerKey);
    this.io.disarm(this.previousTimer);
    this.previous?.destroy();
    const retired = this.current;
    this.previous = retired;
    this.previousTimer = this.io.arm(() => {
      if (this.previous === retired) this.previous = undefined;
      retired.destroy();
    }, this.io.previousKeyLifetimeMs);
    this.current = upcoming.keys;
    this.io.keyRotated(upcoming.epoch);
  }

  onKeyRotation(plaintext: Buffer): void {
    const message = decodeKeyRotation(plaintext);
    const current = this.current;
    if (!message || !current || message.op !== "offer") return;
    if (this.upcoming && this.upcoming.epoch === message.epoch) {
      // The server repeats its OFFER: our ACCEPT was lost. Answer with the same ACCEPT.
      if (this.upcoming.offerKey.equals(message.publicKey)) this.io.send(MessageType.keyRotation, this.upcoming.accept);
      return;
    }
    if (message.epoch !== ((current.epoch + 1) & 0xffff)) return;
    const ephemeral = generateEphemeralKey();
    const dh = x25519(ephemeral, message.publicKey);
    if (!dh) return;
    const keys = deriveSessionKeys({ sharedSecret: this.io.sharedSecret, seed: current.keys.nextKeySeed, dh, connectionId: this.io.connectionId(), timestampMs: message.timestampMs });
    wipe(dh);
    this.upcoming?.keys.destroy();
    const accept = encodeKeyRotation({ op: "accept", epoch: message.epoch, publicKey: ephemeral.publicKey });
    this.upcoming = { epoch: message.epoch, offerKey: Buffer.from(message.publicKey), accept, keys: new EpochKeys(message.epoch, keys, Direction.clientToServer) };
    this.io.send(MessageType.keyRotation, accept);
  }

  onPortRotation(plaintext: Buffer): void {
    const message = decodePortRotation(plaintext);
    if (message?.op !== "announce") return;
    this.io.send(MessageType.portRotation, encodePortRotation({ op: "ack", rotationId: message.rotationId }));
    if (this.handledRotations.has(message.rotationId)) return;
    this.handledRotations.add(message.rotationId);
    this.io.disarm(this.portSwitchTimer);
    if (message.switchInMs === 0) return this.switchPort(message.port);
    this.portSwitchTimer = this.io.arm(() => this.switchPort(message.port), message.switchInMs);
  }

  /** A PONG names the server's current data port: follow it unless an announced switch is pending. */
  onPongPort(port: number): void {
    if (port !== this.port && !this.portSwitchTimer) this.switchPort(port);
  }

  destroy(): void {
    this.current?.destroy();
    this.previous?.destroy();
    this.upcoming?.keys.destroy();
  }

  private switchPort(port: number): void {
    this.portSwitchTimer = undefined;
    if (port === this.port) return;
    this.port = port;
    this.io.portRotated(port);
  }
}
