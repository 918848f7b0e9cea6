/**
 * Plan limits on SQLite and PostgreSQL: an account holds at most its plan's
 * `max_instances` instances that are not destroyed; the refusal names the
 * plan and the limit and writes nothing; concurrent requests cannot overshoot;
 * admins and operators manage plans over HTTP and with `admin-cli plan`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildCli } from "../../../api/auth/admin-cli";
import type { Engine } from "../../../api/engine/types";
import { StandInEngine } from "./support/stand-in-engine";
import { addDigitalOceanCredential, digitalOceanInstance, registerUser, startTestApp, type TestApp, type TestUser, waitForJob } from "./support/app";
import { skipReasonWithoutPostgres } from "./support/db";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

const databases = [
  { name: "sqlite" as const, skip: undefined },
  { name: "postgres" as const, skip: skipReasonWithoutPostgres("the PostgreSQL plan limits") },
];

for (const database of databases) {
  describe.skipIf(database.skip !== undefined)(`plan limits on ${database.name}`, () => {
    let harness: TestApp;
    let admin: TestUser;
    let adminEmail: string;

    const cli = async (...args: string[]): Promise<string> => {
      const lines: string[] = [];
      await buildCli(harness.workerEnv, (line) => lines.push(line)).parseAsync(["node", "admin-cli", ...args]);
      return lines.join("\n");
    };
    const count = async (table: "instances" | "jobs", userId: string): Promise<number> =>
      Number((await harness.app.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).where("user_id", "=", userId).executeTakeFirstOrThrow()).n);
    const create = (user: TestUser, name: string) =>
      harness.app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name }) });

    beforeAll(async () => {
      engineRef.current = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) });
      harness = await startTestApp({ database: database.name, env: { CLAWSTACK_EMBEDDED_WORKER: "on" }, freePlanMaxInstances: 1 });
      adminEmail = `admin-${database.name}@example.test`;
      admin = await registerUser(harness.app, adminEmail);
      expect(await cli("promote", adminEmail)).toContain("is now an admin");
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("refuses a second instance on the free plan, naming the plan and the limit, and writes nothing", async () => {
      const user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
      const first = await create(user, "one");
      expect(first.statusCode).toBe(201);
      const firstJob = (first.json() as { job: { id: string } }).job.id;
      const [instancesBefore, jobsBefore] = [await count("instances", user.userId), await count("jobs", user.userId)];

      const second = await create(user, "two");
      expect(second.statusCode).toBe(403);
      expect(second.json()).toMatchObject({ field: "plan" });
      expect((second.json() as { message: string }).message).toMatch(/the `free` plan allows 1 instance\(s\) at once and this account holds 1/);
      expect(await count("instances", user.userId)).toBe(instancesBefore);
      expect(await count("jobs", user.userId)).toBe(jobsBefore);

      // A destroyed instance no longer counts.
      expect((await waitForJob(harness.app, user, firstJob)).state).toBe("succeeded");
      const { instance } = first.json() as { instance: { id: string } };
      const destroy = await harness.app.inject({ method: "DELETE", url: `/v1/instances/${instance.id}`, headers: user.auth });
      expect(destroy.statusCode).toBe(202);
      expect((await waitForJob(harness.app, user, (destroy.json() as { job: { id: string } }).job.id)).state).toBe("succeeded");
      const third = await create(user, "three");
      expect(third.statusCode).toBe(201);
      await waitForJob(harness.app, user, (third.json() as { job: { id: string } }).job.id);
    });

    it("replays a repeated request (same Idempotency-Key) even when the first one took the plan's last slot", async () => {
      const user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
      const headers = { ...user.auth, "idempotency-key": `last-slot-${database.name}` };
      const responses = await Promise.all(
        [1, 2, 3].map(() => harness.app.inject({ method: "POST", url: "/v1/instances", headers, payload: digitalOceanInstance({ name: "last" }) })),
      );
      expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 200, 201]);
      expect(new Set(responses.map((response) => (response.json() as { instance: { id: string } }).instance.id)).size).toBe(1);
      await waitForJob(harness.app, user, (responses[0]!.json() as { job: { id: string } }).job.id);
    });

    it("lets an admin define a plan and move an account onto it; concurrent requests never overshoot the limit", async () => {
      const user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
      const put = await harness.app.inject({
        method: "PUT",
        url: "/v1/admin/plans/team",
        headers: admin.auth,
        payload: { name: "Team", maxInstances: 3 },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toEqual({ id: "team", name: "Team", maxInstances: 3 });
      const patched = await harness.app.inject({ method: "PATCH", url: `/v1/admin/users/${user.userId}`, headers: admin.auth, payload: { plan: "team" } });
      expect(patched.statusCode).toBe(200);
      expect(patched.json()).toMatchObject({ plan: "team", role: "user" });

      const responses = await Promise.all(Array.from({ length: 6 }, (_, index) => create(user, `race${index}`)));
      const codes = responses.map((response) => response.statusCode).sort();
      expect(codes).toEqual([201, 201, 201, 403, 403, 403]);
      expect(await count("instances", user.userId)).toBe(3);
      for (const response of responses.filter((r) => r.statusCode === 201)) {
        await waitForJob(harness.app, user, (response.json() as { job: { id: string } }).job.id);
      }

      const plans = await harness.app.inject({ method: "GET", url: "/v1/admin/plans", headers: admin.auth });
      expect((plans.json() as { plans: { id: string; maxInstances: number }[] }).plans).toEqual(
        expect.arrayContaining([
          { id: "free", name: "Free", maxInstances: 1 },
          { id: "team", name: "Team", maxInstances: 3 },
        ]),
      );
    });

    it("refuses bad plan input with the field named, and non-admins", async () => {
      const user = await registerUser(harness.app);
      const cases: [string, string, Record<string, unknown>, number, string][] = [
        ["PATCH", `/v1/admin/users/${user.userId}`, { plan: "gold" }, 400, "body.plan"],
        ["PUT", "/v1/admin/plans/team", { name: "Team", maxInstances: -1 }, 400, "body.maxInstances"],
        ["PUT", "/v1/admin/plans/team", { name: "Team", maxInstances: 1.5 }, 400, "body.maxInstances"],
        ["PUT", "/v1/admin/plans/Bad_Id", { name: "Bad", maxInstances: 1 }, 400, "params.id"],
        ["PUT", "/v1/admin/plans/team", { name: "Team", maxInstances: 1, extra: true }, 400, "body"],
      ];
      for (const [method, url, payload, status, field] of cases) {
        const response = await harness.app.inject({ method: method as "PUT" | "PATCH", url, headers: admin.auth, payload });
        expect(response.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(status);
        expect((response.json() as { field?: string }).field ?? "", `${method} ${url}`).toContain(field);
      }
      const unchanged = await harness.app.db.selectFrom("users").select("plan_id").where("id", "=", user.userId).executeTakeFirstOrThrow();
      expect(unchanged.plan_id).toBe("free");
      const asUser = await harness.app.inject({ method: "PUT", url: "/v1/admin/plans/free", headers: user.auth, payload: { name: "Free", maxInstances: 99 } });
      expect(asUser.statusCode).toBe(403);
      const free = await harness.app.db.selectFrom("plans").select("max_instances").where("id", "=", "free").executeTakeFirstOrThrow();
      expect(Number(free.max_instances)).toBe(1);
    });

    it("admin-cli plan set, assign and list", async () => {
      const email = `cli-${database.name}@example.test`;
      const user = await registerUser(harness.app, email);
      expect(await cli("plan", "set", "pro", "--max-instances", "5", "--name", "Pro")).toBe("plan pro (Pro): max 5 instance(s)");
      expect(await cli("plan", "set", "pro", "--max-instances", "7")).toBe("plan pro (Pro): max 7 instance(s)");
      expect(await cli("plan", "assign", email, "pro")).toBe(`${email} is now on the pro plan`);
      const row = await harness.app.db.selectFrom("users").select("plan_id").where("id", "=", user.userId).executeTakeFirstOrThrow();
      expect(row.plan_id).toBe("pro");
      expect(await cli("plan", "list")).toMatch(/^pro\tPro\tmax 7 instance\(s\)\t1 account\(s\)$/m);
      await expect(cli("plan", "set", "pro", "--max-instances", "many")).rejects.toThrow(/`maxInstances`: a whole number from 0 to 10000/);
      await expect(cli("plan", "assign", email, "gold")).rejects.toThrow(/no plan `gold`; plans: .*pro/);
      await expect(cli("plan", "assign", "nobody@example.test", "pro")).rejects.toThrow(/no account/);
    });
  });
}
