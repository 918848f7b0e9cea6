/**
 * A rolling restart of two API processes behind a load balancer (issue 20):
 * real `api/server.ts` processes on PostgreSQL, a small balancer in the test
 * that sends each request to a process whose `GET /readyz` answered 200 at its
 * last check (every 100 ms), and four client loops reading and writing. Each
 * old process is replaced in turn: the new one starts and becomes ready, the
 * old one gets SIGTERM, drains (`CLAWSTACK_SHUTDOWN_DRAIN_MS`: still serving,
 * `/readyz` 503), finishes what it has and exits 0. Zero failed requests.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_URL, freePort, remember, type Session, signUp, startApi, type TestApi } from "./support";

const REPO = resolve(__dirname, "..", "..");
const TSX_LOADER = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;
const DRAIN_MS = 1_000;

interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  base: string;
  output: () => string;
  exited: Promise<number | null>;
}

if (!POSTGRES_URL) console.warn("[skip] TEST_DATABASE_URL is not set: skipping the rolling restart of two API processes (it needs PostgreSQL)");

describe.skipIf(!POSTGRES_URL)("a rolling restart of two API processes behind a load balancer", () => {
  let seed: TestApi;
  const spawned: ServerProcess[] = [];

  beforeAll(async () => {
    // Creates the database, the data directory (shared key files) and the accounts; the servers are separate processes.
    seed = await startApi({ engine: "postgres", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    for (const server of spawned) server.child.kill("SIGKILL");
    await seed?.close();
  });

  async function startServer(): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", TSX_LOADER, join(REPO, "api", "server.ts")], {
      cwd: seed.dataDir,
      env: {
        PATH: process.env.PATH ?? "",
        PORT: String(port),
        DATABASE_URL: seed.databaseUrl!,
        CLAWSTACK_DATA_DIR: seed.dataDir,
        CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
        CLAWSTACK_ARGON2_TIME_COST: "1",
        CLAWSTACK_RATE_LIMIT: "100000",
        CLAWSTACK_EMBEDDED_WORKER: "off",
        CLAWSTACK_SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
        LOG_LEVEL: "warn",
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const server = { child, base: `http://127.0.0.1:${port}`, output: () => output, exited };
    spawned.push(server);
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${server.base}/readyz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`the API process did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return server;
  }

  it("replaces each process in turn with zero failed requests; each old one exits 0 after draining", async () => {
    const sessions: Session[] = [];
    for (let i = 0; i < 4; i += 1) sessions.push(await signUp(seed, `roll${i}`));
    const pool = new Set<ServerProcess>([await startServer(), await startServer()]);
    const ready = new Set<ServerProcess>(pool);
    let stop = false;
    const checker = (async () => {
      while (!stop) {
        await Promise.all(
          [...pool].map(async (server) => {
            const ok = await fetch(`${server.base}/readyz`).then((r) => r.ok, () => false);
            if (ok) ready.add(server);
            else ready.delete(server);
          }),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let turn = 0;
    const failures: string[] = [];
    let ok = 0;
    const call = async (session: Session, method: string, path: string, body?: unknown) => {
      const choices = [...ready];
      const server = choices[turn++ % choices.length];
      if (!server) {
        failures.push(`${method} ${path}: no ready process`);
        return;
      }
      try {
        const response = await fetch(`${server.base}${path}`, {
          method,
          headers: { authorization: `Bearer ${session.accessToken}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await response.text();
        if (response.status >= 300) failures.push(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
        else ok += 1;
      } catch (error) {
        failures.push(`${method} ${path}: ${(error as Error).message}`);
      }
    };
    const clients = sessions.map(async (session) => {
      while (!stop) {
        await call(session, "GET", "/v1/me");
        const token = `dop_v1_${randomBytes(32).toString("hex")}`;
        remember(seed, token);
        await call(session, "POST", "/v1/credentials", { kind: "digitalocean", name: "roll", token });
      }
    });

    const exits: (number | null)[] = [];
    for (const old of [...pool]) {
      const fresh = await startServer();
      pool.add(fresh);
      old.child.kill("SIGTERM");
      exits.push(await old.exited);
      pool.delete(old);
      ready.delete(old);
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all([checker, ...clients]);
    for (const server of pool) {
      server.child.kill("SIGTERM");
      exits.push(await server.exited);
    }
    console.log(`[rolling restart] ${ok} requests ok, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(exits).toEqual([0, 0, 0, 0]);
    expect(ok).toBeGreaterThan(20);
  }, 240_000);
});
