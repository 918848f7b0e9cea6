/**
 * Bounds on client JSON, checked before any other code touches it.
 *
 * - `exceedsNestingDepth(text, max)`: a linear scan of a request body's text, run by the JSON body
 *   parser before `JSON.parse`, so no nesting deeper than `MAX_BODY_DEPTH` ever becomes an object.
 * - `boundedJsonObject(bounds)`: the zod schema of a free-form JSON field (instance `options`, the
 *   GCP external-account `config`): depth, number of values, key and string length, total
 *   characters, no control characters. The walk is iterative and stops at the first problem, so
 *   the code after validation (the idempotency hash, the stack config parser, the redactor) only
 *   ever walks bounded values.
 */
import { z } from "zod";
import { CONTROL_CHARACTERS_MESSAGE, hasControlCharacters } from "./schemas";

/** Deepest nesting of arrays and objects in a whole request body. */
export const MAX_BODY_DEPTH = 32;

export interface JsonBounds {
  /** Levels of arrays/objects, the field itself counting as 1. */
  maxDepth: number;
  /** Values of every kind (the field itself, each member and element). */
  maxValues: number;
  maxKeyLength: number;
  maxStringLength: number;
  /** Characters of every key and string together. */
  maxTotalCharacters: number;
}

/** The bounds of every free-form JSON field: far above any real stack config or credential file. */
export const FREE_FORM_JSON_BOUNDS: JsonBounds = {
  maxDepth: 8,
  maxValues: 1000,
  maxKeyLength: 128,
  maxStringLength: 8192,
  maxTotalCharacters: 32_768,
};

/** Whether arrays and objects in the JSON text `text` nest deeper than `max` (strings are skipped). */
export function exceedsNestingDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

export interface JsonBoundViolation {
  /** Path below the field to the offending value (the container, for a bad key). */
  path: (string | number)[];
  message: string;
}

/** The first way `value` breaks `bounds`, or undefined. Iterative: the call stack does not grow with the input. */
export function findJsonBoundViolation(value: unknown, bounds: JsonBounds): JsonBoundViolation | undefined {
  const pending: { value: unknown; path: (string | number)[]; depth: number }[] = [{ value, path: [], depth: 1 }];
  let values = 0;
  let characters = 0;
  const countCharacters = (count: number, path: (string | number)[]): JsonBoundViolation | undefined => {
    characters += count;
    return characters > bounds.maxTotalCharacters
      ? { path, message: `holds more than ${bounds.maxTotalCharacters} characters of keys and strings in all` }
      : undefined;
  };
  while (pending.length > 0) {
    const { value: current, path, depth } = pending.pop()!;
    values += 1;
    if (values > bounds.maxValues) return { path, message: `holds more than ${bounds.maxValues} values in all` };
    if (typeof current === "string") {
      if (current.length > bounds.maxStringLength) return { path, message: `strings must be at most ${bounds.maxStringLength} characters` };
      if (hasControlCharacters(current)) return { path, message: CONTROL_CHARACTERS_MESSAGE };
      const tooMany = countCharacters(current.length, path);
      if (tooMany) return tooMany;
    } else if (typeof current === "number") {
      if (!Number.isFinite(current)) return { path, message: "numbers must be finite" };
    } else if (current !== null && typeof current === "object") {
      if (depth > bounds.maxDepth) return { path, message: `nests deeper than ${bounds.maxDepth} levels` };
      if (Array.isArray(current)) {
        for (let index = current.length - 1; index >= 0; index -= 1) pending.push({ value: current[index], path: [...path, index], depth: depth + 1 });
      } else {
        const entries = Object.entries(current);
        for (const [key] of entries) {
          if (key.length > bounds.maxKeyLength) return { path, message: `keys must be at most ${bounds.maxKeyLength} characters` };
          if (hasControlCharacters(key)) return { path, message: `keys ${CONTROL_CHARACTERS_MESSAGE}` };
          const tooMany = countCharacters(key.length, path);
          if (tooMany) return tooMany;
        }
        for (let index = entries.length - 1; index >= 0; index -= 1) {
          const [key, inner] = entries[index]!;
          pending.push({ value: inner, path: [...path, key], depth: depth + 1 });
        }
      }
    } else if (typeof current !== "boolean" && current !== null) {
      return { path, message: "must be JSON (objects, arrays, strings, finite numbers, booleans, null)" };
    }
  }
  return undefined;
}

/** A zod refinement that adds the first bound violation of the value as an issue at its path. */
export function refineWithinBounds(bounds: JsonBounds) {
  return (value: unknown, context: z.RefinementCtx) => {
    const violation = findJsonBoundViolation(value, bounds);
    if (violation) context.addIssue({ code: "custom", message: violation.message, path: violation.path });
  };
}

/** A free-form JSON object field, within `bounds`. */
export const boundedJsonObject = (bounds: JsonBounds = FREE_FORM_JSON_BOUNDS) =>
  z.record(z.string(), z.unknown()).superRefine(refineWithinBounds(bounds));
