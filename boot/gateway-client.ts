import { randomUUID } from "node:crypto";
import WebSocket from "ws";

/**
 * A minimal OpenClaw gateway protocol client (protocol 4, as checked against
 * the real gateway: docs/boot.md): the `connect.challenge` / `connect` /
 * `hello-ok` handshake with the gateway token, then requests and events.
 * Over TLS it accepts exactly one certificate, by SHA-256 fingerprint (the
 * host's certificate is self-signed and pinned, as clients do in production).
 */
export interface GatewayFrame {
  type: string;
  id?: string;
  ok?: boolean;
  event?: string;
  method?: string;
  payload?: unknown;
  error?: { code?: string; message?: string };
}

export interface GatewayConnection {
  hello: Record<string, unknown>;
  request(method: string, params: unknown, timeoutMs?: number): Promise<unknown>;
  /** Resolves with the first event (already received or future) that `match` accepts. */
  waitForEvent(match: (frame: GatewayFrame) => boolean, timeoutMs: number): Promise<GatewayFrame>;
  close(): void;
}

export interface ConnectOptions {
  url: string;
  token: string;
  /** `AB:CD:...` or hex; required for wss:// URLs. */
  pinnedSha256?: string;
  scopes?: string[];
  timeoutMs?: number;
  /** Extra upgrade-request headers (tests only). */
  headers?: Record<string, string>;
}

function normalizeFingerprint(value: string): string {
  return value.replace(/:/g, "").toLowerCase();
}

export function connectGateway(options: ConnectOptions): Promise<GatewayConnection> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const tlsOptions = options.url.startsWith("wss://")
    ? {
        // Self-signed per host: trust exactly the pinned certificate, nothing else.
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      }
    : {};
  const socket = new WebSocket(options.url, { ...tlsOptions, handshakeTimeout: timeoutMs, ...(options.headers ? { headers: options.headers } : {}) });
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const events: GatewayFrame[] = [];
  const waiters = new Set<{ match: (frame: GatewayFrame) => boolean; resolve: (frame: GatewayFrame) => void }>();
  let closedReason = "";

  socket.on("upgrade", (response) => {
    if (options.pinnedSha256 === undefined) return;
    const certificate = (response.socket as import("node:tls").TLSSocket).getPeerCertificate?.();
    const actual = certificate?.fingerprint256 ? normalizeFingerprint(certificate.fingerprint256) : "";
    if (actual !== normalizeFingerprint(options.pinnedSha256)) {
      closedReason = "the gateway presented a certificate other than the pinned one";
      socket.terminate();
    }
  });

  const send = (frame: object) => socket.send(JSON.stringify(frame));
  const request = (method: string, params: unknown, requestTimeoutMs = timeoutMs): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer within ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      send({ type: "req", id, method, params });
    });

  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      reject(error);
      socket.terminate();
    };
    const handshakeTimer = setTimeout(() => fail(new Error(`no hello-ok within ${timeoutMs} ms`)), timeoutMs);
    socket.on("error", (error) => fail(new Error(closedReason || error.message)));
    socket.on("close", (code, reason) => {
      const error = new Error(closedReason || `closed ${code} ${reason.toString()}`);
      for (const entry of pending.values()) entry.reject(error);
      fail(error);
    });
    socket.on("message", (data) => {
      let frame: GatewayFrame;
      try {
        frame = JSON.parse(data.toString()) as GatewayFrame;
      } catch {
        return;
      }
      if (frame.type === "res" && frame.id !== undefined) {
        const entry = pending.get(frame.id);
        if (!entry) return;
        pending.delete(frame.id);
        if (frame.ok) entry.resolve(frame.payload);
        else entry.reject(new Error(`${frame.error?.code ?? "error"}: ${frame.error?.message ?? "refused"}`));
        return;
      }
      if (frame.type !== "event") return;
      if (frame.event === "connect.challenge") {
        request("connect", {
          minProtocol: 3,
          maxProtocol: 4,
          client: { id: "cli", version: "clawstack-boot", platform: "linux", mode: "cli" },
          role: "operator",
          scopes: options.scopes ?? ["operator.read", "operator.write", "operator.admin"],
          caps: [],
          auth: { token: options.token },
        }).then((hello) => {
          clearTimeout(handshakeTimer);
          resolve({
            hello: hello as Record<string, unknown>,
            request,
            waitForEvent: (match, waitMs) => {
              const seen = events.find(match);
              if (seen) return Promise.resolve(seen);
              return new Promise((resolveEvent, rejectEvent) => {
                const waiter = {
                  match,
                  resolve: (found: GatewayFrame) => {
                    clearTimeout(timer);
                    waiters.delete(waiter);
                    resolveEvent(found);
                  },
                };
                const timer = setTimeout(() => {
                  waiters.delete(waiter);
                  rejectEvent(new Error(`no matching event within ${waitMs} ms`));
                }, waitMs);
                waiters.add(waiter);
              });
            },
            close: () => socket.close(),
          });
        }, fail);
        return;
      }
      events.push(frame);
      if (events.length > 2000) events.shift();
      for (const waiter of [...waiters]) if (waiter.match(frame)) waiter.resolve(frame);
    });
  });
}
