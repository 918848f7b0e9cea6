/**
 * Test harness for the API: builds the real app (`buildApp`) on a fresh
 * SQLite file or a fresh PostgreSQL database (created next to
 * `TEST_DATABASE_URL`, dropped afterwards), captures every log line, and
 * remembers every secret the test handles so `scanForSecrets` can prove none
 * of them reached the database files, the tables or the logs in plaintext.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { sql } from "kysely";
import { Client } from "pg";
import { type App, buildApp } from "../../api/app";
import { type ApiConfig, loadConfig } from "../../api/config";

export const POSTGRES_URL = process.env.TEST_DATABASE_URL;

export type EngineName = "sqlite" | "postgres";

/** The engines to run a suite on; PostgreSQL is skipped with a printed reason when TEST_DATABASE_URL is unset. */
export function engines(what: string): { engine: EngineName; skip: boolean }[] {
  if (!POSTGRES_URL) {
    console.warn(`[skip] TEST_DATABASE_URL is not set: skipping the PostgreSQL run of ${what} (bash .ci/run sets it)`);
  }
  return [
    { engine: "sqlite", skip: false },
    { engine: "postgres", skip: !POSTGRES_URL },
  ];
}

export interface TestApi {
  app: App;
  config: ApiConfig;
  engine: EngineName;
  dataDir: string;
  /** Every log line the app wrote. */
  logs: string[];
  /** Every secret this test handled (passwords, tokens, keys, credential values, master and JWT keys). */
  secrets: Set<string>;
  /** Raw binary secrets (master keys, JWT key) to look for in the database files. */
  binarySecrets: Buffer[];
  /** The PostgreSQL database URL when `engine` is postgres. */
  databaseUrl: string | undefined;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Stops the app, drops the database and deletes the data directory. */
  close(): Promise<void>;
}

/** Fast argon2 settings for tests (the production defaults are in api/config.ts). */
const TEST_ENV = {
  LOG_LEVEL: "debug",
  CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
  CLAWSTACK_ARGON2_TIME_COST: "1",
  CLAWSTACK_RATE_LIMIT: "100000",
  CLAWSTACK_LOGIN_RATE_LIMIT: "100000",
  // Tests register many accounts: sign-ups are opened explicitly (the default is invite-only).
  CLAWSTACK_REGISTRATION: "open",
};

export interface StartOptions {
  engine: EngineName;
  env?: Record<string, string>;
  /** Reuse a data directory / database (a second process on the same state). */
  share?: TestApi;
}

