/**
 * The API's configuration: read once at boot from environment variables,
 * validated by one zod schema into a typed object. A bad value stops the
 * process with a `ConfigError` naming the variable; nothing starts half
 * configured. Every default is here, and every default is the closed one
 * (no cross-origin access, 100 requests per minute per address, loopback only).
 * This is the only module of the API that reads the environment: the job
 * queue's and the chat proxy's sections are parsed here too (their tables of
 * defaults live beside them, `jobs/settings.ts` and `proxy/settings.ts`), and
 * every plugin, worker and CLI takes the loaded `ApiConfig`.
 */
import { resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "../core/errors";
import { type JobsSettings, loadJobsSettings } from "./jobs/settings";
import { loadProxySettings, type ProxySettings } from "./proxy/settings";
import { STACK_ENV_KEYS, type StackEnvironment } from "./stacks/layout";

/** Environment variables the API reads, with their defaults. */
const envSchema = z.object({
  /** Address to listen on. Defaults to loopback: exposing the API is explicit. */
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Directory for the embedded database, the generated master key file and the JWT key file. */
  CLAWSTACK_DATA_DIR: z.string().min(1).default("./data"),
  /** `postgres://...` to use PostgreSQL; unset means SQLite at `<data dir>/clawstack.sqlite`. */
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must start with postgres://, postgresql:// or sqlite:")
    .optional(),
  /** Shared rate-limit store for several API processes (`redis://host:port`). Unset: in-process store. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
  /**
   * Master keys as `version:base64key[,version:base64key...]` (32-byte keys); the highest version wraps
   * new data keys. Unset: the key file below, generated (mode 600) on first start.
   */
  CLAWSTACK_MASTER_KEYS: z.string().min(1).optional(),
  /**
   * AWS KMS keys that wrap the vault's data keys instead of the local keyring, as
   * `version:keyArn[,version:keyArn...]` (the highest version wraps new keys). Unset: the local keyring.
   */
  CLAWSTACK_KMS_KEYS: z.string().min(1).optional(),
  /**
   * GCP Cloud KMS symmetric keys that wrap the vault's data keys instead, as
   * `version:projects/../cryptoKeys/<key>[,...]`. At most one of this and `CLAWSTACK_KMS_KEYS`.
   */
  CLAWSTACK_GCP_KMS_KEYS: z.string().min(1).optional(),
  /** AWS region of the KMS keys (defaults to the SDK's: AWS_REGION). */
  CLAWSTACK_KMS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as eu-west-1").optional(),
  /** Master key file (JSON keyring). Defaults to `<data dir>/master-keys.json`. */
  CLAWSTACK_MASTER_KEY_FILE: z.string().min(1).optional(),
  /**
   * A file holding what `CLAWSTACK_MASTER_KEYS` would (a mounted secret): re-read while running, so a
   * new version reaches every process without a restart. Likewise `CLAWSTACK_KMS_KEYS_FILE`,
   * `CLAWSTACK_GCP_KMS_KEYS_FILE` and `CLAWSTACK_JWT_KEYS_FILE`. At most one of a variable and its `_FILE`.
   */
  CLAWSTACK_MASTER_KEYS_FILE: z.string().min(1).optional(),
  CLAWSTACK_KMS_KEYS_FILE: z.string().min(1).optional(),
  CLAWSTACK_GCP_KMS_KEYS_FILE: z.string().min(1).optional(),
  /** HS256 JWT signing secret, base64, at least 32 bytes (the key set's version 1). Unset: `<data dir>/jwt-secret` generated (mode 600). */
  CLAWSTACK_JWT_SECRET: z.string().min(1).optional(),
  /** JWT signing keys as `version:base64[,version:base64...]` (each ≥ 32 bytes); the key id of a token is its version. */
  CLAWSTACK_JWT_KEYS: z.string().min(1).optional(),
  CLAWSTACK_JWT_KEYS_FILE: z.string().min(1).optional(),
  /**
   * On SIGTERM, how long to keep serving while `GET /readyz` answers 503, before closing, ms: at least the load
   * balancer's health-check interval × its unhealthy threshold, so it stops sending before the process stops accepting.
   */
  CLAWSTACK_SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  /** How often every process re-reads its key files and reports the key versions it holds, ms (0: on SIGHUP only; heartbeats stay). */
  CLAWSTACK_KEY_RELOAD_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Comma-separated origins allowed cross-origin. Empty (the default): no cross-origin access. */
  CLAWSTACK_CORS_ORIGINS: z.string().default(""),
  /**
   * Who may register: `invite` (the default) needs a single-use invitation from an admin (the first
   * admin comes from `admin-cli create-admin`); `open` lets anyone who reaches the API sign up.
   */
  CLAWSTACK_REGISTRATION: z.enum(["invite", "open"]).default("invite"),
  /** Requests per minute per client address on every route. */
  CLAWSTACK_RATE_LIMIT: z.coerce.number().int().min(1).default(100),
  /** Requests per minute per client address on login, registration and refresh. */
  CLAWSTACK_LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
  /** Largest accepted request body in bytes. */
  CLAWSTACK_BODY_LIMIT: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  /** Trust `X-Forwarded-For` from a reverse proxy (only behind one). */
  CLAWSTACK_TRUST_PROXY: z.enum(["true", "false"]).default("false"),
  /** Concurrent argon2id hashes allowed (each takes `CLAWSTACK_ARGON2_MEMORY_KIB`). */
  CLAWSTACK_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** argon2id memory cost per hash in KiB (OWASP: 19 MiB minimum). */
  CLAWSTACK_ARGON2_MEMORY_KIB: z.coerce.number().int().min(8192).default(19456),
  /** argon2id passes. */
  CLAWSTACK_ARGON2_TIME_COST: z.coerce.number().int().min(1).default(2),
  /** Access token lifetime in seconds (15 minutes). */
  CLAWSTACK_ACCESS_TOKEN_TTL: z.coerce.number().int().min(10).max(3600).default(900),
  /** Refresh token lifetime in seconds (30 days). */
  CLAWSTACK_REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).default(30 * 24 * 3600),
  /** DigitalOcean API base URL used by the credential test (tests point it at a loopback stand-in). */
  CLAWSTACK_DIGITALOCEAN_API_URL: z.url().default("https://api.digitalocean.com"),
});

