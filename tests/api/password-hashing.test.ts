/**
 * The argon2id cap: however many hashes are asked for at once, at most
 * `concurrency` run, so hash memory stays bounded; waiters go in order.
 */
import { describe, expect, it } from "vitest";
import { PasswordHasher } from "../../api/auth/password";
import { Semaphore } from "../../api/auth/semaphore";

describe("Semaphore", () => {
  it("runs at most `limit` tasks at once, in FIFO order, and frees slots on failure", async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) =>
      semaphore.run(async () => {
        started.push(i);
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        if (i === 3) throw new Error("task 3 fails");
        return i;
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => task(i)));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(semaphore.inUse).toBe(0);
  });
});

describe("PasswordHasher", () => {
  it("never runs more argon2id hashes at once than configured, and verifies what it hashed", async () => {
    const hasher = new PasswordHasher({ concurrency: 2, memoryKiB: 8192, timeCost: 1 });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, hasher.hashesInFlight)), 0);
    const hashes = await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`password-number-${i}`)));
    clearInterval(sampler);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    expect(hasher.hashesInFlight).toBe(0);
    expect(await hasher.verify(hashes[3], "password-number-3")).toBe(true);
    expect(await hasher.verify(hashes[3], "password-number-4")).toBe(false);
    expect(await hasher.verify(undefined, "password-number-3")).toBe(false);
  });
});
