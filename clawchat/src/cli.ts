/**
 * `clawchat`: init (security directory, bootstrap key, first security file),
 * issue (a further security file), serve (the UDP server), status (the running
 * server's counts) and connect (the client). Bad input exits 2 with a message
 * naming the field; a failed connection or a server error exits 1; nothing
 * secret is ever printed.
 */
import { promises as fs } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ConfigError } from "./errors";
import { commandHelp, integer, parseFlags, programHelp, type CommandSpec, type Values } from "./cli-args";
import { init, ISSUE_FLAGS, issueAnother } from "./cli-init";
import { ClawChatClient, parseServerOverride } from "./client";
import { SystemClock } from "./clock";
import { gatewayChatHandler } from "./gateway";
import { JsonLinesLogger, type LogLevel } from "./log";
import { ClawChatServer } from "./server";

export const VERSION = "2.0.0";

const COMMANDS: CommandSpec[] = [
  { name: "init", summary: "create the security directory, the bootstrap key and the first security file (idempotent)", flags: ISSUE_FLAGS },
  { name: "issue", summary: "write a further security file with a new shared secret (out-of-band re-issue)", flags: ISSUE_FLAGS },
  {
    name: "serve",
    summary: "run the ClawChat server",
    flags: [
      { name: "dir", value: "<dir>", help: "security directory written by `clawchat init`", required: true },
      { name: "bind", value: "<addr>", help: "address to bind (0.0.0.0 to accept the internet)", default: "127.0.0.1" },
      { name: "port", value: "<n>", help: "home UDP port (default: server_udp_port of the security file)" },
      { name: "gateway-url", value: "<url>", help: "OpenClaw gateway on loopback (default: $OPENCLAW_GATEWAY_URL, else http://127.0.0.1:<gateway.port or 18789>)" },
      { name: "openclaw-config", value: "<path>", help: "openclaw.json holding gateway.auth.token (default: $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json)" },
      { name: "log-level", value: "<level>", help: "debug, info, warn or error", default: "info" },
    ],
  },
  {
    name: "status",
    summary: "print the running server's status: sessions, gateway calls, drops by reason (written every 10 s)",
    flags: [{ name: "dir", value: "<dir>", help: "security directory of the server", required: true }],
  },
  {
    name: "connect",
    summary: "connect to a ClawChat server and chat (stdin lines, or --message)",
    flags: [
      { name: "security-file", value: "<file>", help: "the .sec file from the server (mode 600)", required: true },
      { name: "bootstrap-key", value: "<file>", help: "the bootstrap key file (mode 600)", required: true },
      { name: "server", value: "<host:port>", help: "override the address in the security file" },
      { name: "message", value: "<text>", help: "send one message, print the answer, exit (non-zero with the server's reason on failure)" },
      { name: "timeout", value: "<seconds>", help: "give up on an answer after this long", default: "150" },
      { name: "compromised", value: "<reason>", implied: "user_initiated", help: "send the compromised signal: both sides delete their keys and files" },
    ],
  },
];

async function serve(values: Values): Promise<void> {
  const logLevel = values["log-level"] as string;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("log-level", `\`--log-level\` must be debug, info, warn or error; got ${JSON.stringify(logLevel)}`);
  }
  const port = integer("port", 1, 65535, values.port);
  const server = new ClawChatServer({
    dir: resolve(values.dir as string),
    bind: values.bind,
    port,
    logger: new JsonLinesLogger(undefined, logLevel as LogLevel),
    chatHandler: gatewayChatHandler({ url: values["gateway-url"] ?? process.env.OPENCLAW_GATEWAY_URL, configPath: values["openclaw-config"] }),
  });
  await server.start();
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await server.close();
}

async function status(values: Values): Promise<void> {
  const path = join(resolve(values.dir as string), "status.json");
  const text = await fs.readFile(path, "utf8").catch(() => {
    throw new ConfigError("dir", `\`--dir\` has no status.json (${path}): is \`clawchat serve\` running with this directory?`);
  });
  const written = Date.parse((JSON.parse(text) as { time?: string }).time ?? "");
  process.stdout.write(text);
  process.stderr.write(`written ${Math.round((Date.now() - written) / 1000)} s ago\n`);
}

/** Rejects after `seconds` unless `work` settles first (the CLI must exit, whatever the server does). */
function within<T>(seconds: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function connect(values: Values): Promise<void> {
  const timeout = integer("timeout", 1, 86_400, values.timeout) as number;
  const client = await ClawChatClient.open(resolve(values["security-file"] as string), resolve(values["bootstrap-key"] as string), {
    clock: new SystemClock(),
    server: values.server ? parseServerOverride(values.server) : undefined,
  });
  process.stderr.write(`connected (session ${client.connectionId})\n`);
  try {
    if (values.compromised !== undefined) {
      const ack = await client.reportCompromised(values.compromised);
      process.stdout.write(`server acknowledged: ${ack.action}; new security file ready: ${ack.new_file_ready}. Local security file deleted.\n`);
      return;
    }
    if (values.message !== undefined) {
      process.stdout.write(`${await within(timeout, client.chat(values.message))}\n`);
      return;
    }
    const lines = createInterface({ input: process.stdin, terminal: false });
    for await (const line of lines) {
      if (line.trim() === "") continue;
      try {
        process.stdout.write(`${await within(timeout, client.chat(line))}\n`);
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        if (!client.isOpen) break;
      }
    }
  } finally {
    await client.close();
  }
}

async function run(command: CommandSpec, values: Values): Promise<void> {
  switch (command.name) {
    case "init":
      return init(values);
    case "issue":
      return issueAnother(values);
    case "serve":
      return serve(values);
    case "status":
      return status(values);
    default:
      return connect(values);
  }
}

const DESCRIPTION = "ClawChat v2: end-to-end encrypted UDP chat with an OpenClaw host (protocol: docs/clawchat-protocol.md)";

/** Runs the CLI; resolves with the exit code: 0 done, 1 failed (network, server), 2 bad input. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv.slice(2);
  if (name === "--version" || name === "-V") return void process.stdout.write(`${VERSION}\n`), 0;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") return void process.stdout.write(programHelp(DESCRIPTION, COMMANDS)), name === undefined ? 2 : 0;
  try {
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (!command) throw new ConfigError("command", `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
    const values = parseFlags(command, rest);
    if (values === "help") return void process.stdout.write(commandHelp(command)), 0;
    await run(command, values);
    return 0;
  } catch (error) {
    process.stderr.write(`clawchat: ${(error as Error).message}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A client or server left open by a failure must not keep the process alive.
    if (code !== 0) setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`clawchat: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
