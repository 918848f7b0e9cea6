/**
 * One proxied WebSocket: the browser's socket on one side, the host's
 * gateway (pinned TLS) on the other. The bridge speaks the OpenClaw gateway
 * protocol (docs/proxy.md) only as far as it must:
 *
 *   gateway → client   `{type:"event", event:"connect.challenge"}` passed on untouched
 *   client → gateway   the first frame must be `{type:"req", method:"connect", params}`;
 *                      `params.auth` must be absent or empty and `params.device` absent;
 *                      the bridge sets `params.auth = {token}` (the host's gateway token)
 *   then               every frame both ways, untouched (never parsed, logged or kept)
 *
 * With the deployment's proxy device (`device-identity.ts`, docs/proxy.md
 * "Device identity"), the bridge also reads the challenge's `nonce` and `ts`,
 * holds the client's `connect` until the challenge came, adds `params.device`
 * signed over the connect's fields and the token, pins `client.platform` to
 * `clawstack-proxy` (OpenClaw pins a paired device's platform) and removes
 * the device token OpenClaw issues in `hello-ok.auth` (a credential of the
 * proxy's device, never the browser's).
 *
 * Content is never logged: per message only direction, size and the time it
 * spent in the proxy. A device identity is refused because its signature
 * covers the token, which the client never holds. Frames from the gateway
 * that contain the token are not passed on (the connection closes instead).
 *
 * Back-pressure: bytes sent towards a side but not yet written out are
 * counted; above the high-water mark the other side is paused (no more reads
 * from its socket, so TCP pushes back on its sender) until they drain.
 */
import { randomBytes } from "node:crypto";
import type { TLSSocket } from "node:tls";
import WebSocket, { type RawData } from "ws";
import { CLOSE_CODES, type CloseReason, isSendableCloseCode } from "./close-codes";
import { connectPinned, PinnedConnectError } from "./pinned-tls";
import { currentProxyDevice, type ProxyDeviceIdentity } from "./device-identity";
import type { ProxySettings } from "./settings";
import type { GatewayTarget } from "./target";

export type Direction = "upstream" | "downstream";

export interface BridgeLogger {
  level: string;
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface ConnectionMeta {
  connectionId: string;
  userId: string;
  instanceId: string;
  apiKeyId: string | null;
  /** When the ticket was issued (a sign-out after it closes the connection). */
  issuedAt: string;
  /** The owner's ticket while a gateway setup window is open: only then may `connect` ask for operator.admin. */
  adminWindow?: boolean;
}

/** Whether a `connect` frame asks for `scope` (false for anything that is not one). */
export function connectAsksFor(data: RawData, scope: string): boolean {
  try {
    const frame = JSON.parse(rawText(data)) as { params?: { scopes?: unknown } };
    return Array.isArray(frame.params?.scopes) && frame.params.scopes.includes(scope);
  } catch {
    return false;
  }
}

export interface BridgeSummary {
  meta: ConnectionMeta;
  openedAt: number;
  durationMs: number;
  bytesUpstream: number;
  bytesDownstream: number;
  messagesUpstream: number;
  messagesDownstream: number;
  closeCode: number;
  /** Which side or rule closed it: `client`, `gateway` or a `CloseReason`. */
  closedBy: string;
}

export function newConnectionId(): string {
  return `wsc_${randomBytes(9).toString("base64url")}`;
}

const CREDENTIAL_KEYS = ["token", "password", "deviceToken", "bootstrapToken"];

type HandshakeCheck = { ok: true; frame: string } | { ok: false; reason: CloseReason };

/** The platform a proxied connect declares: the device is the proxy, whatever browser is behind it. */
export const PROXY_DEVICE_PLATFORM = "clawstack-proxy";

export interface Challenge {
  nonce: string;
  ts: number;
}

/** `{nonce, ts}` of a `connect.challenge` event, or undefined for any other frame. */
export function readChallenge(data: RawData): Challenge | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(rawText(data));
  } catch {
    return undefined;
  }
  if (!isObject(frame) || frame.type !== "event" || frame.event !== "connect.challenge" || !isObject(frame.payload)) return undefined;
  const { nonce, ts } = frame.payload;
  return typeof nonce === "string" && nonce.length > 0 && typeof ts === "number" && Number.isSafeInteger(ts) && ts >= 0 ? { nonce, ts } : undefined;
}

/**
 * For the response to the client's connect: the frame with any device token OpenClaw issued to the proxy's
 * device removed (null: the response, nothing to remove). Any other frame: undefined.
 */
