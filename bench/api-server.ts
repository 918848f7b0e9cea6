/**
 * The API under benchmark, in a process of its own (`npm run bench -- api` starts it), so that the load
 * generator's CPU does not count in the server's latency. Prints one JSON line
 * `{"url", "accessToken", "userId"}` once it listens, serves until SIGTERM, then closes and removes its data.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildApp } from "../api/app";
import { loadConfig } from "../api/config";

/**
 * The API the benchmarks measure: SQLite in a fresh folder, logging at `info` to a discarding stream, limits
 * out of the way, and sign-ups opened explicitly (the default is invite-only) so it can register its account.
 */
export async function buildBenchApp(): Promise<{ app: Awaited<ReturnType<typeof buildApp>>; config: ReturnType<typeof loadConfig>; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "clawstack-bench-api-"));
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const config = loadConfig({
    CLAWSTACK_DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "info",
    CLAWSTACK_RATE_LIMIT: "100000000",
    CLAWSTACK_LOGIN_RATE_LIMIT: "100000000",
    CLAWSTACK_REGISTRATION: "open",
  });
  return { app: await buildApp(config, { logStream: discard }), config, dataDir };
}

async function main(): Promise<void> {
  const { app, dataDir } = await buildBenchApp();
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const account = { email: "bench@example.com", password: "bench-password-0123456789" };
  await app.inject({ method: "POST", url: "/v1/auth/register", payload: account });
  const login = (await app.inject({ method: "POST", url: "/v1/auth/login", payload: account })).json() as { accessToken: string };
  const me = (await app.inject({ method: "GET", url: "/v1/me", headers: { authorization: `Bearer ${login.accessToken}` } })).json() as { id: string };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}`, accessToken: login.accessToken, userId: me.id })}\n`);
  process.once("SIGTERM", () => {
    void app.close().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
