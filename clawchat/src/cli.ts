/**
 * `clawchat`: init (security directory, bootstrap key, first security file),
 * issue (a further security file), serve (the UDP server) and connect (the
 * client). Bad input exits 2 with a message naming the field; nothing secret is
 * ever printed.
 */
import { Command, InvalidArgumentError } from "commander";
import { createSocket } from "node:dgram";
import { promises as fs } from "node:fs";
import { networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ConfigError } from "../../program/errors";
import { ClawChatClient, parseServerOverride } from "./client";
import { SystemClock } from "./clock";
import { gatewayChatHandler } from "./gateway";
import { JsonLinesLogger, type LogLevel } from "./log";
import {
  BOOTSTRAP_KEY_FILE,
  checkSecurityDirectory,
  DEFAULT_ITERATIONS,
  generateBootstrapKey,
  issueSecurityFile,
  listSecurityFiles,
  loadSecurityFile,
  readBootstrapKey,
  writeSecretFile,
} from "./security-file";
import { ClawChatServer } from "./server";

export const VERSION = "2.0.0";

function integer(field: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`\`--${field}\` must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
    }
    return parsed;
  };
}

/** The first non-internal IPv4 address: a default only; clouds with NAT need `--server-ip`. */
function guessServerIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

/** §7.3 for the home port: a random free UDP port from 49152-65535. */
async function pickFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = 49152 + Math.floor(Math.random() * (65535 - 49152 + 1));
    const free = await new Promise<boolean>((resolvePort) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolvePort(false));
      socket.bind(port, "0.0.0.0", () => socket.close(() => resolvePort(true)));
    });
    if (free) return port;
  }
  throw new Error("could not find a free UDP port in 49152-65535");
}

interface IssueFlags {
  dir: string;
  serverIp?: string;
  port?: number;
  name: string;
  validDays: number;
  iterations: number;
}

async function ensureDirectory(dir: string): Promise<void> {
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700).catch(() => undefined);
  await checkSecurityDirectory(dir);
}

async function init(flags: IssueFlags): Promise<void> {
  const dir = resolve(flags.dir);
  const existed = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (existed) await checkSecurityDirectory(dir);
  else await ensureDirectory(dir);
  const keyPath = join(dir, BOOTSTRAP_KEY_FILE);
  const keyExists = await fs.stat(keyPath).then(
    () => true,
    () => false,
  );
  if (keyExists) {
    // Idempotent for first-boot scripts: verify what is there, change nothing.
    const key = await readBootstrapKey(keyPath);
    const [newest] = await listSecurityFiles(dir);
    if (!newest) throw new ConfigError("dir", `\`--dir\` ${dir} has a bootstrap key but no security file; run \`clawchat issue --dir ${dir}\``);
    await loadSecurityFile(newest, key);
    process.stdout.write(`already initialised: ${dir} (bootstrap key and ${newest.slice(dir.length + 1)} verified); nothing changed\n`);
    return;
  }
  const key = generateBootstrapKey();
  await writeSecretFile(dir, BOOTSTRAP_KEY_FILE, `${key.toString("base64")}\n`);
  const issued = await issue(dir, key, flags);
  key.fill(0);
  process.stdout.write(
    `initialised ${dir}\n  bootstrap key: ${keyPath} (mode 600)\n  security file: ${issued} (mode 600)\n` +
      `Transfer both to the client out of band (USB, an end-to-end encrypted messenger), separately if you can.\n`,
  );
}

async function issue(dir: string, key: Buffer, flags: IssueFlags): Promise<string> {
  const serverIp = flags.serverIp ?? guessServerIp();
  const port = flags.port ?? (await pickFreePort());
  const { path, content } = await issueSecurityFile(dir, key, {
    serverIp,
    port,
    name: flags.name,
    validitySeconds: flags.validDays * 86_400,
    iterations: flags.iterations,
    nowMs: Date.now(),
  });
  process.stderr.write(`security file for ${content.server_public_ip}:${content.server_udp_port}, valid until ${new Date(content.valid_until * 1000).toISOString()}\n`);
  return path;
}

function addIssueOptions(command: Command): Command {
  return command
    .requiredOption("--dir <dir>", "security directory (created with mode 700)")
    .option("--server-ip <ip>", "address clients connect to (default: first non-loopback IPv4; give the public IP behind NAT)")
    .option("--port <n>", "home UDP port written into the file (default: a free port in 49152-65535)", integer("port", 1, 65535))
    .option("--name <name>", "server name shown to clients", "OpenClaw")
    .option("--valid-days <n>", "days a security file admits new sessions (valid_until)", integer("valid-days", 1, 365), 7)
    .option("--iterations <n>", "PBKDF2-HMAC-SHA256 iterations", integer("iterations", 100_000, 10_000_000), DEFAULT_ITERATIONS);
}

