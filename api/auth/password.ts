/**
 * Password hashing with argon2id, behind a semaphore so at most
 * `concurrency` hashes (each `memoryKiB` of memory) run at once.
 */
import { randomBytes } from "node:crypto";
import argon2 from "argon2";
import type { ApiConfig } from "../config";
import { Semaphore } from "./semaphore";

export class PasswordHasher {
  private readonly semaphore: Semaphore;
  /** A hash of a random password, verified against when the account does not exist (same timing). */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: ApiConfig["passwordHashing"]) {
    this.semaphore = new Semaphore(options.concurrency);
  }

  hash(password: string): Promise<string> {
    return this.semaphore.run(() =>
      argon2.hash(password, {
        type: argon2.argon2id,
        memoryCost: this.options.memoryKiB,
        timeCost: this.options.timeCost,
        parallelism: 1,
      }),
    );
  }

  /** `hash` undefined: the account does not exist; still spends the same work, then fails. */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const target = hash ?? (await (this.dummyHash ??= this.hash(randomBytes(32).toString("base64"))));
    const ok = await this.semaphore.run(() => argon2.verify(target, password));
    return ok && hash !== undefined;
  }

  /** A 32-byte key from a passphrase and salt (argon2id, raw), for the vault's passphrase mode. */
  deriveKey(passphrase: string, salt: Buffer): Promise<Buffer> {
    return this.semaphore.run(() =>
      argon2.hash(passphrase, {
        type: argon2.argon2id,
        memoryCost: this.options.memoryKiB,
        timeCost: this.options.timeCost,
        parallelism: 1,
        hashLength: 32,
        salt,
        raw: true,
      }),
    );
  }

  get hashesInFlight(): number {
    return this.semaphore.inUse;
  }
}
