/**
 * The API on a fresh database for job tests: SQLite in a temp dir or a fresh
 * PostgreSQL database, one registered user with an access token, and helpers
 * to call it and to wait for jobs. The engine comes from the test file's
 * `vi.mock("../../../api/engine/factory")` (the stand-in) or is the real one.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, buildApp } from "../../../../api/app";
import { loadConfig } from "../../../../api/config";
import { createPostgresDatabase, type TestDatabase } from "./db";

export const MASTER_KEYS = `1:${randomBytes(32).toString("base64")}`;

export interface TestApp {
  app: App;
  dataDir: string;
  /** `sqlite:<file>` or the PostgreSQL URL (for worker processes). */
  databaseUrl: string;
  /** Environment a worker process needs to share this app's database and keys. */
  workerEnv: Record<string, string>;
  close(): Promise<void>;
}

export interface TestUser {
  userId: string;
  token: string;
  auth: { authorization: string };
}

export async function startTestApp(options: {
  database: "sqlite" | "postgres";
  env?: Record<string, string>;
  /**
   * The `free` plan's instance limit for this app. Job tests create many
   * instances per account, so it is raised to 1,000 unless a test (plans.test.ts)
   * sets it; the migration's default is 1.
   */
  freePlanMaxInstances?: number;
}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "clawstack-jobs-app-"));
  let pg: TestDatabase | undefined;
  let databaseUrl = `sqlite:${join(dataDir, "api.sqlite")}`;
  if (options.database === "postgres") {
    pg = await createPostgresDatabase(2);
    databaseUrl = pg.url;
  }
  const baseEnv: Record<string, string> = {
    CLAWSTACK_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    CLAWSTACK_MASTER_KEYS: MASTER_KEYS,
    CLAWSTACK_JWT_SECRET: randomBytes(32).toString("base64"),
    LOG_LEVEL: "silent",
    CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
    CLAWSTACK_ARGON2_TIME_COST: "1",
    CLAWSTACK_RATE_LIMIT: "100000",
    CLAWSTACK_LOGIN_RATE_LIMIT: "100000",
    // Tests register many accounts: sign-ups are opened explicitly (the default is invite-only).
    CLAWSTACK_REGISTRATION: "open",
  };
  const jobEnv: Record<string, string> = {
    CLAWSTACK_JOB_LEASE_MS: "3000",
    CLAWSTACK_WORKER_POLL_MS: "20",
    CLAWSTACK_JOB_RETRY_BASE_MS: "50",
    CLAWSTACK_JOB_RETRY_MAX_MS: "200",
    ...options.env,
  };
  // The job settings are part of the API's configuration (api/config.ts), read from the same environment.
  const app = await buildApp(loadConfig({ ...baseEnv, ...jobEnv }));
  await app.db.updateTable("plans").set({ max_instances: options.freePlanMaxInstances ?? 1_000 }).where("id", "=", "free").execute();
  return {
    app,
    dataDir,
    databaseUrl,
    workerEnv: { ...baseEnv, ...jobEnv },
    async close() {
      await app.close();
      await pg?.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function registerUser(app: App, email = `u${randomBytes(4).toString("hex")}@example.test`): Promise<TestUser> {
  const password = "correct horse battery staple";
  const created = await app.inject({ method: "POST", url: "/v1/auth/register", payload: { email, password } });
  if (created.statusCode !== 201) throw new Error(`register failed: ${created.statusCode} ${created.body}`);
  const login = await app.inject({ method: "POST", url: "/v1/auth/login", payload: { email, password } });
  const token = (login.json() as { accessToken: string }).accessToken;
  return { userId: (created.json() as { id: string }).id, token, auth: { authorization: `Bearer ${token}` } };
}

/** A DigitalOcean token in the format the vault accepts (never a real one). */
export function fakeDigitalOceanToken(): string {
  return `dop_v1_${randomBytes(32).toString("hex")}`;
}

export async function addDigitalOceanCredential(app: App, user: TestUser, token = fakeDigitalOceanToken()): Promise<{ id: string; token: string }> {
  const response = await app.inject({
    method: "POST",
    url: "/v1/credentials",
    headers: user.auth,
    payload: { kind: "digitalocean", name: "do", token },
  });
  if (response.statusCode !== 201) throw new Error(`credential failed: ${response.statusCode} ${response.body}`);
  return { id: (response.json() as { id: string }).id, token };
}

/** A valid host request body for DigitalOcean. */
export function digitalOceanInstance(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cloud: "digitalocean",
    region: "nyc3",
    size: "small",
    options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
    ...overrides,
  };
}

export interface JobBody {
  id: string;
  state: string;
  operation: string;
  attempt: number;
  error: { code: string; message: string; field?: string } | null;
  result: unknown;
}

/** Polls `GET /v1/jobs/:id` until the job finished. */
export async function waitForJob(app: App, user: TestUser, jobId: string, timeoutMs = 20_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await app.inject({ method: "GET", url: `/v1/jobs/${jobId}`, headers: user.auth });
    const job = response.json() as JobBody;
    if (["succeeded", "failed", "cancelled"].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
