/**
 * Restarts of the embedded server that refuse no connection (issue 20 item 5):
 * the real `api/supervisor.ts` (a cluster primary holding the listening
 * socket) with `api/server.ts` as its worker, on the embedded SQLite default.
 * Four client loops read and write over fresh connections while the server
 * is restarted twice with SIGUSR2: zero failed requests, each restart served
 * by a new worker process, and SIGTERM ends everything with exit 0.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, remember, type Session, signUp, startApi, type TestApi } from "./support";

const REPO = resolve(__dirname, "..", "..");
const TSX_LOADER = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;

describe("npm run start:supervised: restarts that refuse no connection", () => {
  let seed: TestApi;
  let supervisor: ChildProcessWithoutNullStreams | undefined;

  beforeAll(async () => {
    // Creates the SQLite database, the key files and the accounts; then the supervised server takes the same data directory.
    seed = await startApi({ engine: "sqlite", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    supervisor?.kill("SIGKILL");
    await seed?.close();
  });

  it("restarts twice under load with zero failed requests, a new worker each time, and stops with exit 0", async () => {
    const sessions: Session[] = [];
    for (let i = 0; i < 4; i += 1) sessions.push(await signUp(seed, `sup${i}`));
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", TSX_LOADER, join(REPO, "api", "supervisor.ts")], {
      cwd: seed.dataDir,
      env: {
        PATH: process.env.PATH ?? "",
        HOST: "127.0.0.1",
        PORT: String(port),
        CLAWSTACK_DATA_DIR: seed.dataDir,
        CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
        CLAWSTACK_ARGON2_TIME_COST: "1",
        CLAWSTACK_RATE_LIMIT: "100000",
        CLAWSTACK_EMBEDDED_WORKER: "off",
        CLAWSTACK_SHUTDOWN_DRAIN_MS: "500",
        LOG_LEVEL: "warn",
      },
    });
    supervisor = child;
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const servingPids = () => [...output.matchAll(/worker (\d+) serving/g)].map((m) => Number(m[1]));
    const waitFor = async (what: string, test: () => boolean, ms = 90_000) => {
      const deadline = Date.now() + ms;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen: ${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFor("the first worker", () => servingPids().length === 1);

    const base = `http://127.0.0.1:${port}`;
    const failures: string[] = [];
    let ok = 0;
    let stop = false;
    const call = async (session: Session, method: string, path: string, body?: unknown) => {
      try {
        // A fresh connection per request: a refused connect would show as a failure here.
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { connection: "close", authorization: `Bearer ${session.accessToken}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await response.text();
        if (response.status >= 300) failures.push(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
        else ok += 1;
      } catch (error) {
        failures.push(`${method} ${path}: ${(error as Error).message} ${String((error as { cause?: unknown }).cause ?? "")}`);
      }
    };
    const clients = sessions.map(async (session) => {
      while (!stop) {
        await call(session, "GET", "/v1/me");
        const token = `dop_v1_${randomBytes(32).toString("hex")}`;
        remember(seed, token);
        await call(session, "POST", "/v1/credentials", { kind: "digitalocean", name: "supervised", token });
      }
    });

    for (let restart = 1; restart <= 2; restart += 1) {
      const before = ok;
      await waitFor("requests before the restart", () => ok >= before + 10);
      child.kill("SIGUSR2");
      await waitFor(`restart ${restart}`, () => servingPids().length === restart + 1);
      await waitFor(`the retired worker of restart ${restart}`, () => (output.match(/retired \(exit 0\)/g) ?? []).length === restart);
    }
    const after = ok;
    await waitFor("requests after the restarts", () => ok >= after + 10);
    stop = true;
    await Promise.all(clients);
    child.kill("SIGTERM");
    const code = await exited;
    supervisor = undefined;

    const pids = servingPids();
    console.log(`[supervised restart] ${ok} requests ok, ${failures.length} failed; workers ${pids.join(" -> ")}`);
    expect(failures).toEqual([]);
    expect(new Set(pids).size).toBe(3);
    expect(code).toBe(0);
  }, 240_000);
});