export function stripDeviceTokens(data: RawData, connectId: string): string | null | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(rawText(data));
  } catch {
    return undefined;
  }
  if (!isObject(frame) || frame.type !== "res" || frame.id !== connectId) return undefined;
  if (!isObject(frame.payload) || !isObject(frame.payload.auth)) return null;
  const { deviceToken: _token, deviceTokens: _tokens, ...auth } = frame.payload.auth;
  void _token;
  void _tokens;
  return JSON.stringify({ ...frame, payload: { ...frame.payload, auth } });
}

const DEVICE_TOKEN_KEYS = new Set(["deviceToken", "deviceTokens"]);
const DEVICE_TOKEN_MARK = Buffer.from('"deviceToken');

function withoutDeviceTokens(value: unknown, depth: number): unknown {
  if (depth > 32 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => withoutDeviceTokens(item, depth + 1));
  const kept: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (!DEVICE_TOKEN_KEYS.has(key)) kept[key] = withoutDeviceTokens(item, depth + 1);
  return kept;
}

/**
 * Any later gateway frame that carries a device token (OpenClaw answers `device.scopes.waitUpgrade` and
 * `device.token.rotate` with the proxy device's token in an ordinary response): the frame without it.
 * Undefined when the frame holds none (the common case, found by a byte search without parsing).
 */
export function stripLaterDeviceTokens(buffer: Buffer): string | undefined {
  if (!buffer.includes(DEVICE_TOKEN_MARK)) return undefined;
  let frame: unknown;
  try {
    frame = JSON.parse(buffer.toString("utf8"));
  } catch {
    return undefined;
  }
  return JSON.stringify(withoutDeviceTokens(frame, 0));
}

/**
 * The client's first frame with the gateway token put in (and, given the proxy's device and the
 * challenge, `params.device` signed over it); or why it is refused. Pure: tests call it directly.
 */
