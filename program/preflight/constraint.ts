/**
 * One constraint a cloud's API puts on a value, and the check of a value
 * against it. AWS constraints come from the botocore models
 * (`aws-constraints.json`); GCP and DigitalOcean ones are written in
 * `rules.ts` from their published API references, each with its source.
 */
export interface Constraint {
  type: "string" | "integer" | "list" | "map";
  /** Length (strings, in characters unless `bytes`), value (integers) or entry count (lists, maps). */
  min?: number;
  max?: number;
  /** Count `min`/`max` of a string in UTF-8 bytes (DigitalOcean user data, GCP display names). */
  bytes?: boolean;
  /** Matched against the whole value, as the clouds apply their patterns. */
  pattern?: string;
  enum?: readonly (string | number)[];
}

/** Compiles an API's pattern for a whole-value match (Java/Smithy dialects included). */
export function compilePattern(pattern: string): RegExp {
  // Java's `\p{all}` (any character) has no JavaScript spelling.
  const source = pattern.replaceAll("\\p{all}", "\\s\\S");
  try {
    return new RegExp(`^(?:${source})$`, "u");
  } catch {
    // Identity escapes such as DigitalOcean's `\:` are fine without the `u` flag.
    return new RegExp(`^(?:${source})$`);
  }
}

/** Why `value` breaks `constraint`, or `undefined` when it satisfies it (or cannot be judged: unknown, secret). */
export function violation(constraint: Constraint, value: unknown): string | undefined {
  if (value === undefined || value === null || value === "[unknown]" || value === "[secret]") return undefined;
  switch (constraint.type) {
    case "string": {
      if (typeof value !== "string") return `must be a string; got ${typeof value}`;
      const length = constraint.bytes ? Buffer.byteLength(value, "utf8") : [...value].length;
      const unit = constraint.bytes ? "bytes" : "characters";
      if (constraint.min !== undefined && length < constraint.min) return `must be at least ${constraint.min} ${unit}; got ${length}`;
      if (constraint.max !== undefined && length > constraint.max) return `must be at most ${constraint.max} ${unit}; got ${length}`;
      if (constraint.enum && !constraint.enum.includes(value)) return `must be one of ${constraint.enum.length > 12 ? `${constraint.enum.length} values (${constraint.enum.slice(0, 6).join(", ")}, ...)` : constraint.enum.join(", ")}`;
      if (constraint.pattern !== undefined && !compilePattern(constraint.pattern).test(value)) return `must match ${constraint.pattern}`;
      return undefined;
    }
    case "integer": {
      const number = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof number !== "number" || !Number.isInteger(number)) return `must be an integer; got ${typeof value}`;
      if (constraint.enum && !constraint.enum.includes(number)) return `must be one of ${constraint.enum.join(", ")}`;
      if (constraint.min !== undefined && number < constraint.min) return `must be at least ${constraint.min}`;
      if (constraint.max !== undefined && number > constraint.max) return `must be at most ${constraint.max}`;
      return undefined;
    }
    case "list":
    case "map": {
      const count = Array.isArray(value) ? value.length : typeof value === "object" ? Object.keys(value).length : undefined;
      if (count === undefined) return `must be a ${constraint.type}; got ${typeof value}`;
      if (constraint.min !== undefined && count < constraint.min) return `must have at least ${constraint.min} entries; got ${count}`;
      if (constraint.max !== undefined && count > constraint.max) return `must have at most ${constraint.max} entries; got ${count}`;
      return undefined;
    }
    default: {
      const unknown: never = constraint.type;
      return `unknown constraint type ${String(unknown)}`;
    }
  }
}

/**
 * The values at `path` in a resource's inputs, each with its concrete path:
 * `a.b` descends, `a[]` takes each list entry, `a{}` each map key, `a.*` each
 * map value. `tags{}` gives the tag keys, `schedules[].name` every schedule's name.
 */
export function select(inputs: unknown, path: string): { path: string; value: unknown }[] {
  let current: { path: string; value: unknown }[] = [{ path: "", value: inputs }];
  for (const raw of path.split(".")) {
    const next: { path: string; value: unknown }[] = [];
    const each = raw.endsWith("[]");
    const keys = raw.endsWith("{}");
    const name = each || keys ? raw.slice(0, -2) : raw;
    for (const { path: at, value } of current) {
      if (typeof value !== "object" || value === null) continue;
      const here = name === "*" ? Object.entries(value as Record<string, unknown>) : [[name, (value as Record<string, unknown>)[name]] as const];
      for (const [key, inner] of here) {
        if (inner === undefined) continue;
        const base = at ? `${at}.${key}` : String(key);
        if (each) {
          if (Array.isArray(inner)) inner.forEach((entry, index) => next.push({ path: `${base}[${index}]`, value: entry }));
        } else if (keys) {
          if (typeof inner === "object" && inner !== null && !Array.isArray(inner)) {
            for (const mapKey of Object.keys(inner)) next.push({ path: `${base}{${mapKey}}`, value: mapKey });
          }
        } else {
          next.push({ path: base, value: inner });
        }
      }
    }
    current = next;
  }
  return current;
}