export type DatabaseConfig =
  | { engine: "sqlite"; file: string }
  | { engine: "postgres"; url: string };

/** The typed configuration every part of the API receives. */
export interface ApiConfig {
  host: string;
  port: number;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
  dataDir: string;
  database: DatabaseConfig;
  redisUrl: string | undefined;
  /** Inline master keys (`version:base64`), or undefined to use `masterKeyFile`. */
  masterKeys: string | undefined;
  masterKeyFile: string;
  /** `CLAWSTACK_KMS_KEYS` as given (parsed by the vault plugin), and the KMS region. */
  kmsKeys: string | undefined;
  kmsRegion: string | undefined;
  /** `CLAWSTACK_GCP_KMS_KEYS` as given (parsed by the vault plugin). */
  gcpKmsKeys: string | undefined;
  /** Key files re-read while running (`CLAWSTACK_*_KEYS_FILE`), absolute paths. */
  masterKeysFile: string | undefined;
  kmsKeysFile: string | undefined;
  gcpKmsKeysFile: string | undefined;
  /** Inline JWT secret (base64), or undefined to use `<dataDir>/jwt-secret`. */
  jwtSecret: string | undefined;
  /** Inline JWT key set (`version:base64`), or a file of it. */
  jwtKeys: string | undefined;
  jwtKeysFile: string | undefined;
  /** Key file re-read interval in ms; 0: only on SIGHUP. */
  keyReloadMs: number;
  /** SIGTERM: serve this long with `/readyz` answering 503 before closing, ms. */
  shutdownDrainMs: number;
  corsOrigins: string[];
  rateLimit: { max: number; loginMax: number; windowMs: number };
  registration: "invite" | "open";
  bodyLimit: number;
  trustProxy: boolean;
  passwordHashing: { concurrency: number; memoryKiB: number; timeCost: number };
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  digitalOceanApiUrl: string;
  /** The job queue and its workers (`CLAWSTACK_JOB_*`, `CLAWSTACK_WORKER_*`, `CLAWSTACK_PUBLIC_URL`...; docs/jobs.md). */
  jobs: JobsSettings;
  /** The chat proxy's limits and the gateway health check (`CLAWSTACK_PROXY_*`, `CLAWSTACK_HEALTH_INTERVAL_MS`; docs/proxy.md). */
  proxy: ProxySettings;
  /** The stack layout's variables (`PULUMI_BACKEND_URL`, `PULUMI_HOME`, the secrets provider and passphrase; docs/jobs.md), resolved by `api/stacks/layout.ts`. */
  stackEnv: StackEnvironment;
}

