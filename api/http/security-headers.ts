/**
 * The headers every answer carries, whoever writes it: the routes, the error handler, Fastify
 * itself (bad URL, over-long parameter, 503 while closing), or the raw-socket answer to a
 * request Node's HTTP parser refused (400 framing, 431 headers). One table, three writers:
 *
 * - `stampResponse(res, id)` sets them on the `ServerResponse` before Fastify sees the request
 *   (the server factory in `api/app.ts`) and again in the first `onRequest` hook (for `inject`);
 * - `rawErrorAnswer(...)` writes them by hand into the socket answer of `clientError`.
 *
 * The request id is generated here too, so the answer's `X-Request-Id` is the id in the log and
 * in the error body.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "DENY",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
};

export const REQUEST_ID_HEADER = "x-request-id";

const requestIds = new WeakMap<IncomingMessage, string>();

/** The id of this request: made once, on first use (the server factory, or Fastify's `genReqId`). */
export function requestIdOf(request: IncomingMessage): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    id = randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

/** Sets the security headers and the request id on an answer not yet written. */
export function stampResponse(request: IncomingMessage, response: ServerResponse): void {
  if (response.headersSent) return;
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  response.setHeader(REQUEST_ID_HEADER, requestIdOf(request));
}

/**
 * A complete HTTP/1.1 answer for a request the parser refused (there is no request object, so a
 * fresh id), in the API's error shape, closing the connection.
 */
export function rawErrorAnswer(statusCode: number, reason: string, message: string, field?: string): { text: string; requestId: string } {
  const requestId = randomUUID();
  const body = JSON.stringify({ statusCode, error: reason, message, ...(field !== undefined ? { field } : {}), requestId });
  const headers = {
    ...SECURITY_HEADERS,
    [REQUEST_ID_HEADER]: requestId,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    connection: "close",
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return { text: `HTTP/1.1 ${statusCode} ${reason}\r\n${head.join("\r\n")}\r\n\r\n${body}`, requestId };
}
