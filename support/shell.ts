/**
 * The forced command of every support session (runs as the support user).
 * Never a shell: a command line is matched against the allow-list
 * (support/commands.ts) and run with execve, a scrubbed environment, no stdin
 * and a time limit; only the byte counts of its output are reported (to the
 * agent, which logs and uploads them), never the output itself. Nothing runs
 * unless the agent answers first (no audit, no command). Without a command
 * (`ssh host`) it reads one command per line, under the same rules.
 */
import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { checkCommandTable, DEFAULT_COMMANDS, describeTable, parseCommandLine, printable, type CommandTable } from "./commands.js";
import { lineReader, type AgentMessage, type WrapperMessage } from "./protocol.js";

/** The only environment a command gets. */
export const COMMAND_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  TERM: "dumb",
  HOME: "/",
  PAGER: "cat",
  SYSTEMD_PAGER: "cat",
  SYSTEMD_PAGERSECURE: "1",
  SYSTEMD_COLORS: "0",
};

export interface ShellOptions {
  socket: string;
  commandsPath: string;
  /** `SSH_ORIGINAL_COMMAND`, or undefined for an interactive session. */
  command: string | undefined;
  /** The `SSH_USER_AUTH` file sshd wrote (ExposeAuthInfo). */
  userAuthFile: string | undefined;
  /** The grant id of the authorized_keys `command=`, when sshd ran that one. */
  grantId: string | null;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Reads the allow-list (the built-in one when the file is absent); refuses one that others than root could have written. */
export function loadCommandTable(path: string): CommandTable {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return DEFAULT_COMMANDS;
    throw error;
  }
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) throw new Error(`${path} must be owned by root and writable by root only`);
  return checkCommandTable(JSON.parse(readFileSync(path, "utf8")));
}

/** The key sshd authenticated, from `SSH_USER_AUTH` (`publickey <type> <base64>`). */
export function authenticatedKey(userAuthFile: string | undefined): string | null {
  if (!userAuthFile) return null;
  try {
    const line = readFileSync(userAuthFile, "utf8").split("\n").find((entry) => entry.startsWith("publickey "));
    const [, type, blob] = line?.trim().split(/\s+/) ?? [];
    return type && blob ? `${type} ${blob}` : null;
  } catch {
    return null;
  }
}

class AgentLink {
  private waiting: ((message: AgentMessage | undefined) => void)[] = [];
  closed = false;
  constructor(private readonly socket: Socket, onClose: () => void) {
    socket.on("data", lineReader((value) => this.waiting.shift()?.(value as AgentMessage), () => socket.destroy()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter(undefined);
      onClose();
    });
  }
  send(message: WrapperMessage): void {
    if (!this.closed) this.socket.write(`${JSON.stringify(message)}\n`);
  }
  next(timeoutMs: number): Promise<AgentMessage | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((waiter) => waiter !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (message: AgentMessage | undefined) => {
        clearTimeout(timer);
        resolve(message);
      };
      this.waiting.push(done);
    });
  }
  end(): void {
    this.socket.end();
  }
}

/** Runs one session; resolves with the exit status the session ends with. */
export async function runShell(options: ShellOptions): Promise<number> {
  const say = (text: string) => options.stderr.write(`clawstack support: ${text}\n`);
  let table: CommandTable;
  try {
    table = loadCommandTable(options.commandsPath);
  } catch (error) {
    say(`the command list is unavailable (${(error as Error).message})`);
    return 1;
  }
  let running: ReturnType<typeof spawn> | undefined;
  let ended = false;
  const socket = connect(options.socket);
  const connected = await new Promise<boolean>((resolve) => {
    socket.once("connect", () => resolve(true));
    socket.once("error", () => resolve(false));
  });
  if (!connected) {
    say("the support agent is not reachable: no command runs without its audit log");
    return 1;
  }
  const stop = () => {
    ended = true;
    running?.kill("SIGKILL");
    // An interactive session waits on stdin: closing it ends the read loop.
    const input = options.stdin as NodeJS.ReadableStream & { destroy?: () => void };
    input.destroy?.();
  };
  // The agent closed the session (revoked, expired, or the agent stopped): stop now.
  const link = new AgentLink(socket, stop);
  link.send({ type: "hello", key: authenticatedKey(options.userAuthFile), grantId: options.grantId });
  const welcome = await link.next(10_000);
  if (!welcome || welcome.type !== "welcome") {
    say(welcome?.type === "refused" ? welcome.reason : "the support agent did not answer");
    link.end();
    return 1;
  }
  const remaining = Date.parse(welcome.notAfter) - Date.now();
  const expiry = setTimeout(() => {
    say("the support grant has ended");
    stop();
    link.end();
  }, Math.max(0, Math.min(remaining, 2 ** 31 - 1)));

  const runOne = async (line: string): Promise<number> => {
    const startedAt = new Date().toISOString();
    const parsed = parseCommandLine(line, table);
    link.send({ type: "begin", commandLine: line.slice(0, 1000), startedAt });
    let exitStatus: number;
    let stdoutBytes = 0;
    let stderrBytes = 0;
    if (!parsed.ok) {
      say(`refused: ${parsed.reason}`);
      exitStatus = 126;
    } else {
      exitStatus = await new Promise<number>((resolve) => {
        const child = spawn(parsed.path, parsed.args, { env: { ...COMMAND_ENV }, stdio: ["ignore", "pipe", "pipe"], shell: false, cwd: "/" });
        running = child;
        let timedOut = false;
        const limit = setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, parsed.timeoutSeconds * 1000);
        child.stdout!.on("data", (chunk: Buffer) => {
          stdoutBytes += chunk.length;
          options.stdout.write(chunk);
        });
        child.stderr!.on("data", (chunk: Buffer) => {
          stderrBytes += chunk.length;
          options.stderr.write(chunk);
        });
        child.on("error", (error) => {
          say(`${parsed.program} could not start (${error.message})`);
        });
        child.on("close", (code, signal) => {
          clearTimeout(limit);
          running = undefined;
          resolve(timedOut ? 124 : (code ?? (signal ? 128 : 1)));
        });
      });
    }
    link.send({ type: "end", endedAt: new Date().toISOString(), exitStatus, stdoutBytes, stderrBytes });
    const logged = await link.next(10_000);
    if (!logged || logged.type !== "logged") {
      say("the support agent did not log the command; the session ends");
      ended = true;
    }
    return exitStatus;
  };

  try {
    if (options.command !== undefined) return await runOne(options.command);
    options.stdout.write(`ClawStack support session (grant ${welcome.grantId}, until ${welcome.notAfter}). One command per line; \`help\` lists them, \`exit\` ends.\n`);
    let status = 0;
    try {
      for await (const raw of lines(options.stdin)) {
        if (ended) break;
        const line = raw.replace(/\r$/, "");
        const word = line.trim();
        if (word === "") continue;
        if (word === "exit" || word === "quit") break;
        if (word === "help") {
          options.stdout.write(`${describeTable(table)}\n`);
          continue;
        }
        status = await runOne(line);
        if (ended) break;
      }
    } catch (error) {
      // stdin closed under the loop by `stop()` (the grant ended, or the agent went away): the session ends.
      if (!ended) throw error;
    }
    return status;
  } finally {
    clearTimeout(expiry);
    link.end();
  }
}

/** Lines of a stream, without their `\n`; a final line without one counts too. */
async function* lines(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
    if (buffered.length > 64 * 1024) {
      yield printable(buffered.slice(0, 1001));
      buffered = "";
    }
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") yield buffered;
}