/** What `clawstack follow` needs: where the API is and the caller's token (never a flag). */
export interface FollowerConfig {
  apiUrl: string;
  token: string;
}

/**
 * Validates `env` (normally `process.env`) into an `ApiConfig`.
 * Throws `ConfigError` naming the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? "environment");
    const given = env[key];
    throw new ConfigError(
      key,
      `\`${key}\`: ${issue.message}; given ${given === undefined ? "nothing" : describeGiven(key, given)}`,
    );
  }
  const e = parsed.data;
  const dataDir = resolve(e.CLAWSTACK_DATA_DIR);
  const corsOrigins = e.CLAWSTACK_CORS_ORIGINS.split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        "CLAWSTACK_CORS_ORIGINS",
        `\`CLAWSTACK_CORS_ORIGINS\`: each origin must be scheme://host[:port] without a path; given \`${origin}\``,
      );
    }
  }
  for (const [variable, file] of [
    ["CLAWSTACK_MASTER_KEYS", e.CLAWSTACK_MASTER_KEYS_FILE],
    ["CLAWSTACK_KMS_KEYS", e.CLAWSTACK_KMS_KEYS_FILE],
    ["CLAWSTACK_GCP_KMS_KEYS", e.CLAWSTACK_GCP_KMS_KEYS_FILE],
    ["CLAWSTACK_JWT_KEYS", e.CLAWSTACK_JWT_KEYS_FILE],
  ] as const) {
    if (file !== undefined && env[variable] !== undefined) {
      throw new ConfigError(`${variable}_FILE`, `\`${variable}_FILE\`: set it or \`${variable}\`, not both`);
    }
  }
  const jwtSources = [e.CLAWSTACK_JWT_SECRET, e.CLAWSTACK_JWT_KEYS, e.CLAWSTACK_JWT_KEYS_FILE].filter((value) => value !== undefined);
  if (jwtSources.length > 1) {
    throw new ConfigError("CLAWSTACK_JWT_KEYS", "`CLAWSTACK_JWT_KEYS`: set one of it, `CLAWSTACK_JWT_KEYS_FILE` and `CLAWSTACK_JWT_SECRET`, not several");
  }
  if ((e.CLAWSTACK_KMS_KEYS ?? e.CLAWSTACK_KMS_KEYS_FILE) !== undefined && (e.CLAWSTACK_GCP_KMS_KEYS ?? e.CLAWSTACK_GCP_KMS_KEYS_FILE) !== undefined) {
    throw new ConfigError("CLAWSTACK_GCP_KMS_KEYS", "`CLAWSTACK_GCP_KMS_KEYS`: set it or `CLAWSTACK_KMS_KEYS` (AWS), not both");
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir,
    database: parseDatabaseUrl(e.DATABASE_URL, dataDir),
    redisUrl: e.REDIS_URL,
    masterKeys: e.CLAWSTACK_MASTER_KEYS,
    masterKeyFile: resolve(e.CLAWSTACK_MASTER_KEY_FILE ?? `${dataDir}/master-keys.json`),
    kmsKeys: e.CLAWSTACK_KMS_KEYS,
    kmsRegion: e.CLAWSTACK_KMS_REGION,
    gcpKmsKeys: e.CLAWSTACK_GCP_KMS_KEYS,
    masterKeysFile: e.CLAWSTACK_MASTER_KEYS_FILE === undefined ? undefined : resolve(e.CLAWSTACK_MASTER_KEYS_FILE),
    kmsKeysFile: e.CLAWSTACK_KMS_KEYS_FILE === undefined ? undefined : resolve(e.CLAWSTACK_KMS_KEYS_FILE),
    gcpKmsKeysFile: e.CLAWSTACK_GCP_KMS_KEYS_FILE === undefined ? undefined : resolve(e.CLAWSTACK_GCP_KMS_KEYS_FILE),
    jwtSecret: e.CLAWSTACK_JWT_SECRET,
    jwtKeys: e.CLAWSTACK_JWT_KEYS,
    jwtKeysFile: e.CLAWSTACK_JWT_KEYS_FILE === undefined ? undefined : resolve(e.CLAWSTACK_JWT_KEYS_FILE),
    keyReloadMs: e.CLAWSTACK_KEY_RELOAD_MS,
    shutdownDrainMs: e.CLAWSTACK_SHUTDOWN_DRAIN_MS,
    corsOrigins,
    rateLimit: { max: e.CLAWSTACK_RATE_LIMIT, loginMax: e.CLAWSTACK_LOGIN_RATE_LIMIT, windowMs: 60_000 },
    registration: e.CLAWSTACK_REGISTRATION,
    bodyLimit: e.CLAWSTACK_BODY_LIMIT,
    trustProxy: e.CLAWSTACK_TRUST_PROXY === "true",
    passwordHashing: {
      concurrency: e.CLAWSTACK_HASH_CONCURRENCY,
      memoryKiB: e.CLAWSTACK_ARGON2_MEMORY_KIB,
      timeCost: e.CLAWSTACK_ARGON2_TIME_COST,
    },
    accessTokenTtlSeconds: e.CLAWSTACK_ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: e.CLAWSTACK_REFRESH_TOKEN_TTL,
    digitalOceanApiUrl: e.CLAWSTACK_DIGITALOCEAN_API_URL.replace(/\/+$/, ""),
    jobs: loadJobsSettings(env),
    proxy: loadProxySettings(env),
    stackEnv: Object.fromEntries(STACK_ENV_KEYS.flatMap((key) => (env[key] === undefined ? [] : [[key, env[key]]]))),
  };
}

/** `CLAWSTACK_API_URL` (default http://127.0.0.1:8080) and `CLAWSTACK_TOKEN` (an access token or an API key with `jobs:read`). */
export function loadFollowerConfig(env: Record<string, string | undefined>): FollowerConfig {
  const token = env.CLAWSTACK_TOKEN;
  if (!token) throw new ConfigError("CLAWSTACK_TOKEN", "`CLAWSTACK_TOKEN` must hold an access token or an API key with `jobs:read`; it is not set");
  return { apiUrl: env.CLAWSTACK_API_URL ?? "http://127.0.0.1:8080", token };
}

function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseConfig {
  if (url === undefined) return { engine: "sqlite", file: `${dataDir}/clawstack.sqlite` };
  if (url.startsWith("sqlite:")) return { engine: "sqlite", file: resolve(url.slice("sqlite:".length)) };
  return { engine: "postgres", url };
}

/** Secret-bearing variables are never echoed back, only their length. */
function describeGiven(key: string, value: string): string {
  if (/SECRET|KEYS|DATABASE_URL|REDIS_URL/.test(key)) return `a value of ${value.length} characters`;
  return `\`${value}\``;
}
