/**
 * Answers the framework writes itself, over a real TCP socket: an over-long path parameter (414),
 * a path that is not valid percent-encoding (400), a request the HTTP parser refuses (400:
 * bad framing, both Content-Length and Transfer-Encoding, a bad request line), oversized headers
 * (431), an unknown route (404) and an oversized body (413). Each must carry the same security
 * headers as an ordinary answer, an `X-Request-Id`, and the API's error body naming the field with
 * that same request id.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, startApi, type TestApi } from "./support";

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` as bytes and reads until the server closes or the answer is complete. */
function rawRequest(port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${JSON.stringify(request.slice(0, 60))}`));
    }, 10_000);
    const finish = () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (split === -1) return false;
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = text.slice(split + 4);
      const length = Number(headers["content-length"] ?? Number.NaN);
      if (Number.isFinite(length) && Buffer.byteLength(body) < length) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body });
      return true;
    };
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (!finish()) {
        clearTimeout(timer);
        reject(new Error(`connection closed without an answer to ${JSON.stringify(request.slice(0, 60))}`));
      }
    });
    socket.write(request);
  });
}

/** The headers an ordinary answer carries that say nothing about this particular answer. */
const PER_ANSWER = new Set(["date", "content-type", "content-length", "connection", "keep-alive", "x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"]);

describe.each(engines("the raw HTTP suite"))("answers Fastify and Node write themselves, on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let port: number;
  let securityHeaders: Record<string, string>;

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine });
    await api.app.listen({ host: "127.0.0.1", port: 0 });
    port = (api.app.server.address() as { port: number }).port;
    const ordinary = await rawRequest(port, "GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
    expect(ordinary.status).toBe(200);
    securityHeaders = Object.fromEntries(Object.entries(ordinary.headers).filter(([name]) => !PER_ANSWER.has(name)));
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("an ordinary answer carries the security headers and a request id", async () => {
    expect(securityHeaders).toMatchObject({
      "content-security-policy": expect.stringContaining("default-src 'none'"),
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "strict-transport-security": "max-age=31536000; includeSubDomains",
      "referrer-policy": "no-referrer",
    });
    const answer = await rawRequest(port, "GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
    expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  const cases: [string, () => string, number, string][] = [
    ["an over-long path parameter", () => `GET /v1/instances/${"x".repeat(300)} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n`, 414, "params"],
    ["a path that is not percent-encoding", () => "GET /v1/instances/%ZZ HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n", 400, "url"],
    ["malformed framing (a non-numeric Content-Length)", () => "POST /v1/auth/login HTTP/1.1\r\nHost: api\r\nContent-Length: ten\r\n\r\n", 400, "request"],
    [
      "both Content-Length and Transfer-Encoding",
      () => "POST /v1/auth/login HTTP/1.1\r\nHost: api\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
      "request",
    ],
    ["a request line that is not HTTP", () => "HELLO\r\n\r\n", 400, "request"],
    ["a NUL byte in the request line", () => "GET /v1/me\u0000 HTTP/1.1\r\nHost: api\r\n\r\n", 400, "request"],
    ["oversized headers", () => `GET /healthz HTTP/1.1\r\nHost: api\r\nX-Padding: ${"x".repeat(20_000)}\r\n\r\n`, 431, "headers"],
    ["an over-long URL", () => `GET /v1/${"x".repeat(20_000)} HTTP/1.1\r\nHost: api\r\n\r\n`, 431, "headers"],
  ];

  it.skipIf(skip).each(cases)("%s: %i with the security headers, a request id and the field", async (_name, request, status, field) => {
    const answer = await rawRequest(port, request());
    expect(answer.status).toBe(status);
    expect(answer.headers).toMatchObject(securityHeaders);
    const requestId = answer.headers["x-request-id"];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const body = JSON.parse(answer.body) as { statusCode: number; field?: string; requestId: string; message: string };
    expect(body).toMatchObject({ statusCode: status, field, requestId });
    expect(body.message).toContain(`\`${field}\``);
  });

  it.skipIf(skip)("an unknown route (404) and an oversized body (413) carry them too", async () => {
    const missing = await rawRequest(port, "GET /v1/nothing HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
    expect(missing.status).toBe(404);
    expect(missing.headers).toMatchObject(securityHeaders);
    expect(JSON.parse(missing.body)).toMatchObject({ requestId: missing.headers["x-request-id"] });

    const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(70 * 1024) });
    const tooLarge = await rawRequest(port, `POST /v1/auth/login HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers).toMatchObject(securityHeaders);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ field: "body", requestId: tooLarge.headers["x-request-id"] });
  });

  it.skipIf(skip)("the request id of an answer is the one in the log", async () => {
    const answer = await rawRequest(port, "GET /v1/me HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
    expect(answer.status).toBe(401);
    const requestId = answer.headers["x-request-id"]!;
    expect(JSON.parse(answer.body)).toMatchObject({ requestId });
    expect(api.logs.some((line) => line.includes(requestId))).toBe(true);
  });
});