export function buildProgram(): Command {
  const program = new Command("clawchat")
    .description("ClawChat v2: end-to-end encrypted UDP chat with an OpenClaw host (protocol: docs/clawchat-protocol.md)")
    .version(VERSION);

  addIssueOptions(program.command("init").description("create the security directory, the bootstrap key and the first security file (idempotent)")).action(
    async (flags: IssueFlags) => init(flags),
  );

  addIssueOptions(program.command("issue").description("write a further security file with a new shared secret (out-of-band re-issue)")).action(
    async (flags: IssueFlags) => {
      const dir = resolve(flags.dir);
      await checkSecurityDirectory(dir);
      const key = await readBootstrapKey(join(dir, BOOTSTRAP_KEY_FILE));
      process.stdout.write(`${await issue(dir, key, flags)}\n`);
      key.fill(0);
    },
  );

  program
    .command("serve")
    .description("run the ClawChat server")
    .requiredOption("--dir <dir>", "security directory written by `clawchat init`")
    .option("--bind <addr>", "address to bind (0.0.0.0 to accept the internet)", "127.0.0.1")
    .option("--port <n>", "home UDP port (default: server_udp_port of the security file)", integer("port", 1, 65535))
    .option("--gateway-url <url>", "OpenClaw gateway on loopback (default: $OPENCLAW_GATEWAY_URL, else http://127.0.0.1:<gateway.port or 18789>)")
    .option("--openclaw-config <path>", "openclaw.json holding gateway.auth.token (default: $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json)")
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .action(async (flags: { dir: string; bind: string; port?: number; gatewayUrl?: string; openclawConfig?: string; logLevel: string }) => {
      if (!["debug", "info", "warn", "error"].includes(flags.logLevel)) {
        throw new ConfigError("log-level", `\`--log-level\` must be debug, info, warn or error; got ${JSON.stringify(flags.logLevel)}`);
      }
      const server = new ClawChatServer({
        dir: resolve(flags.dir),
        bind: flags.bind,
        port: flags.port,
        logger: new JsonLinesLogger(undefined, flags.logLevel as LogLevel),
        chatHandler: gatewayChatHandler({ url: flags.gatewayUrl ?? process.env.OPENCLAW_GATEWAY_URL, configPath: flags.openclawConfig }),
      });
      await server.start();
      await new Promise<void>((resolveStop) => {
        const stop = (): void => resolveStop();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      await server.close();
    });

  program
    .command("connect")
    .description("connect to a ClawChat server and chat (stdin lines, or --message)")
    .requiredOption("--security-file <file>", "the .sec file from the server (mode 600)")
    .requiredOption("--bootstrap-key <file>", "the bootstrap key file (mode 600)")
    .option("--server <host:port>", "override the address in the security file")
    .option("--message <text>", "send one message, print the answer, exit")
    .option("--compromised [reason]", "send the compromised signal: both sides delete their keys and files")
    .action(async (flags: { securityFile: string; bootstrapKey: string; server?: string; message?: string; compromised?: string | boolean }) => {
      const client = await ClawChatClient.open(resolve(flags.securityFile), resolve(flags.bootstrapKey), {
        clock: new SystemClock(),
        server: flags.server ? parseServerOverride(flags.server) : undefined,
      });
      process.stderr.write(`connected (session ${client.connectionId})\n`);
      if (flags.compromised !== undefined) {
        const ack = await client.reportCompromised(typeof flags.compromised === "string" ? flags.compromised : "user_initiated");
        process.stdout.write(`server acknowledged: ${ack.action}; new security file ready: ${ack.new_file_ready}. Local security file deleted.\n`);
        return;
      }
      if (flags.message !== undefined) {
        process.stdout.write(`${await client.chat(flags.message)}\n`);
        await client.close();
        return;
      }
      const lines = createInterface({ input: process.stdin, terminal: false });
      for await (const line of lines) {
        if (line.trim() === "") continue;
        try {
          process.stdout.write(`${await client.chat(line)}\n`);
        } catch (error) {
          process.stderr.write(`error: ${(error as Error).message}\n`);
          if (!client.isOpen) break;
        }
      }
      await client.close();
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`clawchat: ${error.message}\n`);
      return 2;
    }
    const code = (error as { code?: string; exitCode?: number }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      return (error as { exitCode?: number }).exitCode ?? 2;
    }
    process.stderr.write(`clawchat: ${(error as Error).message}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`clawchat: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
