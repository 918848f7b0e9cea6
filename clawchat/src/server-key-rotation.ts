/**
 * In-band key rotation on the server (protocol §7): OFFER with a fresh X25519
 * key, derive the next epoch on ACCEPT, CONFIRM, and keep the previous epoch
 * receive-only for `previousKeyLifetimeMs`.
 */
import { EpochKeys } from "./channel";
import { deriveSessionKeys, Direction, generateEphemeralKey, wipe, x25519 } from "./keys";
import { decodeKeyRotation, encodeKeyRotation } from "./control-messages";
import type { ServerContext, ServerSession } from "./server-session";
import { MessageType } from "./wire";

export class KeyRotation {
  constructor(private readonly context: ServerContext) {}

  start(session: ServerSession): void {
    if (session.pending || session.terminated) return;
    session.pending = { epoch: (session.current.epoch + 1) & 0xffff, ephemeral: generateEphemeralKey(), timestampMs: this.context.clock.now(), tries: 0 };
    this.sendOffer(session);
  }

  /** Starts a rotation once the current epoch carried `rekeyBytes` (§7 trigger 1). */
  checkVolume(session: ServerSession): void {
    if (session.current.bytes >= this.context.timers.rekeyBytes && !session.pending && !session.terminated) this.start(session);
  }

  private sendOffer(session: ServerSession): void {
    const pending = session.pending;
    if (!pending || session.terminated) return;
    if (pending.tries >= this.context.timers.offerRetries) {
      session.pending = undefined;
      this.context.logger.log("warn", "key_rotation_failed", { session: session.connectionId, reason: "no_accept" });
      return;
    }
    pending.tries++;
    this.context.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "offer", epoch: pending.epoch, publicKey: pending.ephemeral.publicKey, timestampMs: pending.timestampMs }));
    pending.timer = this.context.arm(() => this.sendOffer(session), this.context.timers.offerRetryMs);
  }

  onMessage(session: ServerSession, plaintext: Buffer): void {
    const message = decodeKeyRotation(plaintext);
    if (!message) return this.context.drop("malformed", session.address);
    if (message.op === "request") return this.start(session);
    if (message.op !== "accept") return;
    if (message.epoch === session.current.epoch && session.previous) {
      // Our CONFIRM was lost: the client repeats its ACCEPT.
      return this.confirm(session);
    }
    const pending = session.pending;
    if (!pending || message.epoch !== pending.epoch) return;
    const dh = x25519(pending.ephemeral, message.publicKey);
    if (!dh) return this.context.drop("bad_public_key", session.address);
    const keys = deriveSessionKeys({ sharedSecret: session.sharedSecret, seed: session.current.keys.nextKeySeed, dh, connectionId: session.connectionId, timestampMs: pending.timestampMs });
    wipe(dh);
    this.context.disarm(pending.timer);
    session.pending = undefined;
    this.retire(session);
    session.current = new EpochKeys(pending.epoch, keys, Direction.serverToClient);
    session.lastConfirmAt = this.context.clock.now();
    this.confirm(session);
    this.context.logger.log("info", "key_rotated", { session: session.connectionId, epoch: pending.epoch });
  }

  /** A packet under the previous epoch: the client missed our CONFIRM; repeat it (at most once a second). */
  onPreviousEpoch(session: ServerSession): void {
    if (session.lastSeen - session.lastConfirmAt < 1000) return;
    session.lastConfirmAt = session.lastSeen;
    this.confirm(session);
  }

  private confirm(session: ServerSession): void {
    this.context.send(session, MessageType.keyRotation, encodeKeyRotation({ op: "confirm", epoch: session.current.epoch }));
  }

  /** Moves the current epoch to `previous` (receive only) and wipes it after its lifetime. */
  private retire(session: ServerSession): void {
    this.context.disarm(session.previousTimer);
    session.previous?.destroy();
    const retired = session.current;
    session.previous = retired;
    session.previousTimer = this.context.arm(() => {
      if (session.previous === retired) session.previous = undefined;
      retired.destroy();
    }, this.context.timers.previousKeyLifetimeMs);
  }

  /** Cancels a rotation in flight and wipes every epoch (the session ends). */
  end(session: ServerSession): void {
    this.context.disarm(session.pending?.timer);
    this.context.disarm(session.previousTimer);
    session.pending = undefined;
    session.current.destroy();
    session.previous?.destroy();
  }
}
