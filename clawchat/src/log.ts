/**
 * A small JSON-lines audit logger (seed 002 §11.3). Events carry addresses,
 * sizes, counts, session IDs and outcomes only: callers never pass message
 * content, keys or secrets, and `JsonLinesLogger` drops any field whose name
 * suggests one, as a second line of defence.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const FORBIDDEN_FIELD = /secret|key|token|password|content|text|plaintext/i;

export class JsonLinesLogger implements Logger {
  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(line),
    private readonly minimum: LogLevel = "info",
    private readonly now: () => number = Date.now,
  ) {}

  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    if (LEVELS[level] < LEVELS[this.minimum]) return;
    const record: Record<string, string | number | boolean> = { time: new Date(this.now()).toISOString(), level, event };
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && !FORBIDDEN_FIELD.test(name)) record[name] = value;
    }
    this.write(`${JSON.stringify(record)}\n`);
  }
}

/** Keeps events in memory: for tests and for embedding. */
export class MemoryLogger implements Logger {
  readonly events: Array<{ level: LogLevel; event: string; fields: LogFields }> = [];

  log(level: LogLevel, event: string, fields: LogFields = {}): void {
    this.events.push({ level, event, fields });
  }
}

export const silentLogger: Logger = { log: () => undefined };
