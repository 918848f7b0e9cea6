/**
 * Rotation under load (issue 20): six client loops read, write and test
 * credentials over real HTTP (keep-alive) and refresh their access tokens
 * before expiry, while the operator CLI (a separate process, as in
 * production) runs master-key add → rewrap → retire and jwt rotate → retire
 * with no restart (the processes reload the key file on their own), and the
 * owner of a host rotates its gateway token (the host re-registers). Zero
 * failed requests, and afterwards every credential opens with only the new
 * key. SQLite with one API process; PostgreSQL with two API processes (two
 * apps with their own pools and heartbeats in this test process) behind a
 * round-robin client.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGatewayToken, storeGatewayToken } from "../../api/registration/gateway-tokens";
import { insertInstance } from "./jobs/support/db";
import { engines, remember, type Session, signUp, startApi, type TestApi } from "./support";

const run = promisify(execFile);
const CLIENTS = 6;
const TOKEN_TTL_SECONDS = 10;

async function startDigitalOceanStandIn(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(request.method === "GET" ? 200 : 422, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.each(engines("the rotation-under-load suite"))("rotation under load on $engine", ({ engine, skip }) => {
  let stand: Awaited<ReturnType<typeof startDigitalOceanStandIn>>;
  const apis: TestApi[] = [];
  const bases: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    stand = await startDigitalOceanStandIn();
    const env = {
      CLAWSTACK_DIGITALOCEAN_API_URL: stand.url,
      CLAWSTACK_KEY_RELOAD_MS: "200",
      CLAWSTACK_ACCESS_TOKEN_TTL: String(TOKEN_TTL_SECONDS),
      CLAWSTACK_EMBEDDED_WORKER: "off",
      LOG_LEVEL: "warn",
    };
    const first = await startApi({ engine, env });
    apis.push(first);
    if (engine === "postgres") apis.push(await startApi({ engine, share: first, env }));
    for (const api of apis) {
      await api.app.listen({ host: "127.0.0.1", port: 0 });
      bases.push(`http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`);
    }
  });
  afterAll(async () => {
    for (const api of apis.reverse()) await api.close();
    stand?.server.close();
  });

  const cli = async (...args: string[]): Promise<string> => {
    const api = apis[0]!;
    const env = {
      PATH: process.env.PATH,
      CLAWSTACK_DATA_DIR: api.dataDir,
      CLAWSTACK_ARGON2_MEMORY_KIB: "8192",
      CLAWSTACK_KEY_RELOAD_MS: "200",
      CLAWSTACK_ACCESS_TOKEN_TTL: String(TOKEN_TTL_SECONDS),
      ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}),
    };
    const { stdout } = await run(process.execPath, ["--import", "tsx", "api/auth/admin-cli.ts", ...args], { env, cwd: process.cwd() });
    return stdout;
  };

  it.skipIf(skip)("master key add → rewrap → retire and JWT rotate → retire lose no request and no data", async () => {
    const api = apis[0]!;
    const sessions: Session[] = [];
    for (let i = 0; i < CLIENTS; i += 1) sessions.push(await signUp(api, `load${i}`));
    let stop = false;
    const failures: string[] = [];
    const counts = { ok: 0, writes: 0, tests: 0, refreshes: 0 };
    const kidsSeen = new Set<string>();

    const client = async (index: number) => {
      const session = sessions[index]!;
      let access = session.accessToken;
      let refresh = session.refreshToken;
      let issuedAt = Date.now();
      let turn = index;
      const call = async (method: string, path: string, body?: unknown, token = access): Promise<Record<string, unknown> | undefined> => {
        const base = bases[turn++ % bases.length]!;
        try {
          const response = await fetch(`${base}${path}`, {
            method,
            headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
            body: body ? JSON.stringify(body) : undefined,
          });
          const text = await response.text();
          if (response.status >= 300) {
            failures.push(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
            return undefined;
          }
          counts.ok += 1;
          return text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch (error) {
          failures.push(`${method} ${path}: ${(error as Error).message}`);
          return undefined;
        }
      };
      while (!stop) {
        // Clients refresh ahead of expiry, as a client reading `expiresIn` does.
        if (Date.now() - issuedAt > (TOKEN_TTL_SECONDS - 4) * 1000) {
          const pair = await call("POST", "/v1/auth/refresh", { refreshToken: refresh }, "");
          if (pair) {
            access = String(pair.accessToken);
            refresh = String(pair.refreshToken);
            remember(api, access, refresh);
            issuedAt = Date.now();
            counts.refreshes += 1;
            kidsSeen.add(JSON.parse(Buffer.from(access.split(".")[0]!, "base64url").toString("utf8")).kid as string);
          }
        }
        await call("GET", "/v1/me");
        const token = `dop_v1_${randomBytes(32).toString("hex")}`;
        remember(api, token);
        const created = await call("POST", "/v1/credentials", { kind: "digitalocean", name: `c${counts.writes}`, token });
        if (created) {
          counts.writes += 1;
          await call("GET", `/v1/credentials/${String(created.id)}`);
          if (await call("POST", `/v1/credentials/${String(created.id)}/test`)) counts.tests += 1;
        }
      }
    };

    // A registered host whose gateway token the owner rotates mid-run (the host's re-registration simulated here).
    const owner = await signUp(api, "owner");
    const { id: instanceId } = await insertInstance(api.app.db, { userId: owner.userId, credentialId: null, registeredAt: new Date().toISOString() });
    const firstGatewayToken = randomBytes(32).toString("hex");
    const nextGatewayToken = randomBytes(32).toString("hex");
    remember(api, firstGatewayToken, nextGatewayToken);
    await storeGatewayToken(api.app.db, api.app.vault.wrapper, { userId: owner.userId, instanceId, token: firstGatewayToken });
    const rotateGatewayToken = async () => {
      const signIn = await fetch(`${bases[0]}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: owner.email, password: owner.password }) });
      const { accessToken } = (await signIn.json()) as { accessToken: string };
      remember(api, accessToken);
      const rotated = await fetch(`${bases[1 % bases.length]}/v1/instances/${instanceId}/gateway-token/rotate`, { method: "POST", headers: { authorization: `Bearer ${accessToken}` } });
      const { registrationToken } = (await rotated.json()) as { registrationToken: string };
      remember(api, registrationToken);
      const registered = await fetch(`${bases[0]}/v1/instances/${instanceId}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ registrationToken, gatewayToken: nextGatewayToken, tlsCertSha256: randomBytes(32).toString("hex") }),
      });
      for (const [what, response] of [["login", signIn], ["rotate", rotated], ["register", registered]] as const) {
        if (response.status >= 300) failures.push(`gateway token ${what}: ${response.status}`);
        else counts.ok += 1;
      }
    };

    const driver = async () => {
      const steps: string[] = [];
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      steps.push(await cli("master-key", "add"));
      steps.push(await cli("master-key", "rewrap", "--wait", "30"));
      steps.push(await cli("master-key", "retire", "1", "--wait", "30"));
      await rotateGatewayToken();
      steps.push(await cli("jwt", "rotate"));
      steps.push(await cli("jwt", "retire", "1", "--wait", "60"));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      stop = true;
      return steps.join("");
    };

    const started = Date.now();
    const [steps] = await Promise.all([driver(), ...sessions.map((_, index) => client(index))]);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `[rotation load ${engine}, ${apis.length} API process(es)] ${counts.ok} requests ok in ${seconds.toFixed(1)} s ` +
        `(${counts.writes} credentials written, ${counts.tests} tested, ${counts.refreshes} refreshes), ${failures.length} failed`,
    );
    if (failures.length > 0) {
      // What the server logged for them (never a secret: the logs are scanned by the other suites).
      for (const line of apis.flatMap((app) => app.logs).filter((entry) => /"level":(50|60)/.test(entry)).slice(0, 5)) console.log(line.slice(0, 1500));
    }
    expect(failures).toEqual([]);
    expect(steps).toMatch(/added master key version 2/);
    expect(steps).toMatch(/re-wrapped \d+ data key\(s\) under version 2/);
    expect(steps).toMatch(/removed master key version 1/);
    expect(steps).toMatch(/removed JWT key 1/);
    expect(counts.writes).toBeGreaterThan(CLIENTS);
    expect(kidsSeen).toContain("2");
    expect(await readGatewayToken(api.app.db, apis[apis.length - 1]!.app.vault.wrapper, instanceId)).toBe(nextGatewayToken);

    // No data lost: every credential, written before, during or after, opens with only version 2 left.
    const rows = await api.app.db.selectFrom("credentials").selectAll().where("wrapped_key", "is not", null).execute();
    expect(new Set(rows.map((row) => Number(row.key_version)))).toEqual(new Set([2]));
    for (const app of apis) await app.app.keys.reloadNow();
    for (const row of rows) {
      const salt = await api.app.db.selectFrom("user_keys").select("key_salt").where("user_id", "=", row.user_id).executeTakeFirstOrThrow();
      await expect(apis[apis.length - 1]!.app.vault.open(row, Buffer.from(salt.key_salt, "base64"))).resolves.toMatchObject({ kind: "digitalocean" });
    }
  }, 180_000);
});
