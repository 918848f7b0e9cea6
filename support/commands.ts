/**
 * What a support session may run: an allow-list of programs, each with the
 * exact argument forms it accepts. A command line is split on blanks without
 * any shell: no quoting, no expansion, no operators. Every character outside
 * a small safe set (so `;`, `|`, `&`, `$`, backticks, quotes, `<`, `>`,
 * `*`, `?`, `~`, `!`, newlines and every other control character) refuses the
 * whole line, and so does `..` anywhere. The program is looked up by name in
 * the table (never on PATH, never an absolute or relative path given by the
 * operator) and runs with execve (`shell: false`) at the table's absolute path.
 *
 * The table is /etc/clawstack/support/commands.json on a host (root-owned,
 * rendered by cloud-init from `DEFAULT_COMMANDS`); docs/zero-access.md,
 * "Forced command", lists it.
 */

/** Argument kinds a form may name as `<kind>`. */
export const ARGUMENT_KINDS = {
  /** A systemd unit name: letters, digits, `@ . _ : -`, no `/`, no `..`. */
  unit: /^[A-Za-z0-9][A-Za-z0-9@._:-]{0,127}$/,
  /** A line count, 1 to 10000. */
  count: /^(10000|[1-9][0-9]{0,3})$/,
  /** A syslog priority name or number. */
  priority: /^(emerg|alert|crit|err|warning|notice|info|debug|[0-7])$/,
} as const;
export type ArgumentKind = keyof typeof ARGUMENT_KINDS;

export interface CommandSpec {
  /** Absolute path of the program, run with execve. */
  path: string;
  /** Each form is the exact list of arguments accepted: literals, or `<kind>` placeholders. */
  forms: string[][];
  /** Arguments always appended (e.g. `--no-pager`). */
  append?: string[];
  /** Kill the program after this many seconds (default 60). */
  timeoutSeconds?: number;
}

export interface CommandTable {
  commands: Record<string, CommandSpec>;
}

/** The table a host gets (cloud-init writes it to commands.json). Paths are Debian 12's and Ubuntu 24.04's. */
export const DEFAULT_COMMANDS: CommandTable = {
  commands: {
    uptime: { path: "/usr/bin/uptime", forms: [[]] },
    df: { path: "/usr/bin/df", forms: [["-h"]] },
    free: { path: "/usr/bin/free", forms: [["-m"], ["-h"]] },
    uname: { path: "/usr/bin/uname", forms: [["-a"], ["-r"]] },
    ss: { path: "/usr/bin/ss", forms: [["-tlnp"], ["-ulnp"], ["-s"]] },
    ip: { path: "/usr/bin/ip", forms: [["-brief", "address"], ["route"]] },
    systemctl: {
      path: "/usr/bin/systemctl",
      forms: [["status", "<unit>"], ["is-active", "<unit>"], ["is-enabled", "<unit>"], ["list-units", "--failed"]],
      append: ["--no-pager"],
    },
    journalctl: {
      path: "/usr/bin/journalctl",
      forms: [["-u", "<unit>", "-n", "<count>"], ["-u", "<unit>", "-n", "<count>", "-p", "<priority>"], ["-n", "<count>"], ["-b", "-n", "<count>"]],
      append: ["--no-pager"],
    },
    "cloud-init": { path: "/usr/bin/cloud-init", forms: [["status"], ["status", "--long"]] },
    node: { path: "/usr/local/bin/node", forms: [["--version"]] },
    openclaw: { path: "/opt/openclaw/current/node_modules/.bin/openclaw", forms: [["--version"]] },
  },
};

/** Programs no table may list: each one runs arbitrary code from its arguments or input. */
const NEVER_ALLOWED = /^(sh|bash|dash|zsh|ksh|mksh|csh|tcsh|fish|busybox|env|sudo|su|doas|runuser|setsid|nohup|xargs|find|awk|gawk|mawk|sed|perl|python[0-9.]*|ruby|php|lua|tclsh|vi|vim|nano|less|more|man|ssh|scp|sftp|nc|ncat|socat|curl|wget|tar|script|expect|gdb|strace)$/;

const SAFE_TOKEN = /^[A-Za-z0-9._@:=,+%/-]+$/;
export const MAX_COMMAND_LINE = 1000;
const MAX_TOKENS = 16;

export class CommandTableError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "CommandTableError";
  }
}

