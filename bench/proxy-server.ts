/**
 * The API under `npm run bench -- proxy`, in a process of its own (the load
 * generator's CPU and memory do not count in the proxy's): SQLite, logs
 * discarded, caps raised for the idle-connection count. Registers one local
 * instance for the gateway named in its environment (the token only in its
 * environment, never argv) through the real registration endpoint, prints one
 * JSON line `{apiUrl, accessToken, instanceId}`, then answers each `mem` line
 * on stdin with `{rss, heapUsed, external, arrayBuffers}` after a GC.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { buildApp } from "../api/app";
import { loadConfig } from "../api/config";
import { createLocalInstance, registerHost } from "../api/demo/local-instance";

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "clawstack-bench-proxy-"));
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const config = loadConfig({
    CLAWSTACK_DATA_DIR: dataDir,
    LOG_LEVEL: "info",
    CLAWSTACK_RATE_LIMIT: "100000000",
    CLAWSTACK_LOGIN_RATE_LIMIT: "100000000",
    CLAWSTACK_REGISTRATION: "open",
    CLAWSTACK_SNAPSHOT_INTERVAL_MS: "0",
    // The proxy's caps come through the config (api/config.ts reads them; the proxy no longer reads the environment).
    CLAWSTACK_PROXY_MAX_PER_USER: process.env.CLAWSTACK_PROXY_MAX_PER_USER ?? "100000",
    CLAWSTACK_PROXY_MAX_CONNECTIONS: process.env.CLAWSTACK_PROXY_MAX_CONNECTIONS ?? "100000",
  });
  const app = await buildApp(config, { logStream: discard });
  const apiUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  const account = { email: "bench@example.com", password: "bench-password-0123456789" };
  const registered = await app.inject({ method: "POST", url: "/v1/auth/register", payload: account });
  const userId = String((registered.json() as { id: string }).id);
  const login = await app.inject({ method: "POST", url: "/v1/auth/login", payload: account });
  const accessToken = String((login.json() as { accessToken: string }).accessToken);
  const { instanceId, registrationToken } = await createLocalInstance(app.db, { userId, gatewayUrl: process.env.BENCH_GATEWAY_URL! });
  await registerHost(apiUrl, { instanceId, registrationToken, gatewayToken: process.env.BENCH_GATEWAY_TOKEN!, tlsCertSha256: process.env.BENCH_GATEWAY_SHA256! });
  process.stdout.write(`${JSON.stringify({ apiUrl, accessToken, instanceId })}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() !== "mem") return;
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ rss, heapUsed, external, arrayBuffers, open: app.proxy.connections.size })}\n`);
  });
  process.on("SIGTERM", () => {
    void app.close().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench proxy server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
