/**
 * Configuration refused at boot naming the variable, and `npm start`'s
 * server from a clean directory: SQLite under ./data/ in WAL mode, migrated,
 * key files generated with mode 600, the first-admin step printed without a
 * secret, graceful shutdown on SIGTERM.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import SQLite from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../api/config";
import { ConfigError } from "../../core/errors";
import { freePort } from "./support";

const REPO = resolve(__dirname, "..", "..");
// What `npm start` runs (`node --import tsx api/server.ts`): one process, so signals reach the server
// itself (the `tsx` wrapper SIGKILLs its child when the child is slow to acknowledge a signal).
const TSX_LOADER = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("loadConfig accepted the configuration");
}

describe("configuration", () => {
  it("has closed defaults: loopback, SQLite under ./data, no CORS, 100/min and 10/min on login", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      database: { engine: "sqlite", file: resolve("data/clawstack.sqlite") },
      corsOrigins: [],
      rateLimit: { max: 100, loginMax: 10, windowMs: 60_000 },
      bodyLimit: 65_536,
      trustProxy: false,
      accessTokenTtlSeconds: 900,
      redisUrl: undefined,
      masterKeys: undefined,
      masterKeyFile: resolve("data/master-keys.json"),
    });
    expect(loadConfig({ DATABASE_URL: "postgres://u@db:5432/claw" }).database).toEqual({ engine: "postgres", url: "postgres://u@db:5432/claw" });
  });

  it.each([
    [{ PORT: "eighty" }, "PORT", "`eighty`"],
    [{ PORT: "70000" }, "PORT", "`70000`"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", "`loud`"],
    [{ CLAWSTACK_RATE_LIMIT: "0" }, "CLAWSTACK_RATE_LIMIT", "`0`"],
    [{ CLAWSTACK_ARGON2_MEMORY_KIB: "1024" }, "CLAWSTACK_ARGON2_MEMORY_KIB", "`1024`"],
    [{ CLAWSTACK_TRUST_PROXY: "yes" }, "CLAWSTACK_TRUST_PROXY", "`yes`"],
    [{ CLAWSTACK_CORS_ORIGINS: "https://app.example.com/path" }, "CLAWSTACK_CORS_ORIGINS", "`https://app.example.com/path`"],
  ])("refuses %o naming `%s` and what was given", (env, key, given) => {
    const error = refusal(env);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`\`${key}\``);
    expect(error.message).toContain(given);
  });

  it("never echoes a secret-bearing value back", () => {
    const secret = "mysql://admin:hunter2-secret@db/claw";
    const error = refusal({ DATABASE_URL: secret });
    expect(error.key).toBe("DATABASE_URL");
    expect(error.message).toContain("postgres://");
    expect(error.message).not.toContain("hunter2");
    const redis = refusal({ REDIS_URL: "http://:hunter2-secret@cache" });
    expect(redis.message).not.toContain("hunter2");
  });

  it("holds the job queue's and the chat proxy's settings, read from the same environment (the one module that reads it)", () => {
    const config = loadConfig({ CLAWSTACK_JOB_LEASE_MS: "3000", CLAWSTACK_PUBLIC_URL: "https://api.example.com/", CLAWSTACK_PROXY_MAX_PER_USER: "3", CLAWSTACK_HEALTH_INTERVAL_MS: "0" });
    expect(config.jobs.worker.leaseMs).toBe(3000);
    expect(config.jobs.publicUrl).toBe("https://api.example.com");
    expect(config.jobs.embeddedWorker).toBe("auto");
    expect(config.proxy.maxConnectionsPerUser).toBe(3);
    expect(config.proxy.healthIntervalMs).toBe(0);
    expect(refusal({ CLAWSTACK_EMBEDDED_WORKER: "maybe" }).key).toBe("CLAWSTACK_EMBEDDED_WORKER");
    expect(refusal({ CLAWSTACK_PROXY_TICKET_TTL_MS: "5" }).key).toBe("CLAWSTACK_PROXY_TICKET_TTL_MS");
  });
});

function startServer(cwd: string, env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, join(REPO, "api", "server.ts")], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: cwd, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...env },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, output: () => output, exited };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("timed out");
}

describe("npm start from a clean directory", () => {
  it("creates and migrates ./data (WAL), generates mode-600 keys, prints the first-admin step without a secret, and stops cleanly on SIGTERM", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "clawstack-start-"));
    const port = await freePort();
    // Open sign-ups so the in-flight request below is a real (slow, argon2) registration.
    const server = startServer(cwd, { PORT: String(port), CLAWSTACK_REGISTRATION: "open" });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 90_000);
      await waitFor(async () => server.output().includes("admin-cli.ts create-admin"), 5_000);
      const data = join(cwd, "data");
      expect(statSync(data).mode & 0o777).toBe(0o700);
      for (const file of ["clawstack.sqlite", "master-keys.json", "jwt-secret"]) {
        expect(statSync(join(data, file)).mode & 0o777, file).toBe(0o600);
      }
      const output = server.output();
      expect(output).toContain("No admin account yet");
      expect(output).toContain("npx tsx api/auth/admin-cli.ts create-admin you@example.com");
      const keyring = JSON.parse(readFileSync(join(data, "master-keys.json"), "utf8")) as { keys: Record<string, string> };
      expect(Object.keys(keyring.keys)).toEqual(["1"]);
      expect(Buffer.from(keyring.keys["1"]!, "base64")).toHaveLength(32);
      expect(output).not.toContain(keyring.keys["1"]);
      expect(output).not.toContain(readFileSync(join(data, "jwt-secret"), "utf8").trim());

      // A request in flight when SIGTERM arrives (on its own connection, received by the server) still gets its answer.
      const register = new Promise<number>((done, reject) => {
        const request = httpRequest(
          { host: "127.0.0.1", port, path: "/v1/auth/register", method: "POST", agent: false, headers: { "content-type": "application/json" } },
          (response) => {
            response.resume();
            done(response.statusCode ?? 0);
          },
        );
        request.once("error", reject);
        request.end(JSON.stringify({ email: "first@example.com", password: "first-admin-password" }));
      });
      await waitFor(async () => server.output().includes('"method":"POST","path":"/v1/auth/register"'), 10_000);
      server.child.kill("SIGTERM");
      expect(await register).toBe(201);
      expect(await server.exited).toBe(0);
      expect(server.output()).toContain("shutting down");
      expect(server.output()).not.toContain("first-admin-password");

      const db = new SQLite(join(data, "clawstack.sqlite"), { readonly: true });
      try {
        expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
        const migrations = db.prepare("select name from kysely_migration order by name").all() as { name: string }[];
        expect(migrations.map((m) => m.name)[0]).toBe("001_core");
        expect(db.prepare("select email, role from users").all()).toEqual([{ email: "first@example.com", role: "user" }]);
      } finally {
        db.close();
      }
    } finally {
      server.child.kill("SIGKILL");
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 150_000);

  it("refuses to start on bad configuration, naming the variable, with exit code 2", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "clawstack-start-"));
    try {
      const server = startServer(cwd, { PORT: "eighty" });
      expect(await server.exited).toBe(2);
      expect(server.output()).toContain("configuration error: `PORT`");
      const keys = startServer(cwd, { CLAWSTACK_MASTER_KEYS: "1:c2hvcnQ=" });
      expect(await keys.exited).toBe(2);
      expect(keys.output()).toContain("`CLAWSTACK_MASTER_KEYS`");
      expect(keys.output()).toContain("32 bytes");
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
