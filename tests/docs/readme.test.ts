import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * README, word for word. Every ```sh block of README.md carries a marker on the line before it:
 * `<!-- readme-test: run -->` or `<!-- readme-test: skip (why) -->`. The `run` blocks are executed as
 * written, by bash with `-eo pipefail`, in a scratch copy of the working tree that is a git repository of
 * its own (node_modules linked), the way a newcomer runs them on a fresh clone: each must exit 0 and leave
 * nothing untracked or modified in the repository. `run with-server` blocks follow README's `npm start` (left
 * running in another terminal): the test starts it the same way in the copy, waits for `/healthz`, runs the
 * block, then stops the server with SIGTERM and expects a clean exit.
 */

const REPO = join(__dirname, "..", "..");
const README = readFileSync(join(REPO, "README.md"), "utf8");

interface Block {
  line: number;
  marker: { run: true; withServer: boolean } | { run: false; reason: string } | undefined;
  script: string;
}

function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh") continue;
    const end = lines.indexOf("```", i + 1);
    const previous = lines[i - 1] ?? "";
    const skip = /^<!-- readme-test: skip \((.+)\) -->$/.exec(previous);
    const runs = /^<!-- readme-test: run( with-server)? -->$/.exec(previous);
    const marker = runs ? ({ run: true, withServer: runs[1] !== undefined } as const) : skip ? ({ run: false, reason: skip[1]! } as const) : undefined;
    blocks.push({ line: i + 1, marker, script: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** The environment a newcomer's shell has: none of the test runner's own variables. */
function shellEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("VITEST") || key === "NODE_ENV" || key === "TEST" || key.startsWith("npm_")) continue;
    env[key] = value;
  }
  return env;
}

const blocks = shellBlocks(README);

/** `npm start` in the copy, in its own process group, ready when `/healthz` answers. */
async function startServer(cwd: string): Promise<ChildProcess> {
  const server = spawn("npm", ["start"], { cwd, env: shellEnvironment(), detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  server.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`npm start exited ${server.exitCode}: ${stderr}`);
    try {
      if ((await fetch("http://127.0.0.1:8080/healthz")).ok) return server;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  process.kill(-server.pid!, "SIGKILL");
  throw new Error(`npm start did not answer /healthz within 60 s: ${stderr}`);
}

/** SIGTERM to the whole group (npm and the server under it), as Ctrl-C in its terminal would; whether it ended without SIGKILL. */
async function stopServer(server: ChildProcess): Promise<boolean> {
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  process.kill(-server.pid!, "SIGTERM");
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    process.kill(-server.pid!, "SIGKILL");
  }, 30_000);
  await exited;
  clearTimeout(timer);
  return !killed;
}

describe("README.md", () => {
  it("marks every shell block as run or skip (with a reason)", () => {
    expect(blocks.length).toBeGreaterThan(5);
    const unmarked = blocks.filter((block) => block.marker === undefined).map((block) => `README.md:${block.line}`);
    expect(unmarked, "add <!-- readme-test: run --> or <!-- readme-test: skip (why) --> before these blocks").toEqual([]);
    expect(blocks.filter((block) => block.marker?.run).length).toBeGreaterThanOrEqual(5);
  });

  describe("runs its offline blocks as written on a copy of the repository", () => {
    let copy: string;

    beforeAll(() => {
      copy = mkdtempSync(join(tmpdir(), "clawstack-readme-"));
      const files = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0").filter(Boolean);
      for (const file of files) {
        const source = join(REPO, file);
        try {
          mkdirSync(dirname(join(copy, file)), { recursive: true });
          copyFileSync(source, join(copy, file));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error; // deleted in the working tree
        }
      }
      symlinkSync(join(REPO, "node_modules"), join(copy, "node_modules"));
      git(copy, "init", "-q");
      git(copy, "add", "-A");
      git(copy, "-c", "user.name=readme-test", "-c", "user.email=readme-test@example.invalid", "commit", "-qm", "fresh clone");
    }, 120_000);

    afterAll(() => {
      if (copy) rmSync(copy, { recursive: true, force: true });
    });

    for (const block of blocks.filter((candidate) => candidate.marker?.run)) {
      const title = block.script.split("\n")[0]!.replace(/\s+#.*$/, "").slice(0, 70);
      it(`README.md:${block.line}: ${title}`, async () => {
        const server = block.marker?.run && block.marker.withServer ? await startServer(copy) : undefined;
        const run = spawnSync("bash", ["-eo", "pipefail", "-c", block.script], {
          cwd: copy,
          env: shellEnvironment(),
          encoding: "utf8",
          timeout: 300_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        const serverStopped = server ? await stopServer(server) : true;
        const output = `${run.stdout}\n${run.stderr}`.slice(-4000);
        expect(run.error, output).toBeUndefined();
        expect(run.status, output).toBe(0);
        expect(serverStopped, "npm start did not stop within 30 s of SIGTERM").toBe(true);
        expect(git(copy, "status", "--porcelain", "--untracked-files=all"), "the block left files in the repository").toBe("");
      }, 320_000);
    }
  });
});
