/**
 * The HTTP surface on both engines: security headers, CORS allow-list, body
 * limits, bad input answered with a 4xx naming the field, hidden 5xx details,
 * nothing half-written, the served OpenAPI document, and rate limits (in
 * process, and shared through Redis by two API instances).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTool } from "../harness/tools";
import { bearer, countRows, engines, json, newAccount, remember, scanForSecrets, type Session, signUp, startApi, type TestApi } from "./support";

describe.each(engines("the HTTP suite"))("HTTP surface on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let session: Session;

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine, env: { CLAWSTACK_CORS_ORIGINS: "https://app.example.com" } });
    session = await signUp(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  describe.skipIf(skip)("request log", () => {
    it("writes one line per request when it is answered: method, path without the query, address, status, time", async () => {
      const before = api.logs.length;
      const response = await api.inject({ method: "GET", url: "/v1/me?token=query-secret-0123", headers: bearer(session.accessToken), remoteAddress: "203.0.113.9" });
      expect(response.statusCode).toBe(200);
      const lines = api.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
      const mine = lines.filter((line) => (line.req as { id?: string } | undefined)?.id === response.headers["x-request-id"] || line.reqId === response.headers["x-request-id"]);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ msg: "request completed", req: { method: "GET", path: "/v1/me", remoteAddress: "203.0.113.9" }, res: { statusCode: 200 } });
      expect(typeof mine[0]?.responseTime).toBe("number");
      expect(api.logs.slice(before).join("")).not.toContain("query-secret-0123");
      expect(api.logs.slice(before).join("")).not.toContain(session.accessToken);
    });
  });

  describe.skipIf(skip)("headers", () => {
    it("sends CSP, nosniff, frame denial, HSTS and no referrer on every answer", async () => {
      for (const url of ["/healthz", "/v1/me", "/nope"]) {
        const response = await api.inject({ method: "GET", url });
        expect(response.headers["content-security-policy"]).toContain("default-src 'none'");
        expect(response.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
        expect(response.headers["x-content-type-options"]).toBe("nosniff");
        expect(response.headers["x-frame-options"]).toBe("DENY");
        expect(response.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
        expect(response.headers["referrer-policy"]).toBe("no-referrer");
        expect(response.headers["x-powered-by"]).toBeUndefined();
      }
    });

    it("allows cross-origin calls only from the configured origins", async () => {
      const preflight = (origin: string) =>
        api.inject({
          method: "OPTIONS",
          url: "/v1/me",
          headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
        });
      const allowed = await preflight("https://app.example.com");
      expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example.com");
      const other = await preflight("https://evil.example.com");
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
      const simple = await api.inject({ method: "GET", url: "/healthz", headers: { origin: "https://evil.example.com" } });
      expect(simple.headers["access-control-allow-origin"]).toBeUndefined();
    });

    it("allows no cross-origin call at all by default", async () => {
      const closed = await startApi({ engine, share: api });
      try {
        const response = await closed.inject({
          method: "OPTIONS",
          url: "/v1/me",
          headers: { origin: "https://app.example.com", "access-control-request-method": "GET" },
        });
        expect(response.headers["access-control-allow-origin"]).toBeUndefined();
      } finally {
        await closed.close();
      }
    });
  });

  describe.skipIf(skip)("bad input", () => {
    const post = (url: string, payload: string, headers: Record<string, string> = {}) =>
      api.inject({ method: "POST", url, payload, headers: { "content-type": "application/json", ...headers } });

    it("answers malformed JSON, wrong types, unknown fields and a non-object body with a 400 naming the problem", async () => {
      const users = await countRows(api, "users");
      const malformed = await post("/v1/auth/register", '{"email": "a@example.com", "password": ');
      expect(malformed.statusCode).toBe(400);
      expect(json(malformed).message).toContain("malformed JSON");

      const types = await post("/v1/auth/register", JSON.stringify({ email: 5, password: "long-enough-password" }));
      expect(types.statusCode).toBe(400);
      expect(json(types)).toMatchObject({ field: "body.email" });
      expect(json(types).message).toMatch(/^`body\.email`: .*string/);

      const unknown = await post("/v1/auth/register", JSON.stringify({ email: "b@example.com", password: "long-enough-password", role: "admin" }));
      expect(unknown.statusCode).toBe(400);
      expect(json(unknown)).toMatchObject({ field: "body.role" });
      expect(json(unknown).message).toContain("unknown field `role`");

      const array = await post("/v1/auth/register", "[1,2]");
      expect(array.statusCode).toBe(400);
      expect(json(array).field).toBe("body");

      const empty = await post("/v1/auth/register", "");
      expect(empty.statusCode).toBe(400);

      const proto = await post("/v1/auth/register", '{"email":"c@example.com","password":"long-enough-password","__proto__":{"role":"admin"}}');
      expect(proto.statusCode).toBe(400);

      const query = await api.inject({ method: "GET", url: "/v1/audit?limit=5&secret=1", headers: bearer(session.accessToken) });
      expect(query.statusCode).toBe(400);
      expect(json(query)).toMatchObject({ field: "querystring.secret" });
      const range = await api.inject({ method: "GET", url: "/v1/audit?limit=100000", headers: bearer(session.accessToken) });
      expect(json(range)).toMatchObject({ statusCode: 400, field: "querystring.limit" });
      expect(json(range).message).toContain("500");

      remember(api, "long-enough-password");
      expect(await countRows(api, "users")).toBe(users);
    });

    it("refuses a body over the limit with 413 and a non-JSON content type with 415", async () => {
      const credentials = await countRows(api, "credentials");
      const big = await api.inject({
        method: "POST",
        url: "/v1/credentials",
        headers: { ...bearer(session.accessToken), "content-type": "application/json" },
        payload: JSON.stringify({ kind: "gcp", name: "x", config: { padding: "x".repeat(70 * 1024) } }),
      });
      expect(big.statusCode).toBe(413);
      expect(json(big).message).toContain("65536-byte limit");
      expect(await countRows(api, "credentials")).toBe(credentials);

      const text = await api.inject({
        method: "POST",
        url: "/v1/auth/login",
        headers: { "content-type": "text/plain" },
        payload: "email=a&password=b",
      });
      expect(text.statusCode).toBe(415);
      expect(json(text).message).toContain("application/json");
    });

    it("names an unknown route and method", async () => {
      const response = await api.inject({ method: "GET", url: "/v1/nothing?token=abc" });
      expect(response.statusCode).toBe(404);
      expect(json(response).message).toBe("no route `GET /v1/nothing`");
    });
  });

  describe.skipIf(skip)("failures", () => {
    it("writes a registration all or nothing, and hides 5xx details from the client (not from the log)", async () => {
      const detail = `boom-internal-detail-${engine}`;
      if (engine === "sqlite") {
        await sql.raw(`CREATE TRIGGER fail_user_keys BEFORE INSERT ON user_keys BEGIN SELECT RAISE(ABORT, '${detail}'); END`).execute(api.app.db);
      } else {
        await sql.raw(`CREATE FUNCTION fail_user_keys() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '${detail}'; END $$ LANGUAGE plpgsql`).execute(api.app.db);
        await sql.raw("CREATE TRIGGER fail_user_keys BEFORE INSERT ON user_keys FOR EACH ROW EXECUTE FUNCTION fail_user_keys()").execute(api.app.db);
      }
      const users = await countRows(api, "users");
      const account = newAccount(api, "atomic");
      try {
        const response = await api.inject({ method: "POST", url: "/v1/auth/register", payload: account });
        expect(response.statusCode).toBe(500);
        const body = json(response);
        expect(body).toEqual({ statusCode: 500, error: "Internal Server Error", message: `internal error (request ${String(body.requestId)})`, requestId: body.requestId });
        expect(response.body).not.toContain(detail);
        expect(api.logs.some((line) => line.includes(detail) && line.includes(String(body.requestId)))).toBe(true);
        // The users row was inserted before the failing user_keys row: the transaction took it back.
        expect(await countRows(api, "users")).toBe(users);
        expect(await api.app.db.selectFrom("users").select("id").where("email", "=", account.email).execute()).toEqual([]);
      } finally {
        await sql.raw("DROP TRIGGER fail_user_keys" + (engine === "postgres" ? " ON user_keys" : "")).execute(api.app.db);
      }
      const retry = await api.inject({ method: "POST", url: "/v1/auth/register", payload: account });
      expect(retry.statusCode).toBe(201);
    });
  });

  describe.skipIf(skip)("OpenAPI", () => {
    it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
      const response = await api.inject({ method: "GET", url: "/openapi.json" });
      expect(response.statusCode).toBe(200);
      const spec = response.json() as {
        openapi: string;
        paths: Record<string, Record<string, { security?: unknown; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      expect(spec.openapi).toBe("3.1.0");
      for (const path of ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/v1/me", "/v1/api-keys", "/v1/api-keys/{id}", "/v1/credentials", "/v1/credentials/{id}/test", "/v1/audit", "/v1/admin/users", "/healthz"]) {
        expect(spec.paths, path).toHaveProperty([path]);
      }
      expect(spec.components.securitySchemes).toHaveProperty("bearerAuth");
      expect(spec.paths["/v1/me"]!.get!.security).toEqual([{ bearerAuth: [] }]);
      const login = spec.paths["/v1/auth/login"]!.post!.requestBody!.content["application/json"]!.schema;
      expect(login).toMatchObject({ additionalProperties: false, required: ["email", "password"] });
      const credential = JSON.stringify(spec.paths["/v1/credentials"]!.post!.requestBody);
      for (const kind of ["aws", "gcp", "digitalocean"]) expect(credential).toContain(`"enum":["${kind}"]`);
    });
  });

  describe.skipIf(skip)("the secret scan", () => {
    it("leaves no password or token in plaintext in the database or the logs", async () => {
      expect(await scanForSecrets(api)).toEqual([]);
    });
  });
});

describe.each(engines("the rate-limit suite"))("rate limits on $engine", ({ engine, skip }) => {
  it.skipIf(skip)("allows 100 requests a minute per address by default, 10 on login, and answers 429 with Retry-After", async () => {
    const api = await startApi({ engine, env: { CLAWSTACK_RATE_LIMIT: "100", CLAWSTACK_LOGIN_RATE_LIMIT: "10" } });
    try {
      const from = (remoteAddress: string, url = "/healthz") => api.inject({ method: "GET", url, remoteAddress });
      for (let i = 0; i < 100; i += 1) expect((await from("203.0.113.1")).statusCode).toBe(200);
      const limited = await from("203.0.113.1");
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      expect(json(limited).message).toMatch(/rate limit/i);
      expect((await from("203.0.113.2")).statusCode).toBe(200);

      const attempt = () =>
        api.inject({ method: "POST", url: "/v1/auth/login", remoteAddress: "203.0.113.3", payload: { email: "x@example.com", password: "guess-guess-guess" } });
      for (let i = 0; i < 10; i += 1) expect((await attempt()).statusCode).toBe(401);
      expect((await attempt()).statusCode).toBe(429);
    } finally {
      await api.close();
    }
  });
});

describe.each(engines("the limiter-order suite"))("the limiter counts every request before authentication, on $engine", ({ engine, skip }) => {
  it.skipIf(skip)("counts refused, unauthenticated, API-key-guess and unknown-route requests in the per-address bucket", async () => {
    const api = await startApi({ engine, env: { CLAWSTACK_RATE_LIMIT: "6", CLAWSTACK_LOGIN_RATE_LIMIT: "100" } });
    try {
      const session = await signUp(api);
      const from = (url: string, headers: Record<string, string> = {}) => api.inject({ method: "GET", url, headers, remoteAddress: "203.0.113.20" });
      const refused = [
        await from("/v1/me"),
        await from("/v1/me", bearer("not-a-token")),
        await from(`/v1/me`, bearer(`clk_${"A".repeat(12)}_${"B".repeat(43)}`)),
        await from("/v1/admin/users", bearer(session.accessToken)),
        await from("/v1/nothing"),
        await from("/v1/audit?limit=0", bearer(session.accessToken)),
      ];
      expect(refused.map((response) => response.statusCode)).toEqual([401, 401, 401, 403, 404, 400]);
      // The seventh request is refused before authentication, however good its token.
      const limited = await from("/v1/me", bearer(session.accessToken));
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      expect(limited.headers["x-content-type-options"]).toBe("nosniff");
      expect(json(limited).requestId).toBe(limited.headers["x-request-id"]);
      // Other addresses are not affected.
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(session.accessToken), remoteAddress: "203.0.113.21" })).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });

  it.skipIf(skip)("keeps the stricter buckets for invitations and host registration, counting refused attempts", async () => {
    const api = await startApi({ engine, env: { CLAWSTACK_RATE_LIMIT: "1000", CLAWSTACK_LOGIN_RATE_LIMIT: "3" } });
    try {
      const user = await signUp(api);
      const invite = () =>
        api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(user.accessToken), payload: { email: "x@example.com" }, remoteAddress: "203.0.113.30" });
      for (let i = 0; i < 3; i += 1) expect((await invite()).statusCode).toBe(403);
      expect((await invite()).statusCode).toBe(429);

      const registerHost = () =>
        api.inject({
          method: "POST",
          url: `/v1/instances/inst_${"0".repeat(32)}/register`,
          payload: { registrationToken: `csreg_${"A".repeat(43)}`, gatewayToken: "a".repeat(64), tlsCertSha256: "ab".repeat(32) },
          remoteAddress: "203.0.113.31",
        });
      for (let i = 0; i < 3; i += 1) expect((await registerHost()).statusCode).toBe(401);
      expect((await registerHost()).statusCode).toBe(429);
    } finally {
      await api.close();
    }
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "pipe" });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start in 10 s")), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${String(code)}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

describe("rate limits shared through Redis", () => {
  const haveRedis = requireTool("redis-server", "the Redis-backed rate-limit test");

  it.skipIf(!haveRedis)("counts requests of two API processes together when REDIS_URL is set", async () => {
    const redis = await startRedis();
    const first = await startApi({ engine: "sqlite", env: { REDIS_URL: redis.url, CLAWSTACK_RATE_LIMIT: "5" } });
    const second = await startApi({ engine: "sqlite", share: first, env: { REDIS_URL: redis.url, CLAWSTACK_RATE_LIMIT: "5" } });
    try {
      const hit = (api: TestApi) => api.inject({ method: "GET", url: "/healthz", remoteAddress: "198.51.100.7" });
      for (let i = 0; i < 3; i += 1) expect((await hit(first)).statusCode).toBe(200);
      for (let i = 0; i < 2; i += 1) expect((await hit(second)).statusCode).toBe(200);
      expect((await hit(second)).statusCode).toBe(429);
      expect((await hit(first)).statusCode).toBe(429);

      // Redis gone: requests are refused (503), not let through unlimited.
      const gone = new Promise((done) => redis.process.once("exit", done));
      redis.process.kill("SIGTERM");
      await gone;
      const refused = await hit(first);
      expect(refused.statusCode).toBe(503);
      expect(json(refused).message).toContain("rate-limit store");
    } finally {
      redis.process.kill("SIGKILL");
      await second.close();
      await first.close();
    }

    // The control: without Redis each process counts on its own.
    const alone = await startApi({ engine: "sqlite", env: { CLAWSTACK_RATE_LIMIT: "5" } });
    const other = await startApi({ engine: "sqlite", share: alone, env: { CLAWSTACK_RATE_LIMIT: "5" } });
    try {
      for (let i = 0; i < 5; i += 1) expect((await alone.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
      expect((await other.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await other.close();
      await alone.close();
    }
  });
});
