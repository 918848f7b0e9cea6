/** The wrapper alone (support/shell.ts), against a stand-in of the agent's socket. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_COMMANDS } from "../../support/commands.js";
import { lineReader, type AgentMessage, type WrapperMessage } from "../../support/protocol.js";
import { runShell } from "../../support/shell.js";

let dir: string;
let server: Server | undefined;
const received: WrapperMessage[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "clawstack-support-shell-"));
  writeFileSync(join(dir, "commands.json"), JSON.stringify(DEFAULT_COMMANDS), { mode: 0o644 });
  received.length = 0;
});
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** An agent that answers hello with `welcome` (or refuses) and acknowledges every `end`. */
async function agent(answer: (hello: WrapperMessage) => AgentMessage): Promise<string> {
  const path = join(dir, "agent.sock");
  server = createServer((socket) => {
    let seq = 0;
    socket.on("data", lineReader((value) => {
      const message = value as WrapperMessage;
      received.push(message);
      const reply = message.type === "hello" ? answer(message) : message.type === "end" ? { type: "logged", seq: ++seq } : undefined;
      if (reply) socket.write(`${JSON.stringify(reply)}\n`);
    }, () => socket.destroy()));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((done) => server!.listen(path, done));
  return path;
}

function session(socket: string, command: string | undefined, stdin = new PassThrough()) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  const done = runShell({ socket, commandsPath: join(dir, "commands.json"), command, userAuthFile: undefined, grantId: "g1", stdin, stdout, stderr });
  return { done, stdin, output: () => out, errors: () => err };
}

describe("the forced-command wrapper", () => {
  it("runs nothing without the agent (no audit, no command)", async () => {
    const run = session(join(dir, "missing.sock"), "uptime");
    expect(await run.done).toBe(1);
    expect(run.errors()).toMatch(/agent is not reachable/);
    expect(run.output()).toBe("");
  });

  it("runs nothing when the agent refuses the key", async () => {
    const socket = await agent(() => ({ type: "refused", reason: "no active support grant for this key" }));
    const run = session(socket, "uptime");
    expect(await run.done).toBe(1);
    expect(run.errors()).toMatch(/no active support grant/);
    expect(received.map((message) => message.type)).toEqual(["hello"]);
  });

  it("announces a command before it runs and reports its exit status and byte counts after", async () => {
    const socket = await agent(() => ({ type: "welcome", grantId: "g1", notAfter: new Date(Date.now() + 60_000).toISOString(), operator: "grant:g1" }));
    const run = session(socket, "uname -r");
    expect(await run.done).toBe(0);
    expect(received.map((message) => message.type)).toEqual(["hello", "begin", "end"]);
    expect(received[2]).toMatchObject({ exitStatus: 0, stdoutBytes: Buffer.byteLength(run.output()), stderrBytes: 0 });
  });

  it("ends an idle interactive session by itself at the grant's end", async () => {
    const socket = await agent(() => ({ type: "welcome", grantId: "g1", notAfter: new Date(Date.now() + 1000).toISOString(), operator: "grant:g1" }));
    const started = Date.now();
    const run = session(socket, undefined);
    await run.done;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(run.errors()).toMatch(/the support grant has ended/);
  });
});
