/**
 * A counting semaphore: at most `limit` holders at once, the rest wait in
 * FIFO order. Caps concurrent argon2id hashes so memory stays bounded
 * (each hash takes `memoryKiB`) however many logins arrive at once.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter; otherwise free it.
      if (next) next();
      else this.active -= 1;
    }
  }

  /** Holders right now (for tests and metrics). */
  get inUse(): number {
    return this.active;
  }
}