export function injectGatewayToken(data: RawData, token: string, signer?: { device: ProxyDeviceIdentity; challenge: Challenge }): HandshakeCheck {
  let frame: unknown;
  try {
    frame = JSON.parse(rawText(data));
  } catch {
    return { ok: false, reason: "badHandshake" };
  }
  if (!isObject(frame) || frame.type !== "req" || frame.method !== "connect" || typeof frame.id !== "string" || !isObject(frame.params)) {
    return { ok: false, reason: "badHandshake" };
  }
  const params = frame.params;
  if (params.device !== undefined && params.device !== null) return { ok: false, reason: "badHandshake" };
  if (params.auth !== undefined && params.auth !== null) {
    if (!isObject(params.auth)) return { ok: false, reason: "clientCredentials" };
    if (Object.keys(params.auth).length > 0 || CREDENTIAL_KEYS.some((key) => key in (params.auth as object))) {
      return { ok: false, reason: "clientCredentials" };
    }
  }
  const unsigned = { ok: true as const, frame: JSON.stringify({ ...frame, params: { ...params, auth: { token } } }) };
  const client = params.client;
  const role = params.role ?? "operator";
  const scopes = params.scopes ?? [];
  // A connect the gateway's schema refuses anyway goes on unsigned: the gateway answers it (and a device would add nothing).
  if (!signer || !isObject(client) || typeof client.id !== "string" || typeof client.mode !== "string") return unsigned;
  if (typeof role !== "string" || !Array.isArray(scopes) || !scopes.every((scope) => typeof scope === "string")) return unsigned;
  const { deviceFamily: _family, ...pinned } = client;
  void _family;
  const device = signer.device.sign({
    clientId: client.id,
    clientMode: client.mode,
    role,
    scopes: scopes as string[],
    token,
    nonce: signer.challenge.nonce,
    signedAt: signer.challenge.ts,
    platform: PROXY_DEVICE_PLATFORM,
  });
  const signed = { ...params, client: { ...pinned, platform: PROXY_DEVICE_PLATFORM }, role, scopes, auth: { token }, device };
  return { ok: true, frame: JSON.stringify({ ...frame, params: signed }) };
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function rawLength(data: RawData): number {
  if (Buffer.isBuffer(data)) return data.length;
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A `ws` client on an already connected, already pinned TLS socket: the upgrade request is written only now. */
export function openUpstream(socket: TLSSocket, target: GatewayTarget, settings: ProxySettings): WebSocket {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return new WebSocket(`wss://${host}:${target.port}/`, {
    createConnection: () => socket,
    maxPayload: settings.maxMessageBytes,
    perMessageDeflate: false,
    handshakeTimeout: settings.connectTimeoutMs,
  });
}

export class GatewayBridge {
  readonly openedAt = Date.now();
  lastActivity = Date.now();
  private upstream: WebSocket | undefined;
  private handshakeDone = false;
  /** Client frames that arrived before the gateway's socket was open (the `connect` request, usually). */
  private early: { data: RawData; isBinary: boolean; at: number }[] = [];
  private readonly queued: Record<Direction, number> = { upstream: 0, downstream: 0 };
  private readonly bytes: Record<Direction, number> = { upstream: 0, downstream: 0 };
  private readonly messages: Record<Direction, number> = { upstream: 0, downstream: 0 };
  private readonly awaitingPong = new Set<WebSocket>();
  private closed = false;
  private tokenBytes: Buffer | undefined;
  private challenge: Challenge | undefined;
  /** The id of the client's `connect`, until its response (whose device token is removed) came. */
  private connectId: string | undefined;
  private readonly device: ProxyDeviceIdentity | undefined;

  constructor(
    readonly client: WebSocket,
    readonly meta: ConnectionMeta,
    private readonly settings: ProxySettings,
    private readonly log: BridgeLogger,
    private readonly onClosed: (summary: BridgeSummary) => void,
    /** The deployment's proxy device; absent: the process's (`useProxyDevice`), if any. */
    device?: ProxyDeviceIdentity,
  ) {
    this.device = device ?? currentProxyDevice();
    client.on("message", (data, isBinary) => this.fromClient(data, isBinary));
    client.on("close", (code) => this.finish(code, "client"));
    client.on("error", () => this.finish(1006, "client"));
    client.on("pong", () => this.awaitingPong.delete(client));
  }

  /** Dials the pinned gateway and starts piping; a failure closes the client with the code that says why. */
  async connect(target: GatewayTarget): Promise<void> {
    this.tokenBytes = Buffer.from(target.token, "utf8");
    let socket: TLSSocket;
    try {
      socket = await connectPinned(target, this.settings.connectTimeoutMs);
    } catch (error) {
      const reason: CloseReason = error instanceof PinnedConnectError && error.reason === "certificate_mismatch" ? "certificateMismatch" : "hostUnreachable";
      this.log.warn({ event: "ws_gateway_refused", connectionId: this.meta.connectionId, userId: this.meta.userId, instanceId: this.meta.instanceId, reason }, "gateway connection failed");
      this.close(reason);
      return;
    }
    if (this.closed) {
      socket.destroy();
      return;
    }
    const upstream = openUpstream(socket, target, this.settings);
    this.upstream = upstream;
    upstream.on("open", () => {
      for (const frame of this.early.splice(0)) this.fromClient(frame.data, frame.isBinary, frame.at);
    });
    upstream.on("message", (data, isBinary) => this.fromGateway(data, isBinary));
    upstream.on("pong", () => this.awaitingPong.delete(upstream));
    upstream.on("unexpected-response", () => this.close("hostUnreachable"));
    upstream.on("error", () => this.close(upstream.readyState === WebSocket.CONNECTING ? "hostUnreachable" : "gatewayLost"));
    upstream.on("close", (code, reason) => {
      if (this.closed) return;
      if (isSendableCloseCode(code)) this.finishWith(code, reason.toString("utf8").slice(0, 120), "gateway");
      else this.close("gatewayLost");
    });
  }

  private fromClient(data: RawData, isBinary: boolean, at = performance.now()): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    const upstream = this.upstream;
    // With a device the connect waits for the challenge it signs.
    if (!upstream || upstream.readyState !== WebSocket.OPEN || (this.device && !this.handshakeDone && !this.challenge)) {
      // Only the handshake may arrive this early; a client that streams before it is refused.
      if (this.early.length >= 4) this.close("badHandshake");
      else this.early.push({ data, isBinary, at });
      return;
    }
    if (!this.handshakeDone) {
      // The host approves admin for the proxy's device only inside a window; outside one the proxy never asks
      // (a pending admin request would also hold up the device's next pairing).
      if (!this.meta.adminWindow && connectAsksFor(data, "operator.admin")) {
        this.close("adminOutsideWindow");
        return;
      }
      const checked = injectGatewayToken(data, this.tokenBytes!.toString("utf8"), this.device && this.challenge ? { device: this.device, challenge: this.challenge } : undefined);
      if (!checked.ok) {
        this.close(checked.reason);
        return;
      }
      this.handshakeDone = true;
      if (this.device) this.connectId = (JSON.parse(checked.frame) as { id: string }).id;
      // The rewritten frame carries the token: counted by the client's size, never logged.
      this.forward(this.client, upstream, checked.frame, false, rawLength(data), "upstream", at);
      return;
    }
    this.forward(this.client, upstream, data, isBinary, rawLength(data), "upstream", at);
  }

  private fromGateway(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const at = performance.now();
    this.lastActivity = Date.now();
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (this.tokenBytes && buffer.includes(this.tokenBytes)) {
      this.close("tokenLeak");
      return;
    }
    if (this.device && !this.handshakeDone && !this.challenge) {
      this.challenge = readChallenge(buffer);
      if (this.challenge) for (const frame of this.early.splice(0)) this.fromClient(frame.data, frame.isBinary, frame.at);
    } else if (this.connectId !== undefined) {
      const stripped = stripDeviceTokens(buffer, this.connectId);
      if (stripped !== undefined) this.connectId = undefined;
      if (typeof stripped === "string") {
        this.forward(this.upstream!, this.client, stripped, false, buffer.length, "downstream", at);
        return;
      }
    }
    // The proxy device's credentials never reach the client, whichever method returned one.
    const withoutTokens = this.device && !isBinary ? stripLaterDeviceTokens(buffer) : undefined;
    if (withoutTokens !== undefined) {
      this.forward(this.upstream!, this.client, withoutTokens, false, buffer.length, "downstream", at);
      return;
    }
    this.forward(this.upstream!, this.client, buffer, isBinary, buffer.length, "downstream", at);
  }

  private forward(from: WebSocket, to: WebSocket, data: RawData | string, isBinary: boolean, size: number, direction: Direction, at: number): void {
    if (to.readyState !== WebSocket.OPEN) return;
    this.bytes[direction] += size;
    this.messages[direction] += 1;
    this.queued[direction] += size;
    if (this.queued[direction] > this.settings.highWaterBytes) from.pause();
    to.send(data, { binary: isBinary }, () => {
      this.queued[direction] -= size;
      if (this.queued[direction] <= this.settings.highWaterBytes / 2 && from.isPaused) from.resume();
      if (this.log.level === "debug" || this.log.level === "trace") {
        this.log.debug(
          { event: "ws_message", connectionId: this.meta.connectionId, userId: this.meta.userId, instanceId: this.meta.instanceId, direction, bytes: size, latencyMs: Math.round((performance.now() - at) * 1000) / 1000 },
          "ws message",
        );
      }
    });
  }

  /** Bytes handed to each side's socket and not yet written out (what back-pressure bounds). */
  queuedBytes(): Readonly<Record<Direction, number>> {
    return { ...this.queued };
  }

  /** Called by the connection registry's sweep: idle timeout and ping/pong, both sides. */
  tick(now: number): void {
    if (this.closed) return;
    if (now - this.lastActivity >= this.settings.idleTimeoutMs || this.awaitingPong.size > 0) {
      this.close("idle");
      return;
    }
    for (const side of [this.client, this.upstream]) {
      if (side && side.readyState === WebSocket.OPEN) {
        this.awaitingPong.add(side);
        side.ping();
      }
    }
  }

  close(reason: CloseReason): void {
    const { code, reason: text } = CLOSE_CODES[reason];
    this.finishWith(code, text, reason);
  }

  private finishWith(code: number, reason: string, closedBy: string): void {
    if (this.closed) return;
    if (this.client.readyState === WebSocket.OPEN) this.client.close(code, reason);
    else this.client.terminate();
    this.finish(code, closedBy);
  }

  private finish(code: number, closedBy: string): void {
    if (this.closed) return;
    this.closed = true;
    this.early = [];
    if (this.upstream && this.upstream.readyState !== WebSocket.CLOSED) {
      if (this.upstream.readyState === WebSocket.OPEN) this.upstream.close(1000);
      else this.upstream.terminate();
    }
    // A client that does not answer the close handshake is cut after a second.
    setTimeout(() => this.client.terminate(), 1_000).unref();
    this.tokenBytes?.fill(0);
    this.onClosed({
      meta: this.meta,
      openedAt: this.openedAt,
      durationMs: Date.now() - this.openedAt,
      bytesUpstream: this.bytes.upstream,
      bytesDownstream: this.bytes.downstream,
      messagesUpstream: this.messages.upstream,
      messagesDownstream: this.messages.downstream,
      closeCode: code,
      closedBy,
    });
  }
}
