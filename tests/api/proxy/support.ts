/**
 * What the proxy tests share: a browser-style gateway client (it never holds
 * the gateway token: it sends `connect` without `auth`, as a page given only a
 * ticket URL would), the local host's availability (skip with a printed reason,
 * or fail under CI's CLAWSTACK_REQUIRE_TOOLS=1), and ticket helpers.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { ensureHostNode } from "../../../boot/node-dist";
import { BOOT_VERSIONS } from "../../../boot/run";
import { ensureOpenClaw, localHostUnavailableReason } from "../../../api/demo/local-host";
import { bearer, json, type TestApi } from "../support";

const APPROVE_SCRIPT = join(__dirname, "..", "..", "..", "cloud-init", "scripts", "approve-proxy-device.sh");

let checked: string | undefined | null = null;

/** Why the real gateway cannot run here (printed once), or undefined. Throws under CLAWSTACK_REQUIRE_TOOLS=1. */
export function gatewayUnavailable(): string | undefined {
  if (checked === null) {
    checked = localHostUnavailableReason();
    if (checked !== undefined) {
      if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") throw new Error(`CLAWSTACK_REQUIRE_TOOLS=1 but the real OpenClaw gateway cannot run: ${checked}`);
      console.warn(`[skip] the proxy tests against the real OpenClaw gateway: ${checked}`);
    }
  }
  return checked;
}

export interface Frame {
  type: string;
  id?: string;
  ok?: boolean;
  event?: string;
  method?: string;
  payload?: Record<string, unknown> & { state?: string; message?: { content?: { text?: string }[] } };
  error?: { code?: string; message?: string };
}

export interface BrowserClient {
  socket: WebSocket;
  /** Every frame received, raw text, in order. */
  received: string[];
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: object): void;
  request(method: string, params: unknown, timeoutMs?: number): Promise<Frame>;
  waitFor(match: (frame: Frame) => boolean, timeoutMs: number): Promise<Frame>;
}

/** Opens `url` (a ticket URL) like a browser: no headers of its own, frames as text. Resolves once open. */
export function openBrowserClient(url: string): Promise<BrowserClient> {
  const socket = new WebSocket(url);
  const received: string[] = [];
  const frames: Frame[] = [];
  const waiters = new Set<{ match: (frame: Frame) => boolean; resolve: (frame: Frame) => void }>();
  socket.on("message", (data) => {
    const text = data.toString();
    received.push(text);
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      return;
    }
    frames.push(frame);
    for (const waiter of [...waiters]) if (waiter.match(frame)) waiter.resolve(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  const waitFor = (match: (frame: Frame) => boolean, timeoutMs: number) =>
    new Promise<Frame>((resolve, reject) => {
      const seen = frames.find(match);
      if (seen) return resolve(seen);
      const waiter = {
        match,
        resolve: (frame: Frame) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms (got ${frames.map((f) => f.event ?? f.type).join(", ")})`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  const client: BrowserClient = {
    socket,
    received,
    frames,
    closed,
    send: (frame) => socket.send(JSON.stringify(frame)),
    request: (method, params, timeoutMs = 60_000) => {
      const id = randomUUID();
      client.send({ type: "req", id, method, params });
      return waitFor((frame) => frame.type === "res" && frame.id === id, timeoutMs);
    },
    waitFor,
  };
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(client));
    socket.once("unexpected-response", (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.once("error", reject);
  });
}

/** The `connect` params a browser page sends through the proxy: no `auth`, no `device`. */
export function browserConnectParams(): Record<string, unknown> {
  return {
    minProtocol: 3,
    maxProtocol: 4,
    client: { id: "cli", version: "clawstack-proxy-test", platform: "linux", mode: "cli" },
    role: "operator",
    scopes: ["operator.read", "operator.write"],
    caps: [],
  };
}

/** Opens the pass-through and completes the gateway handshake; returns the client and hello-ok. */
export async function connectThroughProxy(url: string): Promise<{ client: BrowserClient; hello: Frame }> {
  const client = await openBrowserClient(url);
  await client.waitFor((frame) => frame.event === "connect.challenge", 30_000);
  const hello = await client.request("connect", browserConnectParams());
  if (!hello.ok) throw new Error(`connect refused: ${JSON.stringify(hello.error)}`);
  return { client, hello };
}

export async function ticketFor(api: TestApi, accessToken: string, instanceId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await api.inject({ method: "POST", url: `/v1/instances/${instanceId}/gateway/tickets`, headers: { ...bearer(accessToken), host: "127.0.0.1" } });
  const body = json(response);
  if (typeof body.ticket === "string") api.secrets.add(body.ticket);
  return { status: response.statusCode, body };
}

/** The ticket URL pointed at the listening API (inject answers with the Host it was given). */
export function onApi(url: string, apiUrl: string): string {
  const parsed = new URL(url);
  const api = new URL(apiUrl);
  parsed.host = api.host;
  return parsed.toString();
}

/**
 * The host's side of the proxy device for a local host: writes the pinned device's settings file and an
 * executable that runs cloud-init's approve-proxy-device.sh (any mode as its argument) with the gateway's CLI in
 * the gateway's environment and nothing else, as the systemd units give it (the test runner's own variables
 * change the CLI's output). Returns the executable's path.
 */
export function writeApproveWrapper(hostDir: string, host: { gatewayToken: string }, device: { id: string; publicKey: string }): string {
  const conf = join(hostDir, "proxy-device.conf");
  writeFileSync(conf, `PROXY_DEVICE_ID='${device.id}'\nPROXY_DEVICE_PUBLIC_KEY='${device.publicKey}'\n`, { mode: 0o600 });
  const node = ensureHostNode(BOOT_VERSIONS.node);
  const openclaw = join(hostDir, "openclaw");
  writeFileSync(openclaw, `#!/bin/sh\nexec '${node}' '${ensureOpenClaw()}' "$@"\n`, { mode: 0o700 });
  const wrapper = join(hostDir, "approve");
  writeFileSync(
    wrapper,
    [
      "#!/bin/sh",
      `exec env -i PATH="$PATH" HOME='${hostDir}' OPENCLAW_STATE_DIR='${join(hostDir, "state")}' OPENCLAW_CONFIG_PATH='${join(hostDir, "state", "openclaw.json")}' \\`,
      `  OPENCLAW_GATEWAY_TOKEN='${host.gatewayToken}' CLAWSTACK_PROXY_DEVICE_CONF='${conf}' CLAWSTACK_OPENCLAW='${openclaw}' CLAWSTACK_NODE='${node}' \\`,
      `  CLAWSTACK_PROXY_DEVICE_STAMP_DIR='${hostDir}' sh '${APPROVE_SCRIPT}' "$@"`,
      "",
    ].join("\n"),
    { mode: 0o700 },
  );
  return wrapper;
}
