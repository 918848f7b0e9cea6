/**
 * The DigitalOcean volume snapshot scheduler: one sweep per user with a live
 * DigitalOcean instance, with that user's token; other clouds, destroyed and
 * never-provisioned instances are left out; one user's failure does not stop
 * the others.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CredentialProvider } from "../../../api/jobs/credentials";
import { SnapshotScheduler, type SnapshotSweep } from "../../../api/jobs/snapshot-scheduler";
import type { InstanceStatus } from "../../../api/db/schema";
import { createPostgresDatabase, createSqliteDatabase, insertInstance, insertUser, skipReasonWithoutPostgres, type TestDatabase } from "./support/db";

describe("snapshot scheduler", () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createSqliteDatabase();
  });
  afterEach(async () => {
    await database.dispose();
  });

  async function instance(userId: string, cloud: "digitalocean" | "aws", status: InstanceStatus): Promise<void> {
    await insertInstance(database.handle.db, { userId, cloud, status, credentialId: `cred_${userId}` });
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

describe.each([
  { engine: "sqlite", skip: undefined, create: () => createSqliteDatabase() },
  { engine: "postgres", skip: skipReasonWithoutPostgres("the PostgreSQL scheduler slots"), create: () => createPostgresDatabase() },
])("snapshot scheduler slots on $engine", ({ skip, create }) => {
  it.skipIf(skip !== undefined)("lets one of several workers sweep each interval slot", async () => {
    const database = await create();
    try {
      const owner = await insertUser(database.handle);
      await insertInstance(database.handle.db, { userId: owner, credentialId: "cred_x" });
      const sweeps: string[] = [];
      const workers = ["w1", "w2", "w3", "w4"].map(
        (name) =>
          new SnapshotScheduler({
            db: database.handle.db,
            credentials: { choose: async () => "x", forJob: async () => ({ env: { DIGITALOCEAN_TOKEN: "dop_v1_test" }, secrets: [] }) },
            intervalMs: 3_600_000,
            sweep: async () => {
              sweeps.push(name);
              return { results: [{}], failures: [] };
            },
            logger: { info() {}, warn() {}, error() {} },
          }),
      );
      const hour = new Date("2026-11-23T10:05:00Z");
      const first = await Promise.all(workers.map((worker, index) => worker.runSlot(hour, `w${index + 1}`)));
      expect(first.filter((summary) => summary !== undefined)).toEqual([{ users: 1, snapshots: 1, failures: 0 }]);
      expect(sweeps).toHaveLength(1);
      // Later in the same hour: nobody sweeps. The next hour: one does.
      expect(await workers[1]!.runSlot(new Date("2026-11-23T10:55:00Z"), "w2")).toBeUndefined();
      const next = await Promise.all(workers.map((worker, index) => worker.runSlot(new Date("2026-11-23T11:00:01Z"), `w${index + 1}`)));
      expect(next.filter((summary) => summary !== undefined)).toHaveLength(1);
      expect(sweeps).toHaveLength(2);
      // A pass that crashes gives its slot back: another worker takes the same hour.
      class Crashing extends SnapshotScheduler {
        override async runOnce(): Promise<never> {
          throw new Error("database went away");
        }
      }
      const crashing = new Crashing({ db: database.handle.db, credentials: { choose: async () => "x", forJob: async () => ({ env: {}, secrets: [] }) }, intervalMs: 3_600_000, logger: { info() {}, warn() {}, error() {} } });
      await expect(crashing.runSlot(new Date("2026-11-23T12:00:00Z"), "crashing")).rejects.toThrow(/went away/);
      expect(await workers[0]!.runSlot(new Date("2026-11-23T12:10:00Z"), "w1")).toEqual({ users: 1, snapshots: 1, failures: 0 });
      await database.handle.db.deleteFrom("scheduler_runs").where("slot", "=", String(Math.floor(Date.parse("2026-11-23T12:00:00Z") / 3_600_000))).execute();
      const rows = await database.handle.db.selectFrom("scheduler_runs").selectAll().orderBy("slot").execute();
      expect(rows).toHaveLength(2);
      expect(rows.every((row) => row.finished_at !== null)).toBe(true);
      expect(new Set(rows.map((row) => row.holder)).size).toBeLessThanOrEqual(2);
    } finally {
      await database.dispose();
    }
  });
});
