/**
 * The DigitalOcean volume snapshot scheduler: one sweep per user with a live
 * DigitalOcean instance, with that user's token; other clouds, destroyed and
 * never-provisioned instances are left out; one user's failure does not stop
 * the others.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CredentialProvider } from "../../api/jobs/credentials";
import { SnapshotScheduler, type SnapshotSweep } from "../../api/jobs/snapshot-scheduler";
import type { InstanceStatus } from "../../api/jobs/tables";
import { newInstanceId, stackNameFor } from "../../api/stacks/naming";
import { createSqliteDatabase, insertUser, type TestDatabase } from "./support/db";

describe("snapshot scheduler", () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createSqliteDatabase();
  });
  afterEach(async () => {
    await database.dispose();
  });

  async function instance(userId: string, cloud: "digitalocean" | "aws", status: InstanceStatus): Promise<void> {
    const id = newInstanceId();
    const at = new Date().toISOString();
    await database.handle.db
      .insertInto("instances")
      .values({
        id, user_id: userId, cloud, region: cloud === "aws" ? "us-east-1" : "nyc3", size: "small", credential_id: `cred_${userId}`,
        config: "{}", stack_name: stackNameFor(userId, id), status, outputs: null, last_job_id: null, idempotency_key: null,
        request_hash: null, gateway_token_ref: null, tls_fingerprint: null, registered_at: null, created_at: at, updated_at: at,
      })
      .execute();
  }

  it("sweeps each user with a live DigitalOcean instance once, with their own token", async () => {
    const alice = await insertUser(database.handle);
    const bob = await insertUser(database.handle);
    const carol = await insertUser(database.handle);
    const dave = await insertUser(database.handle);
    await instance(alice, "digitalocean", "ready");
    await instance(alice, "digitalocean", "ready");
    await instance(bob, "digitalocean", "ready");
    await instance(carol, "aws", "ready");
    await instance(dave, "digitalocean", "destroyed");
    await instance(dave, "digitalocean", "pending");
    const tokenOf = (userId: string) => `dop_v1_${Buffer.from(userId).toString("hex").padEnd(64, "0").slice(0, 64)}`;
    const credentials: CredentialProvider = {
      async choose() {
        return "x";
      },
      async forJob(request) {
        if (request.userId === bob) throw new Error("no digitalocean credential");
        return { env: { DIGITALOCEAN_TOKEN: tokenOf(request.userId) }, secrets: [tokenOf(request.userId)] };
      },
    };
    const swept: string[] = [];
    const sweep: SnapshotSweep = async ({ token }) => {
      swept.push(token);
      return { results: [{}, {}], failures: [] };
    };
    const warnings: string[] = [];
    const scheduler = new SnapshotScheduler({
      db: database.handle.db,
      credentials,
      intervalMs: 0,
      sweep,
      logger: { info() {}, warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`), error() {} },
    });
    const summary = await scheduler.runOnce(new Date("2026-11-23T04:05:00Z"));
    expect(swept).toEqual([tokenOf(alice)]);
    expect(summary).toEqual({ users: 2, snapshots: 2, failures: 1 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(bob);
    expect(warnings.join("\n")).not.toContain("dop_v1_");
  });
});
