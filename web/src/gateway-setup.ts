/**
 * First use without a shell (issue 16): set the gateway's model provider and key through the chat proxy,
 * with OpenClaw's own configuration methods (`config.get`, then `config.patch` with its `baseHash`).
 * OpenClaw gives those to `operator.admin` only, which the host grants the proxy's device only inside a
 * setup window the user signed (core/zero-access/gateway-admin-grant.ts, support/gateway-admin.ts): this
 * module connects asking for admin, and while the host has not approved the upgrade yet (OpenClaw answers
 * `NOT_PAIRED`, the host approves at its next poll) it tries again. The key goes from this page through the
 * proxy to the gateway only: never to the API, never stored here.
 *
 * Free of the DOM: the WebSocket constructor is a parameter, so tests drive it from Node against the real
 * gateway.
 */
import { z } from "zod";

export const SETUP_SCOPES = ["operator.read", "operator.write", "operator.admin"] as const;

/** The form, validated here before anything is signed or sent. */
export const modelSetupSchema = z.object({
  provider: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "provider: 1 to 32 lowercase letters, digits or -, e.g. openai or my-llm"),
  baseUrl: z
    .string()
    .trim()
    .max(2048, "base URL: at most 2048 characters")
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.username === "" && url.password === "" && url.hash === "";
      } catch {
        return false;
      }
    }, "base URL: an https:// (or http://) URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1, without credentials"),
  model: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "model: the model's id at that provider, e.g. gpt-4o-mini (letters, digits, . _ : / -)"),
  apiKey: z
    .string()
    .min(1, "API key: paste the provider's key")
    .max(1024, "API key: at most 1024 characters")
    .regex(/^[\x21-\x7e]+$/, "API key: printable characters without blanks"),
});
export type ModelSetup = z.infer<typeof modelSetupSchema>;

/** The merge patch `config.patch` applies (JSON, which OpenClaw's JSON5 reader takes). */
export function modelSetupPatch(setup: ModelSetup): string {
  return JSON.stringify({
    models: {
      mode: "merge",
      providers: {
        [setup.provider]: { baseUrl: setup.baseUrl, api: "openai-completions", apiKey: setup.apiKey, models: [{ id: setup.model, name: setup.model }] },
      },
    },
    agents: { defaults: { model: { primary: `${setup.provider}/${setup.model}` } } },
  });
}

interface Frame {
  type?: string;
  id?: string;
  event?: string;
  ok?: boolean;
  payload?: Record<string, unknown>;
  error?: { code?: string; message?: string; details?: { reason?: string } };
}

/** A gateway frame, or undefined for anything that is not JSON. */
function parseFrame(data: unknown): Frame | undefined {
  try {
    return JSON.parse(String(data)) as Frame;
  } catch {
    return undefined;
  }
}

type Socket = {
  send(data: string): void;
  close(): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
};
export type SocketConstructor = new (url: string) => Socket;

export class GatewaySetupError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "GatewaySetupError";
  }
}

/** One gateway connection through the proxy: the handshake with `scopes`, then requests by id. */
export class GatewaySession {
  private readonly waiting = new Map<string, (frame: Frame) => void>();
  private counter = 0;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.addEventListener("message", (event) => {
      const frame = parseFrame(event.data);
      if (frame?.type === "res" && frame.id !== undefined) {
        this.waiting.get(frame.id)?.(frame);
        this.waiting.delete(frame.id);
      }
    });
    socket.addEventListener("close", (event) => {
      this.closed = true;
      // The proxy says why it closed (docs/proxy.md, close codes): shown as it is.
      const message = `the connection to the gateway closed (${event.code}${event.reason ? `: ${event.reason}` : ""})`;
      for (const settle of this.waiting.values()) settle({ ok: false, error: { code: `CLOSED_${event.code}`, message } });
      this.waiting.clear();
    });
  }

  /** Opens `url` (a proxy ticket URL) and connects with `scopes`; the frame of a refused connect is thrown. */
  static open(url: string, scopes: readonly string[], Impl: SocketConstructor, timeoutMs = 30_000): Promise<GatewaySession> {
    return new Promise((resolve, reject) => {
      const socket = new Impl(url);
      const session = new GatewaySession(socket);
      const timer = setTimeout(() => {
        socket.close();
        reject(new GatewaySetupError(`no answer from the gateway within ${timeoutMs / 1000} s`, "TIMEOUT"));
      }, timeoutMs);
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new GatewaySetupError("the proxy connection failed", "UNREACHABLE"));
      });
      socket.addEventListener("message", (event) => {
        const frame = parseFrame(event.data);
        if (frame?.type !== "event" || frame.event !== "connect.challenge") return;
        void session
          .request("connect", {
            minProtocol: 3,
            maxProtocol: 4,
            client: { id: "cli", version: "clawstack-dashboard", platform: "web", mode: "cli" },
            role: "operator",
            scopes,
            caps: [],
          })
          .then((hello) => {
            clearTimeout(timer);
            if (hello.ok) return resolve(session);
            socket.close();
            const reason = hello.error?.details?.reason;
            reject(new GatewaySetupError(hello.error?.message ?? "the gateway refused the connection", reason === "scope-upgrade" || reason === "not-paired" || reason === "role-upgrade" ? "NOT_PAIRED" : hello.error?.code));
          });
      });
    });
  }

  request(method: string, params: Record<string, unknown>): Promise<Frame> {
    if (this.closed) return Promise.resolve({ ok: false, error: { code: "CLOSED", message: "the connection to the gateway is closed" } });
    const id = `setup-${++this.counter}`;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.send(JSON.stringify({ type: "req", id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

export interface SetupOptions {
  /** A fresh proxy ticket URL for each attempt (tickets are single-use). */
  ticketUrl: () => Promise<string>;
  Socket: SocketConstructor;
  onProgress?: (text: string) => void;
  /** How long to wait for the host to approve the upgrade (it checks every 30 s by default). */
  approvalTimeoutMs?: number;
  retryMs?: number;
}

/** Connects with admin (waiting for the host's approval), then `config.get` and `config.patch`. Returns the primary model. */
export async function applyModelSetup(setup: ModelSetup, options: SetupOptions): Promise<string> {
  const progress = options.onProgress ?? (() => undefined);
  const deadline = Date.now() + (options.approvalTimeoutMs ?? 180_000);
  let session: GatewaySession | undefined;
  progress("Connecting to your gateway through the proxy…");
  while (!session) {
    try {
      session = await GatewaySession.open(await options.ticketUrl(), SETUP_SCOPES, options.Socket);
    } catch (error) {
      if (!(error instanceof GatewaySetupError) || error.code !== "NOT_PAIRED" || Date.now() > deadline) throw error;
      progress("Waiting for your host to take the setup window (it checks every 30 s)…");
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 5_000));
    }
  }
  try {
    progress("Reading the gateway's configuration…");
    const current = await session.request("config.get", {});
    const baseHash = current.payload?.hash;
    if (!current.ok || typeof baseHash !== "string") throw new GatewaySetupError(`config.get failed: ${current.error?.message ?? "no hash in the answer"}`, current.error?.code);
    progress("Setting the model provider…");
    const patched = await session.request("config.patch", { raw: modelSetupPatch(setup), baseHash, note: "Claw Cloud dashboard: model provider" });
    if (!patched.ok) throw new GatewaySetupError(`the gateway refused the configuration: ${patched.error?.message ?? "no reason given"}`, patched.error?.code);
    return `${setup.provider}/${setup.model}`;
  } finally {
    session.close();
  }
}
