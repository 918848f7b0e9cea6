/**
 * `npm run demo` as a user runs it: the embedded API and one local OpenClaw
 * host, one JSON line on stdout once ready, then `npm run demo:chat` chats
 * through the proxy with the demo's sign-in, and SIGTERM stops everything.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gatewayUnavailable } from "./support";

const ROOT = join(__dirname, "..", "..", "..");
const unavailable = gatewayUnavailable();

describe.skipIf(unavailable !== undefined)("npm run demo", () => {
  let demo: ChildProcess | undefined;
  let dataDir: string | undefined;

  afterAll(() => {
    if (demo && demo.exitCode === null) demo.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints one line {apiUrl, email, password, instanceId, dataDir} once ready; a WebSocket client then chats through the proxy; SIGTERM stops it", async () => {
    demo = spawn(process.execPath, ["--import", "tsx", "api/demo/main.ts", "--json", "--port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    demo.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: demo!.stdout! }).once("line", resolve);
      demo!.once("exit", (code) => reject(new Error(`the demo exited ${code}: ${stderr.slice(-800)}`)));
    });
    const ready = JSON.parse(first) as Record<string, string>;
    expect(Object.keys(ready).sort()).toEqual(["apiUrl", "dataDir", "email", "instanceId", "password"]);
    expect(ready.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.instanceId).toMatch(/^inst_[0-9a-f]{32}$/);
    dataDir = ready.dataDir!;
    expect(existsSync(join(dataDir, "demo.json"))).toBe(true);

    const answer = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "api/demo/chat.ts", "--data-dir", dataDir!, "hello from the demo test"], { cwd: ROOT, timeout: 180_000 }, (error, stdout, chatErr) =>
        error ? reject(new Error(`${error.message}: ${chatErr}`)) : resolve(stdout),
      ),
    );
    expect(answer).toContain("echo:");
    expect(answer).toContain("hello from the demo test");

    const exited = new Promise<number | null>((resolve) => demo!.once("exit", resolve));
    demo.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 400_000);
});
