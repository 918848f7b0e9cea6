/**
 * Small readers for resource properties. Property reads go through the
 * engine's unknown-checking proxy, so reading an unknown value throws
 * `UnknownValueError`; `rule.ts` turns that into the rule's unknown-value
 * decision. These helpers only normalise shapes.
 */

/** `undefined`/`null` → `[]`, an array as is, anything else → `[value]`. */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...value] : [value];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A record's field, or undefined when the value is not a record. */
export function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

/** Whether `key` is set (even to a not-yet-known value), without reading it. */
export function isSet(value: unknown, key: string): boolean {
  if (!isRecord(value) || !(key in value)) return false;
  try {
    const inner = value[key];
    return inner !== undefined && inner !== null && inner !== "";
  } catch {
    // The value exists but is not known yet: it is set, to something computed.
    return true;
  }
}

/**
 * Parsed documents by their text: several rules read the same policy document.
 * Callers only read the result. Bounded, so a long review cannot grow it without limit.
 */
const parsedDocuments = new Map<string, unknown>();
const PARSED_DOCUMENTS_MAX = 2048;

/** A JSON document given either as a string or as an object; undefined when unparseable. */
export function parseDocument(value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (parsedDocuments.has(value)) return parsedDocuments.get(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value) as unknown;
  } catch {
    parsed = undefined;
  }
  if (parsedDocuments.size >= PARSED_DOCUMENTS_MAX) parsedDocuments.clear();
  parsedDocuments.set(value, parsed);
  return parsed;
}

/** Tags as a map: AWS style `{Key: value}`. */
export function tagMap(value: unknown): Record<string, unknown> {
  return isRecord(value) ? { ...value } : {};
}
