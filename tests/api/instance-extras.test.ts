/**
 * The dashboard's instance routes (api/routes/instance-extras.ts), on both engines:
 * - `POST /v1/instances/plan`: the refusals of `POST /v1/instances` on the same fields, the offline plan with
 *   its findings, nothing stored, scope `instances:read`, its own stricter rate limit;
 * - `GET /v1/instances/:id/jobs`: newest first, pages with `before`, 404 for someone else's instance;
 * - `GET /v1/instances/:id/health`: transitions written by the real health checker against a TLS gateway
 *   stand-in on loopback (up, then down), the latest check, `stopped` for a stopped instance.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayHealthChecker } from "../../api/health/gateway-health";
import { insertInstance } from "./jobs/support/db";
import { bearer, engines, json, signUp, startApi, type Session, type TestApi } from "./support";

const DO_TOKEN = `dop_v1_${"0123456789abcdef".repeat(4)}`;
const BODY = {
  cloud: "digitalocean",
  region: "nyc3",
  size: "small",
  options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" }, snapshots: { enabled: false } },
};
const PLAN_LIMIT = 8;

/** A self-signed certificate for the gateway stand-in (openssl, as the CI installs it). */
function selfSigned(): { key: string; cert: string; sha256: string } | undefined {
  if (!existsSync("/usr/bin/openssl")) {
    if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1") throw new Error("CLAWSTACK_REQUIRE_TOOLS=1: openssl is missing");
    console.warn("[skip] openssl is not installed: the health history test with a TLS gateway stand-in is skipped");
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "clawstack-health-"));
  try {
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert, sha256: new X509Certificate(cert).fingerprint256.replace(/:/g, "").toLowerCase() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const tls = selfSigned();

describe.each(engines("the instance extras"))("instance plan, jobs and health on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let alice: Session;
  let bob: Session;
  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off", CLAWSTACK_LOGIN_RATE_LIMIT: String(PLAN_LIMIT) } });
    alice = await signUp(api, "alice");
    bob = await signUp(api, "bob");
  });
  afterAll(async () => {
    await api?.close();
  });

  const plan = (session: Session | string, payload: unknown) =>
    api.inject({ method: "POST", url: "/v1/instances/plan", headers: bearer(typeof session === "string" ? session : session.accessToken), payload: payload as Record<string, unknown> });
  const counts = async () => ({
    instances: (await api.app.db.selectFrom("instances").select("id").execute()).length,
    jobs: (await api.app.db.selectFrom("jobs").select("id").execute()).length,
  });

  it.skipIf(skip)("plan: the refusals of POST /v1/instances on the same fields, then the offline plan and its findings; nothing stored", async () => {
    const before = await counts();
    // No credential yet: the same 400 on body.cloud as a create.
    const noCredential = await plan(alice, BODY);
    const createNoCredential = await api.inject({ method: "POST", url: "/v1/instances", headers: bearer(alice.accessToken), payload: BODY });
    expect(noCredential.statusCode).toBe(400);
    expect(json(noCredential).field).toBe("body.cloud");
    expect(json(noCredential).message).toBe(json(createNoCredential).message);
    const added = await api.inject({ method: "POST", url: "/v1/credentials", headers: bearer(alice.accessToken), payload: { kind: "digitalocean", name: "do", token: DO_TOKEN } });
    expect(added.statusCode).toBe(201);
    // A bad CIDR (host bits set): the host config parser's refusal, on the field the create names.
    const badCidr = { ...BODY, options: { ...BODY.options, gatewayCidrs: ["203.0.113.1/24"] } };
    const refused = await plan(alice, badCidr);
    const createRefused = await api.inject({ method: "POST", url: "/v1/instances", headers: bearer(alice.accessToken), payload: badCidr });
    expect(refused.statusCode).toBe(400);
    expect(json(refused).field).toBe("body.options.gatewayCidrs[0]");
    expect(json(createRefused).field).toBe(json(refused).field);

    const answer = await plan(alice, BODY);
    expect(answer.statusCode, answer.body).toBe(200);
    const body = json(answer) as {
      config: Record<string, unknown>;
      credentialId: string;
      summary: { resources: number; byType: { type: string; count: number }[] };
      preview: { plan: { resources: { type: string }[] }; violations: { policy: string; enforcement: string }[]; mandatoryViolations: number; preflight?: { notes: string[] } };
    };
    expect(body.credentialId).toBe(json(added).id);
    expect(body.config).toMatchObject({ cloud: "digitalocean", region: "nyc3", gatewayCidrs: ["203.0.113.0/24"] });
    expect(body.summary.resources).toBe(body.preview.plan.resources.length);
    expect(body.summary.resources).toBeGreaterThan(3);
    expect(body.summary.byType.reduce((sum, entry) => sum + entry.count, 0)).toBe(body.summary.resources);
    expect(body.summary.byType.map((entry) => entry.type)).toContain("digitalocean:index/droplet:Droplet");
    // Snapshots off: the policy pack's advisory finding; nothing mandatory on a valid request.
    expect(body.preview.violations).toContainEqual(expect.objectContaining({ policy: "stack-snapshots-opted-out", enforcement: "advisory" }));
    expect(body.preview.mandatoryViolations).toBe(0);
    expect(body.preview.preflight).toBeDefined();
    expect(answer.body).not.toContain(DO_TOKEN);
    // Nothing stored: no instance, no job, no stack directory.
    expect(await counts()).toEqual(before);
    expect(existsSync(join(api.dataDir, "stacks"))).toBe(false);
  }, 60_000);

  it.skipIf(skip)("plan: an API key needs instances:read; jobs:read alone is refused", async () => {
    const key = async (scopes: string[]) =>
      String(json(await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(alice.accessToken), payload: { name: scopes.join(","), scopes } })).key);
    expect((await plan(await key(["jobs:read"]), BODY)).statusCode).toBe(403);
    const reader = await plan(await key(["instances:read"]), { ...BODY, options: { ...BODY.options, gatewayCidrs: [] } });
    expect(reader.statusCode).toBe(400);
    expect(json(reader).field).toBe("body.options.gatewayCidrs");
  });

  it.skipIf(skip)("jobs: newest first in pages with `before`; another instance's job as cursor is a 400; someone else's instance a 404", async () => {
    const { id } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null });
    const ids: string[] = [];
    for (let index = 0; index < 4; index += 1) {
      const answer = await api.inject({ method: "POST", url: `/v1/instances/${id}/preview`, headers: bearer(alice.accessToken) });
      expect(answer.statusCode).toBe(202);
      ids.push(String((json(answer).job as { id: string }).id));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const refresh = await api.inject({ method: "POST", url: `/v1/instances/${id}/refresh`, headers: bearer(alice.accessToken) });
    expect(refresh.statusCode).toBe(202);
    ids.push(String((json(refresh).job as { id: string }).id));
    const newestFirst = [...ids].reverse();

    const first = await api.inject({ method: "GET", url: `/v1/instances/${id}/jobs?limit=3`, headers: bearer(alice.accessToken) });
    expect(first.statusCode).toBe(200);
    const page1 = json(first) as { jobs: { id: string; operation: string; state: string; eventsUrl: string; result?: unknown }[]; next: string | null };
    expect(page1.jobs.map((job) => job.id)).toEqual(newestFirst.slice(0, 3));
    expect(page1.jobs[0]).toMatchObject({ operation: "refresh", state: "queued", eventsUrl: `/v1/jobs/${ids[4]}/events` });
    expect(page1.jobs[0]).not.toHaveProperty("result");
    expect(page1.next).toBe(newestFirst[2]);
    const second = json(await api.inject({ method: "GET", url: `/v1/instances/${id}/jobs?limit=3&before=${page1.next}`, headers: bearer(alice.accessToken) }));
    expect((second.jobs as { id: string }[]).map((job) => job.id)).toEqual(newestFirst.slice(3));
    expect(second.next).toBeNull();

    const other = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null });
    const wrongCursor = await api.inject({ method: "GET", url: `/v1/instances/${other.id}/jobs?before=${ids[0]}`, headers: bearer(alice.accessToken) });
    expect(wrongCursor.statusCode).toBe(400);
    expect(json(wrongCursor).field).toBe("querystring.before");
    const empty = json(await api.inject({ method: "GET", url: `/v1/instances/${other.id}/jobs`, headers: bearer(alice.accessToken) }));
    expect(empty).toEqual({ jobs: [], next: null });

    expect((await api.inject({ method: "GET", url: `/v1/instances/${id}/jobs`, headers: bearer(bob.accessToken) })).statusCode).toBe(404);
    expect((await api.inject({ method: "GET", url: `/v1/instances/${id}/health`, headers: bearer(bob.accessToken) })).statusCode).toBe(404);
  });

  it.skipIf(skip || tls === undefined)("health: the checker's transitions (up, then down) newest first, the latest check, `stopped` for a stopped instance", async () => {
    const gateway: Server = createServer({ key: tls!.key, cert: tls!.cert }, (request, response) => {
      response.writeHead(request.url === "/readyz" ? 200 : 404).end();
    });
    await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
    const port = (gateway.address() as AddressInfo).port;
    const { id } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null, registeredAt: new Date().toISOString() });
    await api.app.db
      .updateTable("instances")
      .set({ tls_fingerprint: tls!.sha256, outputs: JSON.stringify({ gatewayUrl: `https://127.0.0.1:${port}`, instanceId: "4242" }) })
      .where("id", "=", id)
      .execute();
    const checker = new GatewayHealthChecker({ db: api.app.db, intervalMs: 60_000, logger: api.app.log, timeoutMs: 3_000 });
    const health = async (query = "") => {
      const answer = await api.inject({ method: "GET", url: `/v1/instances/${id}/health${query}`, headers: bearer(alice.accessToken) });
      expect(answer.statusCode, answer.body).toBe(200);
      return json(answer) as {
        instanceStatus: string;
        latest: { status: string; checkedAt: string | null; latencyMs: number | null };
        transitions: { id: number; at: string; status: string; latencyMs: number }[];
        next: number | null;
      };
    };
    expect(await health()).toMatchObject({ instanceStatus: "ready", latest: { status: "unknown", checkedAt: null }, transitions: [], next: null });

    await checker.runOnce();
    await checker.runOnce(); // no change: no second transition
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
    await checker.runOnce();
    const seen = await health();
    expect(seen.transitions.map((entry) => entry.status)).toEqual(["down", "up"]);
    expect(seen.transitions[1]!.latencyMs).toBeGreaterThan(0);
    expect(seen.latest.status).toBe("down");
    expect(seen.latest.checkedAt).not.toBeNull();
    const paged = await health("?limit=1");
    expect(paged.transitions.map((entry) => entry.status)).toEqual(["down"]);
    expect((await health(`?limit=1&before=${paged.next}`)).transitions.map((entry) => entry.status)).toEqual(["up"]);
    // Only health entries of this instance: its other audit entries (the preview requests above were of another one) do not show.
    await api.app.db.updateTable("instances").set({ status: "stopped" }).where("id", "=", id).execute();
    expect(await health()).toMatchObject({ instanceStatus: "stopped", latest: { status: "stopped" } });
  }, 30_000);

  it.skipIf(skip)("plan has its own stricter rate limit (it runs the offline synth)", async () => {
    let limited;
    for (let attempt = 0; attempt < PLAN_LIMIT + 2 && !limited; attempt += 1) {
      const answer = await plan(bob, { cloud: "digitalocean" });
      if (answer.statusCode === 429) limited = answer;
      else expect(answer.statusCode).toBe(400);
    }
    expect(limited?.headers["retry-after"]).toBeDefined();
    expect(json(limited!).message).toContain(`at most ${PLAN_LIMIT} requests a minute on this route`);
    // The other routes are not affected.
    expect((await api.inject({ method: "GET", url: "/v1/instances", headers: bearer(bob.accessToken) })).statusCode).toBe(200);
  });
});
