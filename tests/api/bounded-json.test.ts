/**
 * The bounds on client JSON (`api/http/bounded-json.ts`), called directly: the parse-time depth
 * scan and the iterative walk of free-form fields, including inputs far deeper than any call
 * stack would take.
 */
import { describe, expect, it } from "vitest";
import { exceedsNestingDepth, FREE_FORM_JSON_BOUNDS, findJsonBoundViolation } from "../../api/http/bounded-json";

describe("exceedsNestingDepth", () => {
  it("counts arrays and objects, not brackets inside strings or after escapes", () => {
    expect(exceedsNestingDepth('{"a":[[1]]}', 3)).toBe(false);
    expect(exceedsNestingDepth('{"a":[[[1]]]}', 3)).toBe(true);
    expect(exceedsNestingDepth(JSON.stringify({ a: "[[[[[[{{{{" }), 1)).toBe(false);
    expect(exceedsNestingDepth(JSON.stringify({ a: 'quote \\" [[[[ \\\\' }), 1)).toBe(false);
    expect(exceedsNestingDepth(`${"[".repeat(100_000)}${"]".repeat(100_000)}`, 32)).toBe(true);
  });
});

describe("findJsonBoundViolation", () => {
  it("walks a value nested 200000 levels without recursion and names where it stops", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 200_000; i += 1) deep = [deep];
    const violation = findJsonBoundViolation({ a: deep }, FREE_FORM_JSON_BOUNDS);
    expect(violation?.message).toMatch(/deeper than 8 levels/);
    expect(violation?.path.slice(0, 2)).toEqual(["a", 0]);
    expect(violation?.path).toHaveLength(FREE_FORM_JSON_BOUNDS.maxDepth);
  });

  it("bounds values, keys, strings, total characters and numbers, and refuses control characters", () => {
    const check = (value: unknown) => findJsonBoundViolation(value, FREE_FORM_JSON_BOUNDS)?.message;
    expect(check({ tags: { team: "claw" }, gatewayCidrs: ["203.0.113.0/24"] })).toBeUndefined();
    expect(check(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])))).toMatch(/more than 1000 values/);
    expect(check({ ["k".repeat(129)]: 1 })).toMatch(/keys must be at most 128/);
    expect(check({ a: "x".repeat(8193) })).toMatch(/at most 8192 characters/);
    expect(check(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, "x".repeat(8000)])))).toMatch(/32768 characters/);
    expect(check({ a: Number.POSITIVE_INFINITY })).toMatch(/finite/);
    expect(check({ a: "x\u0000" })).toMatch(/control characters/);
    expect(check({ "\u202e": 1 })).toMatch(/keys must not contain control characters/);
    expect(findJsonBoundViolation({ a: { b: ["x\u0007"] } }, FREE_FORM_JSON_BOUNDS)?.path).toEqual(["a", "b", 0]);
  });
});
