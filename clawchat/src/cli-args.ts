/**
 * The command-line parser of `clawchat`: a table of commands and flags read with
 * `node:util` `parseArgs` (no dependency, so the bundle the hosts embed in
 * user-data stays small), help text generated from the same table, and every
 * refusal a `ConfigError` naming the flag (exit 2).
 */
import { parseArgs } from "node:util";
import { ConfigError } from "./errors";

export interface Flag {
  readonly name: string;
  /** Placeholder of the value, e.g. `<dir>`; absent for a switch. */
  readonly value?: string;
  readonly help: string;
  readonly required?: boolean;
  readonly default?: string;
  /** A value may be left out (`--compromised [reason]`): then this one is used. */
  readonly implied?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly flags: ReadonlyArray<Flag>;
}

export type Values = Record<string, string | undefined>;

export function integer(field: string, min: number, max: number, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new ConfigError(field, `\`--${field}\` must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return parsed;
}

export function commandHelp(command: CommandSpec): string {
  const rows = [...command.flags, { name: "help", help: "show this help" }].map((flag) => {
    const left = `  --${flag.name}${"value" in flag && flag.value ? ` ${"implied" in flag && flag.implied ? `[${flag.value.slice(1, -1)}]` : flag.value}` : ""}`;
    const extra = "required" in flag && flag.required ? " (required)" : "default" in flag && flag.default !== undefined ? ` (default: ${flag.default})` : "";
    return `${left.padEnd(30)} ${flag.help}${extra}`;
  });
  return `Usage: clawchat ${command.name} [options]\n\n${command.summary}\n\nOptions:\n${rows.join("\n")}\n`;
}

export function programHelp(description: string, commands: ReadonlyArray<CommandSpec>): string {
  const rows = commands.map((command) => `  ${command.name.padEnd(10)} ${command.summary}`);
  return `Usage: clawchat [--version] [--help] <command> [options]\n\n${description}\n\nCommands:\n${rows.join("\n")}\n\nRun \`clawchat <command> --help\` for its options.\n`;
}

/** Parses one command's flags: unknown flags, missing values and missing required flags are refused by name. */
export function parseFlags(command: CommandSpec, argv: ReadonlyArray<string>): Values | "help" {
  const args = [...argv];
  // A flag whose value may be left out gets its implied value when the next word is absent or another flag.
  for (const flag of command.flags) {
    const at = args.indexOf(`--${flag.name}`);
    if (flag.implied !== undefined && at >= 0 && (at === args.length - 1 || (args[at + 1] as string).startsWith("--"))) args[at] = `--${flag.name}=${flag.implied}`;
  }
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const flag of command.flags) options[flag.name] = { type: flag.value ? "string" : "boolean" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify.*$/s, "");
    throw new ConfigError("arguments", `clawchat ${command.name}: ${message}; see \`clawchat ${command.name} --help\``);
  }
  if (parsed.values.help === true) return "help";
  const values: Values = {};
  for (const flag of command.flags) {
    const given = parsed.values[flag.name];
    const value = typeof given === "boolean" ? (given ? "true" : undefined) : typeof given === "string" ? given : undefined;
    if (value === undefined && flag.required) throw new ConfigError(flag.name, `clawchat ${command.name}: \`--${flag.name}\` is required`);
    values[flag.name] = value ?? flag.default;
  }
  return values;
}
