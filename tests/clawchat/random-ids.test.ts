/** The pooled chat/file/ping IDs: 8 bytes each, never repeated across pool refills, each its own copy. */
import { describe, expect, it } from "vitest";
import { RANDOM_ID_BYTES, randomId } from "../../clawchat/src/random-ids";

describe("randomId", () => {
  it("hands out distinct 8-byte IDs across several pool refills, each in its own memory", () => {
    const ids = Array.from({ length: 2_000 }, () => randomId());
    expect(ids.every((id) => id.length === RANDOM_ID_BYTES)).toBe(true);
    expect(new Set(ids.map((id) => id.toString("hex"))).size).toBe(ids.length);
    const before = ids[1]!.toString("hex");
    ids[0]!.fill(0xff);
    expect(ids[1]!.toString("hex")).toBe(before);
    // Not a constant or a counter: the bytes vary across the whole range.
    const seen = new Set<number>();
    for (const id of ids) for (const byte of id) seen.add(byte);
    expect(seen.size).toBeGreaterThan(250);
  });
});
