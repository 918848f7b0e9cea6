/**
 * The compromised protocol on the client (protocol §9): the signed signal,
 * repeated every second until the signed acknowledgement arrives or
 * `response_timeout` passes; either way the caller then deletes its keys and file.
 */
import { timingSafeEqual } from "node:crypto";
import type { EpochKeys } from "./channel";
import type { TimerHandle } from "./clock";
import { signFields, wipe } from "./keys";
import { ackSignatureFields, parseJsonObject, signalSignatureFields, type CompromisedAck, type CompromisedSignal } from "./control-messages";
import { MessageType } from "./wire";

export interface CompromiseIo {
  readonly sessionId: Buffer;
  readonly connectionId: string;
  readonly timeoutMs: number;
  now(): number;
  transmit(datagram: Buffer): void;
  arm(callback: () => void, delayMs: number): TimerHandle;
  disarm(handle: TimerHandle | undefined): void;
  /** Deletes the local keys and security file; `reason` ends the session. */
  destroyLocalSecrets(reason: string): Promise<void>;
}

export class ClientCompromise {
  private timer?: TimerHandle;
  private tries = 0;
  private settled = false;
  private resolve!: (ack: CompromisedAck) => void;
  private reject!: (error: Error) => void;
  private readonly macKey: Buffer;
  readonly done: Promise<CompromisedAck>;

  constructor(
    private readonly io: CompromiseIo,
    current: EpochKeys,
    reason: string,
  ) {
    this.macKey = Buffer.from(current.keys.macKey);
    const unsigned: Omit<CompromisedSignal, "signature"> = {
      type: "compromised",
      version: "2.0",
      signal: "CLAWCHAT_COMPROMISED_V2",
      timestamp: Math.floor(io.now() / 1000),
      connection_id: io.connectionId,
      reason,
    };
    const signal: CompromisedSignal = { ...unsigned, signature: signFields(this.macKey, signalSignatureFields(unsigned)) };
    const datagram = current.seal(io.sessionId, io.now(), MessageType.compromised, Buffer.from(JSON.stringify(signal), "utf8"));
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const repeat = (): void => {
      if (this.settled) return;
      if (this.tries * 1000 >= io.timeoutMs) {
        this.settled = true;
        void io.destroyLocalSecrets("compromised_unacknowledged").then(() =>
          this.reject(new Error(`no acknowledgement within ${io.timeoutMs / 1000} s: local keys and security file deleted anyway; tell the server operator`)),
        );
        return;
      }
      this.tries++;
      io.transmit(datagram);
      this.timer = io.arm(repeat, 1_000);
    };
    repeat();
  }

  /** A COMPROMISED_ACK: accepted only with the right fields and signature. */
  onAck(plaintext: Buffer): void {
    const body = parseJsonObject(plaintext);
    if (this.settled || !body) return;
    if (body.type !== "compromised_ack" || body.connection_id !== this.io.connectionId || body.action !== "keys_deleted" || typeof body.timestamp !== "number" || typeof body.new_file_ready !== "boolean" || typeof body.signature !== "string") return;
    const unsigned: Omit<CompromisedAck, "signature"> = { type: "compromised_ack", version: "2.0", timestamp: body.timestamp, connection_id: this.io.connectionId, action: "keys_deleted", new_file_ready: body.new_file_ready };
    const expected = Buffer.from(signFields(this.macKey, ackSignatureFields(unsigned)), "utf8");
    const given = Buffer.from(body.signature, "utf8");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return;
    this.settled = true;
    this.io.disarm(this.timer);
    wipe(this.macKey);
    const signature = body.signature;
    void this.io.destroyLocalSecrets("compromised").then(() => this.resolve({ ...unsigned, signature }));
  }
}
