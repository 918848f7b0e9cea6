import { describe, expect, it, vi } from "vitest";
// vi.mock below is hoisted above these imports, so they see the scripted randomBytes.
import { EXTERNAL_ID_ALPHABET, externalIdProblem, generateExternalId, rotateExternalId } from "../../../components/access/external-id.js";
import { renderTrustPolicy } from "../../../components/access/aws-policy.js";
import { trustPolicyAllows } from "./trust-policy-eval.js";

const { nextBytes } = vi.hoisted(() => ({ nextBytes: { queue: [] as number[][] } }));
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return {
    ...actual,
    randomBytes: (size: number) => {
      const scripted = nextBytes.queue.shift();
      return scripted ? Buffer.from(scripted) : actual.randomBytes(size);
    },
  };
});


const PROVISIONER = "arn:aws:iam::111122223333:role/claw-cloud-provisioner";

describe("generateExternalId", () => {
  it("returns 32 to 64 characters of [A-Za-z0-9], 48 by default", () => {
    expect(generateExternalId()).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(generateExternalId(32)).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generateExternalId(64)).toMatch(/^[A-Za-z0-9]{64}$/);
  });

  it("refuses lengths outside 32..64", () => {
    expect(() => generateExternalId(31)).toThrow(/`length` must be an integer from 32 to 64; got 31/);
    expect(() => generateExternalId(65)).toThrow(/got 65/);
    expect(() => generateExternalId(40.5)).toThrow(/got 40.5/);
  });

  it("never repeats across many draws", () => {
    const ids = new Set(Array.from({ length: 2000 }, () => generateExternalId()));
    expect(ids.size).toBe(2000);
  });

  it("uses rejection sampling: bytes 248..255 are discarded, so no letter is favoured", () => {
    // 248..255 would map to the first 8 letters a second time under a plain modulo.
    const rejected = [248, 249, 250, 251, 252, 253, 254, 255];
    const accepted = Array.from({ length: 32 }, (_, i) => i * 7); // 0..217, all < 248
    nextBytes.queue.push([...rejected, ...accepted.slice(0, 20)], accepted.slice(20));
    const id = generateExternalId(32);
    const expected = accepted.map((byte) => EXTERNAL_ID_ALPHABET[byte % 62]).join("");
    expect(id).toBe(expected);
  });

  it("maps each of the 248 accepted byte values to a letter exactly 4 times", () => {
    const counts = new Map<string, number>();
    for (let byte = 0; byte < 248; byte += 1) {
      nextBytes.queue.push([byte, ...Array.from({ length: 40 }, () => 0)]);
      const first = generateExternalId(32)[0] as string;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    expect([...counts.values()].every((count) => count === 4)).toBe(true);
  });
});

describe("externalIdProblem", () => {
  it("accepts a generated ID", () => {
    expect(externalIdProblem(generateExternalId())).toBeUndefined();
  });

  it.each([
    ["too short", "abc123", /32 to 64 characters .* got 6 characters/],
    ["too long", "a".repeat(65), /got 65 characters/],
    ["outside the alphabet", `${"a".repeat(40)}+`, /only the characters \[A-Za-z0-9\]; got "\+" at position 41/],
    ["with a slash (STS allows it, we do not)", `${"a".repeat(40)}/b`, /got "\/"/],
    ["not a string", 12345, /must be a string; got number/],
    ["missing", undefined, /got nothing/],
  ])("refuses an ID %s", (_label, value, message) => {
    expect(externalIdProblem(value)).toMatch(message);
  });
});

describe("rotation", () => {
  it("produces a new ID whose trust policy accepts only the new one", () => {
    const first = generateExternalId();
    const { previous, next } = rotateExternalId(first);
    expect(previous).toBe(first);
    expect(next).not.toBe(first);
    expect(externalIdProblem(next)).toBeUndefined();

    const before = renderTrustPolicy(PROVISIONER, previous);
    const after = renderTrustPolicy(PROVISIONER, next);
    expect(trustPolicyAllows(before, PROVISIONER, previous)).toBe(true);
    expect(trustPolicyAllows(after, PROVISIONER, next)).toBe(true);
    expect(trustPolicyAllows(after, PROVISIONER, previous)).toBe(false);
    expect(trustPolicyAllows(after, PROVISIONER, undefined)).toBe(false);
    expect(trustPolicyAllows(after, "arn:aws:iam::444455556666:role/someone-else", next)).toBe(false);
  });

  it("draws again if the CSPRNG ever returned the previous ID", () => {
    const previous = "A".repeat(48);
    nextBytes.queue.push(Array.from({ length: 56 }, () => 0)); // 0 → "A": the same ID again
    const { next } = rotateExternalId(previous);
    expect(next).not.toBe(previous);
  });
});
