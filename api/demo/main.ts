/**
 * `npm run demo`: the product end to end without a cloud account. Starts one
 * local OpenClaw host on loopback (the real gateway from the npm registry,
 * behind TLS with a pinned certificate, answered by a stand-in model: see
 * local-host.ts), the embedded API (SQLite in a scratch data folder), a demo
 * account, and registers the host to it through the real registration
 * endpoint. Prints the API URL, the demo sign-in and the instance id; with
 * `--json`, exactly one line `{apiUrl, email, password, instanceId, dataDir}`
 * on stdout once the instance is ready (progress goes to stderr). The demo
 * password is printed on purpose: it is a throwaway local account, made for
 * this run. Ctrl-C stops everything.
 *
 *   npm run demo [-- --json] [--port 8080] [--data-dir <dir>]
 *   npm run demo:chat -- "hello"       (another terminal: chat through the proxy)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildApp } from "../app";
import { loadConfig } from "../config";
import { createLocalInstance, registerHost } from "./local-instance";
import { localHostUnavailableReason, startLocalHost } from "./local-host";

interface DemoArgs {
  json: boolean;
  port: number;
  dataDir: string | undefined;
}

function parseArgs(argv: string[]): DemoArgs {
  const args: DemoArgs = { json: false, port: 8080, dataDir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") args.json = true;
    else if (arg === "--port") {
      const port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`\`--port\` must be 0 to 65535; given \`${argv[i]}\``);
      args.port = port;
    } else if (arg === "--data-dir") {
      if (!argv[i + 1]) throw new UsageError("`--data-dir` needs a folder");
      args.dataDir = resolve(argv[++i]!);
    } else throw new UsageError(`unknown argument \`${arg}\`; allowed: --json, --port <n>, --data-dir <dir>`);
  }
  return args;
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const say = (line: string) => process.stderr.write(`[demo] ${line}\n`);
  const dataDir = args.dataDir ?? mkdtempSync(join(tmpdir(), "clawstack-demo-"));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  say(`data folder ${dataDir}`);
  say("installing or reusing openclaw and Node 24 from the npm registry (cached under .cache/boot)...");
  const unavailable = localHostUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  say("starting the local OpenClaw host (real gateway, TLS, stand-in model)...");
  const host = await startLocalHost({ dir: join(dataDir, "host"), exposeChatCompletions: true });
  say(`gateway ready at ${host.gatewayUrl} (certificate SHA-256 ${host.tlsCertSha256.slice(0, 16)}...)`);

  const env = {
    ...process.env,
    CLAWSTACK_DATA_DIR: join(dataDir, "api"),
    CLAWSTACK_REGISTRATION: "open",
    CLAWSTACK_SNAPSHOT_INTERVAL_MS: "0",
    CLAWSTACK_HEALTH_INTERVAL_MS: process.env.CLAWSTACK_HEALTH_INTERVAL_MS ?? "10000",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  };
  Object.assign(process.env, { CLAWSTACK_HEALTH_INTERVAL_MS: env.CLAWSTACK_HEALTH_INTERVAL_MS });
  const app = await buildApp(loadConfig(env), { logStream: process.stderr });
  const address = await app.listen({ host: "127.0.0.1", port: args.port });
  const apiUrl = address.replace("[::1]", "127.0.0.1");

  const email = `demo-${randomBytes(3).toString("hex")}@example.com`;
  const password = `demo-${randomBytes(12).toString("base64url")}`;
  const registered = await fetch(`${apiUrl}/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  if (registered.status !== 201) throw new Error(`could not create the demo account: ${registered.status}`);
  const userId = String(((await registered.json()) as { id: string }).id);
  const { instanceId, registrationToken } = await createLocalInstance(app.db, { userId, gatewayUrl: host.gatewayUrl, name: "demo" });
  await registerHost(apiUrl, { instanceId, registrationToken, gatewayToken: host.gatewayToken, tlsCertSha256: host.tlsCertSha256 });
  writeFileSync(join(dataDir, "demo.json"), JSON.stringify({ apiUrl, email, password, instanceId }), { mode: 0o600 });

  if (args.json) process.stdout.write(`${JSON.stringify({ apiUrl, email, password, instanceId, dataDir })}\n`);
  else {
    process.stdout.write(
      [
        "",
        `ClawStack API     ${apiUrl}   (OpenAPI: ${apiUrl}/openapi.json)`,
        `demo sign-in      ${email}  /  ${password}   (a throwaway account of this run)`,
        `instance          ${instanceId}   (a real OpenClaw gateway on loopback, registered through POST /v1/instances/:id/register)`,
        "",
        "chat with it through the proxy, in another terminal:",
        `  npm run demo:chat -- --data-dir ${dataDir} "hello"`,
        "Ctrl-C stops the API and the host.",
        "",
      ].join("\n"),
    );
  }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say("stopping...");
    Promise.allSettled([app.close(), host.stop()]).then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
