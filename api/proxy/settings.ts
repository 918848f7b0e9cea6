/**
 * The chat proxy's limits: the proxy section of the API's configuration,
 * parsed from the variables `api/config.ts` reads once at boot (one table of
 * defaults; docs/proxy.md lists them). Every limit is per API
 * process except the ticket's lifetime: nothing about a connection lives in
 * shared state, so a process that dies drops only its own connections.
 */
import { resolve } from "node:path";
import { ConfigError } from "../../core/errors";

/** The variables `api/config.ts` hands over (the only module that reads `process.env`). */
type Environment = Record<string, string | undefined>;

export interface ProxySettings {
  /** How long a ticket can be spent (`CLAWSTACK_PROXY_TICKET_TTL_MS`, default 30 s). */
  ticketTtlMs: number;
  /** Open pass-through connections per user in this process (`CLAWSTACK_PROXY_MAX_PER_USER`, default 8). */
  maxConnectionsPerUser: number;
  /** Open pass-through connections in this process (`CLAWSTACK_PROXY_MAX_CONNECTIONS`, default 2000). */
  maxConnections: number;
  /** Largest WebSocket message either way, bytes (`CLAWSTACK_PROXY_MAX_MESSAGE_BYTES`, default 4 MiB); larger closes 1009. */
  maxMessageBytes: number;
  /** A connection with no message either way for this long is closed 4408 (`CLAWSTACK_PROXY_IDLE_MS`, default 10 min). */
  idleTimeoutMs: number;
  /** Ping both sides this often; a side that has not answered the previous ping is dropped (`CLAWSTACK_PROXY_PING_MS`, default 30 s). */
  pingIntervalMs: number;
  /** TLS handshake with the gateway (`CLAWSTACK_PROXY_CONNECT_TIMEOUT_MS`, default 10 s). */
  connectTimeoutMs: number;
  /**
   * Bytes one side may have queued towards the other before the sending side
   * is paused (`CLAWSTACK_PROXY_HIGH_WATER_BYTES`, default 1 MiB): a slow reader
   * pauses its upstream instead of growing a buffer.
   */
  highWaterBytes: number;
  /** How often open connections are checked against revoked sessions and deleted instances (`CLAWSTACK_PROXY_REVOCATION_CHECK_MS`, default 5 s). */
  revocationCheckMs: number;
  /** How often workers check every registered gateway's health (`CLAWSTACK_HEALTH_INTERVAL_MS`, default 60 s; 0: never). */
  healthIntervalMs: number;
  /** The proxy's device key, PKCS#8 PEM Ed25519, mode 600 (`CLAWSTACK_PROXY_DEVICE_KEY_FILE`; default: generated in the data dir). */
  deviceKeyFile?: string;
}

export const PROXY_DEFAULTS: ProxySettings = {
  ticketTtlMs: 30_000,
  maxConnectionsPerUser: 8,
  maxConnections: 2_000,
  maxMessageBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 600_000,
  pingIntervalMs: 30_000,
  connectTimeoutMs: 10_000,
  highWaterBytes: 1024 * 1024,
  revocationCheckMs: 5_000,
  healthIntervalMs: 60_000,
};

export function loadProxySettings(env: Environment): ProxySettings {
  const d = PROXY_DEFAULTS;
  return {
    ticketTtlMs: integer(env, "CLAWSTACK_PROXY_TICKET_TTL_MS", d.ticketTtlMs, 1_000, 300_000),
    maxConnectionsPerUser: integer(env, "CLAWSTACK_PROXY_MAX_PER_USER", d.maxConnectionsPerUser, 1, 1_000_000),
    maxConnections: integer(env, "CLAWSTACK_PROXY_MAX_CONNECTIONS", d.maxConnections, 1, 1_000_000),
    maxMessageBytes: integer(env, "CLAWSTACK_PROXY_MAX_MESSAGE_BYTES", d.maxMessageBytes, 1_024, 64 * 1024 * 1024),
    idleTimeoutMs: integer(env, "CLAWSTACK_PROXY_IDLE_MS", d.idleTimeoutMs, 100, 86_400_000),
    pingIntervalMs: integer(env, "CLAWSTACK_PROXY_PING_MS", d.pingIntervalMs, 100, 3_600_000),
    connectTimeoutMs: integer(env, "CLAWSTACK_PROXY_CONNECT_TIMEOUT_MS", d.connectTimeoutMs, 100, 120_000),
    highWaterBytes: integer(env, "CLAWSTACK_PROXY_HIGH_WATER_BYTES", d.highWaterBytes, 16 * 1024, 256 * 1024 * 1024),
    revocationCheckMs: integer(env, "CLAWSTACK_PROXY_REVOCATION_CHECK_MS", d.revocationCheckMs, 50, 600_000),
    healthIntervalMs: env.CLAWSTACK_HEALTH_INTERVAL_MS === "0" ? 0 : integer(env, "CLAWSTACK_HEALTH_INTERVAL_MS", d.healthIntervalMs, 100, 86_400_000),
    ...(env.CLAWSTACK_PROXY_DEVICE_KEY_FILE ? { deviceKeyFile: resolve(env.CLAWSTACK_PROXY_DEVICE_KEY_FILE) } : {}),
  };
}

function integer(env: Environment, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `\`${key}\` must be an integer from ${min} to ${max}; given \`${raw}\``);
  }
  return value;
}