export async function startApi(options: StartOptions): Promise<TestApi> {
  const dataDir = options.share?.dataDir ?? mkdtempSync(join(tmpdir(), "clawstack-api-"));
  let databaseUrl = options.share?.databaseUrl;
  let ownsDatabase = false;
  if (options.engine === "postgres" && databaseUrl === undefined) {
    databaseUrl = await createPostgresDatabase();
    ownsDatabase = true;
  }
  const config = loadConfig({
    ...TEST_ENV,
    CLAWSTACK_DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  });
  const logs: string[] = options.share?.logs ?? [];
  const app = await buildApp(config, { logStream: { write: (line: string) => void logs.push(line) } });
  const secrets = options.share?.secrets ?? new Set<string>();
  const binarySecrets = options.share?.binarySecrets ?? [];
  collectKeySecrets(config, secrets, binarySecrets);
  return {
    app,
    config,
    engine: options.engine,
    dataDir,
    logs,
    secrets,
    binarySecrets,
    databaseUrl,
    inject: (request) => app.inject(request),
    async close() {
      await app.close();
      if (options.share) return;
      if (ownsDatabase && databaseUrl) await dropPostgresDatabase(databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function collectKeySecrets(config: ApiConfig, secrets: Set<string>, binary: Buffer[]): void {
  if (existsSync(config.masterKeyFile)) {
    const ring = JSON.parse(readFileSync(config.masterKeyFile, "utf8")) as { keys: Record<string, string> };
    for (const key of Object.values(ring.keys)) {
      secrets.add(key);
      binary.push(Buffer.from(key, "base64"));
    }
  }
  const jwtFile = join(config.dataDir, "jwt-secret");
  if (existsSync(jwtFile)) {
    const secret = readFileSync(jwtFile, "utf8").trim();
    secrets.add(secret);
    binary.push(Buffer.from(secret, "base64"));
  }
}

async function createPostgresDatabase(): Promise<string> {
  if (!POSTGRES_URL) throw new Error("TEST_DATABASE_URL is not set");
  const name = `api_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.href;
}

async function dropPostgresDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

// ---------------------------------------------------------------------------
// Requests

export const json = (response: LightMyRequestResponse) => response.json() as Record<string, unknown>;

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

let counter = 0;
/** A unique email and a random password, remembered as secrets. */
export function newAccount(api: TestApi, label = "user"): { email: string; password: string } {
  counter += 1;
  const password = `pw-${randomBytes(12).toString("base64url")}`;
  api.secrets.add(password);
  return { email: `${label}${counter}-${randomBytes(3).toString("hex")}@example.com`, password };
}

export interface Session {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export async function register(api: TestApi, label = "user"): Promise<{ userId: string; email: string; password: string }> {
  const account = newAccount(api, label);
  const response = await api.inject({ method: "POST", url: "/v1/auth/register", payload: account });
  if (response.statusCode !== 201) throw new Error(`register: ${response.statusCode} ${response.body}`);
  return { userId: String(json(response).id), ...account };
}

export async function login(api: TestApi, account: { email: string; password: string }): Promise<{ accessToken: string; refreshToken: string }> {
  const response = await api.inject({
    method: "POST",
    url: "/v1/auth/login",
    payload: { email: account.email, password: account.password },
  });
  if (response.statusCode !== 200) throw new Error(`login: ${response.statusCode} ${response.body}`);
  const body = json(response);
  const tokens = { accessToken: String(body.accessToken), refreshToken: String(body.refreshToken) };
  api.secrets.add(tokens.accessToken);
  api.secrets.add(tokens.refreshToken);
  return tokens;
}

export async function signUp(api: TestApi, label = "user"): Promise<Session> {
  const account = await register(api, label);
  return { ...account, ...(await login(api, account)) };
}

/** Makes `email` an admin directly in the database (what `admin-cli promote` does) and signs in again. */
export async function signUpAdmin(api: TestApi): Promise<Session> {
  const session = await signUp(api, "admin");
  await api.app.db.updateTable("users").set({ role: "admin" }).where("id", "=", session.userId).execute();
  return session;
}

export function remember(api: TestApi, ...values: string[]): void {
  for (const value of values) api.secrets.add(value);
}

// ---------------------------------------------------------------------------
// The secret scan

export interface ScanFinding {
  where: string;
  secret: string;
}

/**
 * Looks for every remembered secret, in plaintext, in: the SQLite file and
 * its WAL (read while the app is open), every row of every PostgreSQL table,
 * and every captured log line. Returns what it found (empty: clean).
 */
export async function scanForSecrets(api: TestApi): Promise<ScanFinding[]> {
  const findings: ScanFinding[] = [];
  const secrets = [...api.secrets].filter((secret) => secret.length >= 8);
  const searchText = (where: string, text: string) => {
    for (const secret of secrets) if (text.includes(secret)) findings.push({ where, secret: redactForReport(secret) });
  };
  const searchBytes = (where: string, bytes: Buffer) => {
    for (const secret of secrets) if (bytes.includes(Buffer.from(secret))) findings.push({ where, secret: redactForReport(secret) });
    for (const secret of api.binarySecrets) {
      if (bytes.includes(secret)) findings.push({ where, secret: "<binary key>" });
    }
  };

  if (api.config.database.engine === "sqlite") {
    for (const suffix of ["", "-wal", "-shm"]) {
      const file = `${api.config.database.file}${suffix}`;
      if (existsSync(file)) searchBytes(file, readFileSync(file));
    }
  } else {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public'
    `.execute(api.app.db);
    for (const { table_name } of tables.rows) {
      const rows = await sql<{ row: string }>`select row_to_json(t)::text as row from ${sql.table(table_name)} t`.execute(api.app.db);
      searchText(`table ${table_name}`, rows.rows.map((r) => r.row).join("\n"));
    }
  }
  searchText("logs", api.logs.join(""));
  return findings;
}

function redactForReport(secret: string): string {
  return `${secret.slice(0, 4)}…(${secret.length} chars)`;
}

/** Rows of a table (for "nothing half-written" checks). */
export async function countRows(api: TestApi, table: string): Promise<number> {
  const result = await sql<{ n: string | number }>`select count(*) as n from ${sql.table(table)}`.execute(api.app.db);
  return Number(result.rows[0]?.n ?? 0);
}

/** Audit entries, oldest first. */
export async function auditEntries(api: TestApi) {
  return api.app.db.selectFrom("audit_log").selectAll().orderBy("id").execute();
}

/** A TCP port nothing listens on right now (for a server process the test starts). */
export async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}
