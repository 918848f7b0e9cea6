/**
 * A support grant's SSH rule in the host's cloud firewall through the real
 * queue and worker (SQLite; PostgreSQL too with TEST_DATABASE_URL), each cloud
 * played by a stand-in of its API on loopback that keeps its rules: a grant
 * opens tcp/22 from exactly its sources, a revoke closes exactly its rule (a
 * second grant's rule, even on a shared source, stays), the expiry sweep
 * closes an ended grant's rule, and a failure is visible on the grant
 * (`failed` with the reason) and retried by the sweep until closed.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../../../api/audit/audit-log";
import type { Cloud, Job } from "../../../api/db/schema";
import type { CredentialProvider } from "../../../api/jobs/credentials";
import { readJobEvents } from "../../../api/jobs/events";
import { getJob } from "../../../api/jobs/queue";
import type { QueueSettings, WorkerSettings } from "../../../api/jobs/settings";
import { JobWorker } from "../../../api/jobs/worker";
import { CloudFirewallSweep, enqueueCloudFirewallJob } from "../../../api/support/cloud-firewall";
import { findGrant, insertGrant, revokeGrant } from "../../../api/support/repo";
import { gcpSupportRuleNames } from "../../../runtime/support-firewall";
import { createPostgresDatabase, createSqliteDatabase, insertInstance, insertUser, POSTGRES_URL, type TestDatabase } from "../jobs/support/db";
import { StandInEngine } from "../jobs/support/stand-in-engine";

const QUEUE: QueueSettings = { memoryMb: { up: 600, refresh: 400, destroy: 400, preview: 150 }, maxAttempts: 3, retryBaseMs: 40, retryMaxMs: 200 };
const WORKER: WorkerSettings = { memoryBudgetMb: 2000, slots: 50, previewSlots: 50, leaseMs: 2000, heartbeatMs: 200, pollMs: 10 };
const DO_TOKEN = `dop_v1_${"ef".repeat(32)}`;
const FIREWALL = "bb4b2611-3d72-467b-8602-280330ecd65c";
const GROUP = "sg-0123456789abcdef0";

const credentials: CredentialProvider = {
  async choose() {
    return "cred_test";
  },
  async forJob({ cloud }): Promise<{ env: Record<string, string>; secrets: string[] }> {
    if (cloud === "digitalocean") return { env: { DIGITALOCEAN_TOKEN: DO_TOKEN }, secrets: [DO_TOKEN] };
    if (cloud === "aws") return { env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLEEXAMPLE12", AWS_SECRET_ACCESS_KEY: "s".repeat(40), AWS_SESSION_TOKEN: "t".repeat(40) }, secrets: ["s".repeat(40)] };
    return { env: { GOOGLE_CREDENTIALS: JSON.stringify({ type: "external_account" }) }, secrets: [] };
  },
};

type Handler = (req: IncomingMessage, body: string) => { status: number; body: string; type?: string };

/** One stand-in server playing all three APIs (DigitalOcean under /v2, EC2 at POST /, Compute under /projects). */
function clouds() {
  const state = {
    doRules: [{ protocol: "tcp", ports: "3000", sources: { addresses: ["203.0.113.0/24"] } }] as { protocol: string; ports: string; sources: { addresses: string[] } }[],
    doRefuseDelete: false,
    awsRules: [] as { cidr: string; description: string }[],
    gcpFirewalls: new Map<string, Record<string, unknown>>(),
  };
  const send = (status: number, value: unknown) => ({ status, body: value === undefined ? "" : JSON.stringify(value) });
  const digitalOcean: Handler = (req, body) => {
    if (req.headers.authorization !== `Bearer ${DO_TOKEN}`) return send(401, { id: "unauthorized", message: "Unable to authenticate you" });
    if (req.method === "GET" && req.url === `/v2/firewalls/${FIREWALL}`) return send(200, { firewall: { id: FIREWALL, droplet_ids: [4242], inbound_rules: state.doRules } });
    if (req.method === "GET" && req.url === "/v2/droplets/4242") return send(200, { droplet: { id: 4242, tags: ["ManagedBy:claw-cloud"] } });
    if (req.url === `/v2/firewalls/${FIREWALL}/rules`) {
      if (req.method === "DELETE" && state.doRefuseDelete) return send(500, { id: "server_error", message: "Server was unable to give you a response." });
      for (const rule of (JSON.parse(body) as { inbound_rules: typeof state.doRules }).inbound_rules) {
        if (req.method === "POST") state.doRules.push(rule);
        else for (const existing of state.doRules.filter((r) => r.ports === rule.ports)) existing.sources.addresses = existing.sources.addresses.filter((a) => !rule.sources.addresses.includes(a));
      }
      state.doRules = state.doRules.filter((rule) => rule.sources.addresses.length > 0);
      return { status: 204, body: "" };
    }
    return send(404, { id: "not_found", message: "not found" });
  };
  const ec2: Handler = (_req, body) => {
    const form = new URLSearchParams(body);
    const action = form.get("Action") ?? "";
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const xml = (inner: string) => ({ status: 200, type: "text/xml", body: `<?xml version="1.0" encoding="UTF-8"?>${inner}` });
    const error = (code: string) => ({ status: 400, type: "text/xml", body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${code}</Message></Error></Errors><RequestID>r</RequestID></Response>` });
    if (action === "DescribeSecurityGroups") {
      return xml(`<DescribeSecurityGroupsResponse ${ns}><requestId>r</requestId><securityGroupInfo><item><groupId>${GROUP}</groupId><tagSet><item><key>ManagedBy</key><value>claw-cloud</value></item></tagSet></item></securityGroupInfo></DescribeSecurityGroupsResponse>`);
    }
    const cidr = form.get("IpPermissions.1.IpRanges.1.CidrIp") ?? form.get("IpPermissions.1.Ipv6Ranges.1.CidrIpv6") ?? "";
    const description = form.get("IpPermissions.1.IpRanges.1.Description") ?? form.get("IpPermissions.1.Ipv6Ranges.1.Description") ?? "";
    if (form.get("GroupId") !== GROUP || form.get("IpPermissions.1.FromPort") !== "22") return error("InvalidParameterValue");
    const present = state.awsRules.some((rule) => rule.cidr === cidr);
    if (action === "AuthorizeSecurityGroupIngress") {
      if (present) return error("InvalidPermission.Duplicate");
      state.awsRules.push({ cidr, description });
    } else if (action === "RevokeSecurityGroupIngress") {
      if (!present) return error("InvalidPermission.NotFound");
      state.awsRules = state.awsRules.filter((rule) => rule.cidr !== cidr);
    } else return error("InvalidAction");
    return xml(`<${action}Response ${ns}><requestId>r</requestId><return>true</return></${action}Response>`);
  };
  const compute: Handler = (req, body) => {
    const path = req.url ?? "";
    if (req.method === "GET" && path === "/projects/claw-project-1/zones/europe-west1-b/instances/claw") {
      return send(200, { labels: { "managed-by": "claw-cloud" }, tags: { items: ["claw-openclaw"] } });
    }
    if (req.method === "POST" && path === "/projects/claw-project-1/global/firewalls") {
      const rule = JSON.parse(body) as Record<string, unknown>;
      if (state.gcpFirewalls.has(String(rule.name))) return send(409, { error: { code: 409 } });
      state.gcpFirewalls.set(String(rule.name), rule);
      return send(200, { name: "operation-1", status: "RUNNING" });
    }
    const match = /^\/projects\/claw-project-1\/global\/firewalls\/([a-z0-9-]+)$/.exec(path);
    if (req.method === "DELETE" && match) return state.gcpFirewalls.delete(match[1]!) ? send(200, { name: "operation-2" }) : send(404, { error: { code: 404 } });
    if (req.method === "GET" && path.startsWith("/projects/claw-project-1/global/operations/")) return send(200, { status: "DONE" });
    return send(404, {});
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const handler = req.url?.startsWith("/v2/") ? digitalOcean : req.url?.startsWith("/projects/") ? compute : ec2;
      const answer = handler(req, body);
      res.writeHead(answer.status, answer.body ? { "content-type": answer.type ?? "application/json" } : {});
      res.end(answer.body);
    });
  });
  return { state, server };
}

const OUTPUTS: Record<Cloud, Record<string, unknown>> = {
  digitalocean: { instanceId: "4242", firewallId: FIREWALL },
  aws: { instanceId: "i-0123456789abcdef0", securityGroupId: GROUP },
  gcp: { instanceId: "1234", network: "default", networkTag: "claw-openclaw" },
};

const engines = [
  { engine: "sqlite" as const, skip: false },
  { engine: "postgres" as const, skip: !POSTGRES_URL },
];
if (!POSTGRES_URL) console.warn("[skip] TEST_DATABASE_URL is not set: skipping the PostgreSQL run of the support cloud firewall jobs");

describe.each(engines)("support grants in the cloud firewall, through the queue, on $engine", ({ engine, skip }) => {
  let database: TestDatabase | undefined;
  let stand: ReturnType<typeof clouds> | undefined;
  const workers: JobWorker[] = [];

  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop({ abort: true });
    if (stand) await new Promise((done) => stand?.server.close(done));
    stand = undefined;
    await database?.dispose();
    database = undefined;
  });

  async function setUp(cloud: Cloud, outputs: Record<string, unknown> | null = OUTPUTS[cloud], config: Record<string, unknown> = {}) {
    database = engine === "sqlite" ? await createSqliteDatabase() : await createPostgresDatabase();
    const db = database.handle.db;
    stand = clouds();
    await new Promise<void>((done) => stand?.server.listen(0, "127.0.0.1", done));
    const base = `http://127.0.0.1:${(stand.server.address() as AddressInfo).port}`;
    const worker = new JobWorker({
      db,
      dialect: engine,
      engine: new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) }),
      layout: { stacksDir: mkdtempSync(join(tmpdir(), "stacks-")), secretEnv: {} },
      credentials,
      worker: WORKER,
      queue: QUEUE,
      power: { endpoints: { digitalocean: base, ec2: base, compute: base }, pollMs: 5, waitMs: 5_000 },
    });
    workers.push(worker);
    worker.start();
    const userId = await insertUser(database.handle);
    const instance = await insertInstance(db, { userId, cloud, status: "ready", region: cloud === "gcp" ? "europe-west1" : undefined });
    const fullConfig = { cloud, name: "claw", ...(cloud === "gcp" ? { gcpProject: "claw-project-1", zone: "europe-west1-b" } : {}), ...config };
    await db.updateTable("instances").set({ config: JSON.stringify(fullConfig), outputs: outputs === null ? null : JSON.stringify(outputs) }).where("id", "=", instance.id).execute();
    const row = { id: instance.id, user_id: userId, stack_name: instance.stackName };
    return { db, instance: row, state: stand.state, worker };
  }

  async function grant(db: TestDatabase["handle"]["db"], instance: { id: string; user_id: string }, sources: string[]) {
    const id = `sgr_${randomBytes(16).toString("base64url")}`;
    const at = new Date().toISOString();
    await insertGrant(db, {
      id, instance_id: instance.id, user_id: instance.user_id, statement: "{}", signature: "x", signer: "SHA256:x", nonce: randomBytes(16).toString("base64url"),
      not_before: at, not_after: new Date(Date.now() + 3_600_000).toISOString(), reason: "ticket 1", sources: JSON.stringify(sources),
      support_key_fingerprints: "[]", created_at: at, revoked_at: null, cloud_firewall: "opening",
    });
    return id;
  }

  async function run(db: TestDatabase["handle"]["db"], instance: { id: string; user_id: string; stack_name: string }, operation: "support-open" | "support-close"): Promise<Job> {
    const job = await enqueueCloudFirewallJob(db, instance, operation, { log: new AuditLog(db) });
    expect(job, "the stack is free").toBeDefined();
    return finished(db, job!.id);
  }

  async function finished(db: TestDatabase["handle"]["db"], jobId: string): Promise<Job> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const current = (await getJob(db, jobId))!;
      if (current.state === "succeeded" || current.state === "failed") return current;
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish: ${current.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const state = async (db: TestDatabase["handle"]["db"], instanceId: string, grantId: string) => {
    const row = (await findGrant(db, instanceId, grantId))!;
    return [row.cloud_firewall, row.cloud_firewall_error];
  };
  const doSsh = (s: ReturnType<typeof clouds>["state"]) => s.doRules.filter((rule) => rule.ports === "22").flatMap((rule) => rule.sources.addresses).sort();

  it.skipIf(skip)("DigitalOcean: a grant opens exactly its sources; revoking it closes only what no other grant or sshAccess needs; audited", async () => {
    const { db, instance, state: cloud } = await setUp("digitalocean", OUTPUTS.digitalocean, { sshAccess: { cidrs: ["192.0.2.0/24"] } });
    const first = await grant(db, instance, ["198.51.100.0/24", "192.0.2.0/24", "2001:db8::/48"]);
    const opened = await run(db, instance, "support-open");
    expect(opened.state, opened.error ?? "").toBe("succeeded");
    expect(doSsh(cloud)).toEqual(["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/48"]);
    expect(await state(db, instance.id, first)).toEqual(["open", null]);

    const second = await grant(db, instance, ["198.51.100.0/24", "203.0.113.9/32"]);
    expect((await run(db, instance, "support-open")).state).toBe("succeeded");
    expect(doSsh(cloud)).toEqual(["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/48", "203.0.113.9/32"]);

    await revokeGrant(db, first, new Date().toISOString());
    expect(await state(db, instance.id, first)).toEqual(["closing", null]);
    const closed = await run(db, instance, "support-close");
    expect(closed.state, closed.error ?? "").toBe("succeeded");
    // The first grant's own source is gone; the shared one (second grant) and sshAccess's stay; the gateway rule is untouched.
    expect(doSsh(cloud)).toEqual(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.9/32"]);
    expect(cloud.doRules.find((rule) => rule.ports === "3000")?.sources.addresses).toEqual(["203.0.113.0/24"]);
    expect(await state(db, instance.id, first)).toEqual(["closed", null]);
    expect(await state(db, instance.id, second)).toEqual(["open", null]);

    const audit = await db.selectFrom("audit_log").select(["action", "target", "actor_kind"]).orderBy("id").execute();
    expect(audit.map((entry) => entry.action)).toEqual([
      "support_grant.cloud_firewall.open",
      "support_grant.cloud_firewall.open",
      "support_grant.cloud_firewall.close",
    ]);
    expect(audit[2]).toMatchObject({ target: `${instance.id}:${closed.id}`, actor_kind: "system" });
    expect(JSON.stringify(await readJobEvents(db, closed.id, 0))).not.toContain(DO_TOKEN);
  });

  it.skipIf(skip)("the expiry sweep closes an ended grant's rule and leaves a live one; a busy stack is left for the next pass", async () => {
    const { db, instance, state: cloud, worker } = await setUp("digitalocean");
    const ending = await grant(db, instance, ["198.51.100.0/24"]);
    const staying = await grant(db, instance, ["203.0.113.9/32"]);
    expect((await run(db, instance, "support-open")).state).toBe("succeeded");
    expect(doSsh(cloud)).toEqual(["198.51.100.0/24", "203.0.113.9/32"]);

    await db.updateTable("support_grants").set({ not_after: new Date(Date.now() - 1_000).toISOString() }).where("id", "=", ending).execute();
    const sweep = new CloudFirewallSweep({ db, intervalMs: 60_000, logger: { info() {}, error() {} }, wake: () => worker.wake() });
    // Another job holds the stack: the grant is marked closing, nothing is enqueued yet.
    await db
      .insertInto("jobs")
      .values({
        id: "job_busy", instance_id: instance.id, user_id: instance.user_id, stack_name: instance.stack_name, operation: "up", state: "running", stack_lock: instance.stack_name,
        attempt: 1, max_attempts: 1, memory_mb: 1, run_after: new Date().toISOString(), lease_owner: "elsewhere", lease_expires_at: new Date(Date.now() + 600_000).toISOString(),
        cancel_requested: 0, takeover: 0, result: null, error: null, error_code: null, error_field: null, created_at: new Date().toISOString(), started_at: null, finished_at: null, updated_at: new Date().toISOString(),
      })
      .execute();
    expect(await sweep.runOnce()).toMatchObject({ expired: 1, enqueued: 0, busy: 1 });
    expect(await state(db, instance.id, ending)).toEqual(["closing", null]);
    await db.deleteFrom("jobs").where("id", "=", "job_busy").execute();

    expect(await sweep.runOnce()).toMatchObject({ enqueued: 1 });
    const job = await db.selectFrom("jobs").select("id").where("operation", "=", "support-close").executeTakeFirstOrThrow();
    expect((await finished(db, job.id)).state).toBe("succeeded");
    expect(doSsh(cloud)).toEqual(["203.0.113.9/32"]);
    expect(await state(db, instance.id, ending)).toEqual(["closed", null]);
    expect(await state(db, instance.id, staying)).toEqual(["open", null]);
    expect(await sweep.runOnce()).toMatchObject({ expired: 0, enqueued: 0 });
  });

  it.skipIf(skip)("failures are visible: no firewall output fails the open naming it; a failed close says failed and the sweep retries until closed", async () => {
    const missing = await setUp("digitalocean", { instanceId: "4242" });
    const refused = await grant(missing.db, missing.instance, ["198.51.100.0/24"]);
    const job = await run(missing.db, missing.instance, "support-open");
    expect(job.state).toBe("failed");
    expect(job.error_code).toBe("support_firewall_failed");
    expect(job.error).toMatch(/no `firewallId` output/);
    const [status, error] = await state(missing.db, missing.instance.id, refused);
    expect(status).toBe("failed");
    expect(error).toMatch(/no `firewallId` output .*run `up`/);
    expect(doSsh(missing.state)).toEqual([]);
    expect((await getJobInstanceStatus(missing.db, missing.instance.id))).toBe("ready");
    for (const worker of workers.splice(0)) await worker.stop({ abort: true });
    await new Promise((done) => stand?.server.close(done));
    stand = undefined;
    await database?.dispose();

    const { db, instance, state: cloud, worker } = await setUp("digitalocean");
    const id = await grant(db, instance, ["198.51.100.0/24"]);
    expect((await run(db, instance, "support-open")).state).toBe("succeeded");
    cloud.doRefuseDelete = true;
    await revokeGrant(db, id, new Date().toISOString());
    const failed = await run(db, instance, "support-close");
    expect(failed.state).toBe("failed");
    expect(failed.error).toMatch(/198\.51\.100\.0\/24 is still open/);
    expect((await state(db, instance.id, id))[0]).toBe("failed");
    expect(doSsh(cloud)).toEqual(["198.51.100.0/24"]);

    cloud.doRefuseDelete = false;
    const sweep = new CloudFirewallSweep({ db, intervalMs: 60_000, logger: { info() {}, error() {} }, wake: () => worker.wake() });
    expect(await sweep.runOnce()).toMatchObject({ enqueued: 1 });
    const retry = await db.selectFrom("jobs").select("id").where("operation", "=", "support-close").where("state", "in", ["queued", "running"]).executeTakeFirst();
    if (retry) await finished(db, retry.id);
    expect(doSsh(cloud)).toEqual([]);
    expect(await state(db, instance.id, id)).toEqual(["closed", null]);
  });

  it.skipIf(skip)("AWS: authorizes tcp/22 per source with the grant's description, revokes exactly that grant's", async () => {
    const { db, instance, state: cloud } = await setUp("aws");
    const first = await grant(db, instance, ["198.51.100.0/24", "2001:db8::/48"]);
    const second = await grant(db, instance, ["203.0.113.9/32"]);
    expect((await run(db, instance, "support-open")).state).toBe("succeeded");
    // Grants made in the same millisecond open in id order: compare as a set.
    expect([...cloud.awsRules].sort((a, b) => a.cidr.localeCompare(b.cidr))).toEqual([
      { cidr: "198.51.100.0/24", description: `clawstack support grant ${first}` },
      { cidr: "2001:db8::/48", description: `clawstack support grant ${first}` },
      { cidr: "203.0.113.9/32", description: `clawstack support grant ${second}` },
    ]);
    await revokeGrant(db, first, new Date().toISOString());
    expect((await run(db, instance, "support-close")).state).toBe("succeeded");
    expect(cloud.awsRules.map((rule) => rule.cidr)).toEqual(["203.0.113.9/32"]);
    expect(await state(db, instance.id, first)).toEqual(["closed", null]);
    expect(await state(db, instance.id, second)).toEqual(["open", null]);
  });

  it.skipIf(skip)("GCP: a firewall per grant on the host's network and tag, deleted on revoke, the other grant's kept", async () => {
    const { db, instance, state: cloud } = await setUp("gcp");
    const first = await grant(db, instance, ["198.51.100.0/24"]);
    const second = await grant(db, instance, ["198.51.100.0/24"]);
    const opened = await run(db, instance, "support-open");
    expect(opened.state, opened.error ?? "").toBe("succeeded");
    expect(cloud.gcpFirewalls.get(gcpSupportRuleNames(first).ipv4)).toMatchObject({
      network: "projects/claw-project-1/global/networks/default",
      sourceRanges: ["198.51.100.0/24"],
      targetTags: ["claw-openclaw"],
      allowed: [{ IPProtocol: "tcp", ports: ["22"] }],
    });
    await revokeGrant(db, first, new Date().toISOString());
    expect((await run(db, instance, "support-close")).state).toBe("succeeded");
    expect([...cloud.gcpFirewalls.keys()]).toEqual([gcpSupportRuleNames(second).ipv4]);
    expect(await state(db, instance.id, second)).toEqual(["open", null]);
  });
});

async function getJobInstanceStatus(db: TestDatabase["handle"]["db"], instanceId: string): Promise<string | undefined> {
  return (await db.selectFrom("instances").select("status").where("id", "=", instanceId).executeTakeFirst())?.status;
}
