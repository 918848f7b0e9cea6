/**
 * Token buckets per source address, consulted before any parsing or
 * cryptography (seed 002 §11.2). The table is bounded: when it is full, the
 * buckets that have refilled completely (idle addresses) are dropped first,
 * and if none has, new addresses are refused until some refill (fail closed).
 */
export interface RateLimit {
  /** Sustained packets per second per address. */
  readonly perSecond: number;
  /** Burst size per address. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export class AddressRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxAddresses = 65_536,
  ) {}

  /** Takes one token for `address` at time `nowMs`; false means drop the packet. */
  take(address: string, nowMs: number): boolean {
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= this.maxAddresses && !this.prune(nowMs)) return false;
      bucket = { tokens: this.limit.burst, updated: nowMs };
      this.buckets.set(address, bucket);
    } else if (nowMs > bucket.updated) {
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((nowMs - bucket.updated) / 1000) * this.limit.perSecond);
      bucket.updated = nowMs;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(nowMs: number): boolean {
    const before = this.buckets.size;
    for (const [address, bucket] of this.buckets) {
      const refilled = bucket.tokens + ((nowMs - bucket.updated) / 1000) * this.limit.perSecond;
      if (refilled >= this.limit.burst) this.buckets.delete(address);
    }
    return this.buckets.size < before;
  }
}