/** Checks a table read from commands.json; throws naming the field. */
export function checkCommandTable(value: unknown): CommandTable {
  const fail = (field: string, allowed: string): never => {
    throw new CommandTableError(field, `\`${field}\` must be ${allowed}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("commands.json", "an object { commands: {...} }");
  const commands = (value as { commands?: unknown }).commands;
  if (typeof commands !== "object" || commands === null || Array.isArray(commands)) fail("commands", "an object of name -> { path, forms, append? }");
  const table: CommandTable = { commands: {} };
  for (const [name, raw] of Object.entries(commands as Record<string, unknown>)) {
    const field = `commands.${name}`;
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) fail(field, "named with lowercase letters, digits and -");
    if (NEVER_ALLOWED.test(name)) fail(field, "a program that does not run code from its arguments (shells, interpreters, editors, pagers are refused)");
    const spec = raw as Partial<CommandSpec> | null;
    if (typeof spec !== "object" || spec === null) fail(field, "an object { path, forms, append? }");
    const path = spec!.path;
    if (typeof path !== "string" || !/^\/[A-Za-z0-9._/-]+$/.test(path) || path.includes("..")) fail(`${field}.path`, "an absolute path without ..");
    const base = (path as string).split("/").pop() ?? "";
    if (NEVER_ALLOWED.test(base)) fail(`${field}.path`, "a program that does not run code from its arguments");
    if (!Array.isArray(spec!.forms) || spec!.forms.length === 0 || spec!.forms.length > 16) fail(`${field}.forms`, "a list of 1 to 16 argument forms");
    spec!.forms!.forEach((form, i) => {
      if (!Array.isArray(form) || form.length > MAX_TOKENS) fail(`${field}.forms[${i}]`, `a list of at most ${MAX_TOKENS} arguments`);
      form.forEach((token, j) => checkFormToken(`${field}.forms[${i}][${j}]`, token, fail));
    });
    const append = spec!.append ?? [];
    if (!Array.isArray(append)) fail(`${field}.append`, "a list of literal arguments");
    append.forEach((token, j) => {
      if (typeof token !== "string" || !SAFE_TOKEN.test(token) || token.startsWith("<")) fail(`${field}.append[${j}]`, "a literal argument");
    });
    const timeout = spec!.timeoutSeconds;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 600)) fail(`${field}.timeoutSeconds`, "a whole number of seconds from 1 to 600");
    table.commands[name] = { path: path as string, forms: spec!.forms!.map((form) => [...form]), append: [...append], ...(timeout ? { timeoutSeconds: timeout } : {}) };
  }
  return table;
}

function checkFormToken(field: string, token: unknown, fail: (field: string, allowed: string) => never): void {
  if (typeof token !== "string") fail(field, "a string");
  const placeholder = /^<([a-z]+)>$/.exec(token as string);
  if (placeholder) {
    if (!((placeholder[1] as string) in ARGUMENT_KINDS)) fail(field, `a literal or one of ${Object.keys(ARGUMENT_KINDS).map((kind) => `<${kind}>`).join(", ")}`);
    return;
  }
  if (!SAFE_TOKEN.test(token as string) || (token as string).includes("..")) fail(field, "a literal argument of safe characters");
}

export type Parsed = { ok: true; program: string; path: string; args: string[]; timeoutSeconds: number } | { ok: false; reason: string };

/**
 * Splits `line` on blanks (no shell) and matches it against the table.
 * Returns the program's absolute path and its argument vector, or why it is refused.
 */
export function parseCommandLine(line: string, table: CommandTable): Parsed {
  if (line.length > MAX_COMMAND_LINE) return { ok: false, reason: `a command line is at most ${MAX_COMMAND_LINE} characters` };
  // Only blanks separate words; every other control character (newline, CR, NUL, ESC...) refuses the line.
  if (/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(line)) return { ok: false, reason: "control characters (newlines included) are not allowed" };
  const tokens = line.split(/[ \t]+/).filter((token) => token !== "");
  if (tokens.length === 0) return { ok: false, reason: "empty command" };
  if (tokens.length > MAX_TOKENS + 1) return { ok: false, reason: `at most ${MAX_TOKENS} arguments` };
  for (const token of tokens) {
    if (!SAFE_TOKEN.test(token)) {
      return { ok: false, reason: `\`${printable(token)}\` holds a character that is not allowed (no shell: only letters, digits and . _ @ : = , + % / -)` };
    }
    if (token.includes("..")) return { ok: false, reason: "`..` is not allowed" };
  }
  const [program, ...args] = tokens as [string, ...string[]];
  const spec = Object.prototype.hasOwnProperty.call(table.commands, program) ? table.commands[program] : undefined;
  if (!spec) return { ok: false, reason: `\`${printable(program)}\` is not an allowed program; allowed: ${Object.keys(table.commands).sort().join(", ")}` };
  const form = spec.forms.find((candidate) => matches(candidate, args));
  if (!form) {
    return { ok: false, reason: `\`${program}\` accepts only: ${spec.forms.map((candidate) => [program, ...candidate].join(" ")).join(" | ")}` };
  }
  return { ok: true, program, path: spec.path, args: [...args, ...(spec.append ?? [])], timeoutSeconds: spec.timeoutSeconds ?? 60 };
}

function matches(form: string[], args: string[]): boolean {
  if (form.length !== args.length) return false;
  return form.every((token, i) => {
    const arg = args[i] as string;
    const placeholder = /^<([a-z]+)>$/.exec(token);
    if (!placeholder) return token === arg;
    const pattern = ARGUMENT_KINDS[placeholder[1] as ArgumentKind];
    // A unit (or any argument) that starts with `-` would be read as an option.
    return pattern !== undefined && pattern.test(arg) && !arg.startsWith("-") && !arg.includes("..");
  });
}

/** The allowed forms as lines, for `help`. */
export function describeTable(table: CommandTable): string {
  return Object.entries(table.commands)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([name, spec]) => spec.forms.map((form) => [name, ...form].join(" ")))
    .join("\n");
}

/** A token as it may be shown back: control characters escaped, cut at 80 characters. */
export function printable(text: string): string {
  const escaped = [...text].map((char) => (/[\u0000-\u001f\u007f-\u009f]/.test(char) ? `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}` : char)).join("");
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}
