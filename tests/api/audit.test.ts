/**
 * The audit entry of a change is written in the transaction of the change,
 * on SQLite and PostgreSQL: with the audit insert refused (a trigger), every
 * audited mutating route answers 500 and leaves every table as it was; with
 * the insert allowed again, the same request succeeds, changes something and
 * leaves its entry. The operator commands (admin-cli) behave the same way.
 * Refusals and agent reads whose entry cannot be written answer 500 too.
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import { issueRegistrationToken } from "../../api/registration/tokens";
import { auditEntries, bearer, engines, json, login, newAccount, remember, type Session, signUp, signUpAdmin, startApi, type TestApi } from "./support";

interface Scenario {
  name: string;
  /** The request; built when the scenario runs, from what earlier scenarios left. */
  request: () => Promise<{ method: "POST" | "PUT" | "PATCH" | "DELETE"; url: string; token?: string; payload?: Record<string, unknown> }>;
  /** The status of the request once the audit log accepts entries again. */
  success: number;
  /** The audit action its entry carries. */
  action: string;
}

describe.each(engines("the audit atomicity suite"))("audit entries commit with their change on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let user: Session;
  let admin: Session;
  let agentKey: string;

  const refuseAudit = async () => {
    if (engine === "sqlite") {
      await sql.raw("CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END").execute(api.app.db);
    } else {
      await sql.raw("CREATE OR REPLACE FUNCTION audit_refused() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit insert refused'; END $$ LANGUAGE plpgsql").execute(api.app.db);
      await sql.raw("CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_refused()").execute(api.app.db);
    }
  };
  const allowAudit = () => sql.raw(`DROP TRIGGER audit_refused${engine === "postgres" ? " ON audit_log" : ""}`).execute(api.app.db);

  /** Every row of every table but the audit log, in a stable order. */
  const snapshot = async (): Promise<string> => {
    const tables =
      engine === "sqlite"
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(api.app.db)
        : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by table_name`.execute(api.app.db);
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      if (name === "audit_log") continue;
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(api.app.db);
      const lines = rows.rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (Buffer.isBuffer(value) ? value.toString("base64") : value))).sort();
      parts.push(`${name}\n${lines.join("\n")}`);
    }
    return parts.join("\n\n");
  };

  const send = ({ token, ...request }: Awaited<ReturnType<Scenario["request"]>>) =>
    api.inject({ ...request, ...(token ? { headers: bearer(token) } : {}) });

  beforeAll(async () => {
    if (skip) return;
    // No worker: nothing but the requests under test changes the database.
    api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    user = await signUp(api, "audited");
    admin = await signUpAdmin(api);
    const key = await api.inject({ method: "POST", url: "/v1/api-keys", headers: bearer(user.accessToken), payload: { name: "agent", scopes: ["account:read", "instances:read"] } });
    agentKey = String(json(key).key);
    remember(api, agentKey);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("every audited change is rolled back, and answered 500, when its entry cannot be written", async () => {
    const doToken = `dop_v1_${randomBytes(32).toString("hex")}`;
    remember(api, doToken);
    const ids: Record<string, string> = {};
    const fresh = await login(api, user);
    const account = newAccount(api, "new");
    const leaving = await signUp(api, "leaving");
    const removed = await signUp(api, "removed");
    const passwordNext = "the next passphrase 123";
    remember(api, passwordNext);
    const instanceBody = {
      cloud: "digitalocean",
      region: "nyc3",
      options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } },
    };

    const scenarios: Scenario[] = [
      { name: "register", action: "auth.register", success: 201, request: async () => ({ method: "POST", url: "/v1/auth/register", payload: account }) },
      { name: "login", action: "auth.login", success: 200, request: async () => ({ method: "POST", url: "/v1/auth/login", payload: { email: user.email, password: user.password } }) },
      { name: "refresh", action: "auth.refresh", success: 200, request: async () => ({ method: "POST", url: "/v1/auth/refresh", payload: { refreshToken: fresh.refreshToken } }) },
      {
        name: "api key create",
        action: "api_key.create",
        success: 201,
        request: async () => ({ method: "POST", url: "/v1/api-keys", token: user.accessToken, payload: { name: "second", scopes: ["account:read"] } }),
      },
      {
        name: "api key revoke",
        action: "api_key.revoke",
        success: 204,
        request: async () => {
          const row = await api.app.db.selectFrom("api_keys").select("id").where("name", "=", "second").executeTakeFirstOrThrow();
          return { method: "DELETE", url: `/v1/api-keys/${row.id}`, token: user.accessToken };
        },
      },
      {
        name: "credential create",
        action: "credential.create",
        success: 201,
        request: async () => ({ method: "POST", url: "/v1/credentials", token: user.accessToken, payload: { kind: "digitalocean", name: "do", token: doToken } }),
      },
      {
        name: "instance create",
        action: "instance.create",
        success: 201,
        request: async () => ({ method: "POST", url: "/v1/instances", token: user.accessToken, payload: instanceBody }),
      },
      {
        name: "job cancel (queued up)",
        action: "job.cancel",
        success: 200,
        request: async () => {
          const job = await api.app.db.selectFrom("jobs").select(["id", "instance_id"]).where("user_id", "=", user.userId).executeTakeFirstOrThrow();
          ids.instance = job.instance_id;
          return { method: "POST", url: `/v1/jobs/${job.id}/cancel`, token: user.accessToken };
        },
      },
      { name: "up again", action: "instance.up", success: 202, request: async () => ({ method: "POST", url: `/v1/instances/${ids.instance}/up`, token: user.accessToken }) },
      {
        name: "preview",
        action: "instance.preview",
        success: 202,
        request: async () => ({ method: "POST", url: `/v1/instances/${ids.instance}/preview`, token: user.accessToken }),
      },
      {
        name: "refresh (after cancelling the up)",
        action: "instance.refresh",
        success: 202,
        request: async () => {
          await api.app.db.updateTable("jobs").set({ state: "cancelled" }).where("instance_id", "=", ids.instance!).where("state", "=", "queued").execute();
          return { method: "POST", url: `/v1/instances/${ids.instance}/refresh`, token: user.accessToken };
        },
      },
      {
        name: "destroy",
        action: "instance.destroy",
        success: 202,
        request: async () => {
          await api.app.db.updateTable("jobs").set({ state: "cancelled" }).where("instance_id", "=", ids.instance!).where("state", "=", "queued").execute();
          return { method: "DELETE", url: `/v1/instances/${ids.instance}`, token: user.accessToken };
        },
      },
      {
        name: "host registration",
        action: "instance.register",
        success: 204,
        request: async () => {
          ids.registration ??= (await issueRegistrationToken(api.app.db, { instanceId: ids.instance!, jobId: null })).token;
          remember(api, ids.registration);
          const gatewayToken = `gw-${"x".repeat(40)}`;
          remember(api, gatewayToken);
          return {
            method: "POST",
            url: `/v1/instances/${ids.instance}/register`,
            payload: { registrationToken: ids.registration, gatewayToken, tlsCertSha256: "ab".repeat(32) },
          };
        },
      },
      {
        name: "credential delete",
        action: "credential.delete",
        success: 204,
        request: async () => {
          // The instance holds the credential: a second one is the one deleted.
          if (!ids.credential) {
            const second = await api.inject({
              method: "POST",
              url: "/v1/credentials",
              headers: bearer(user.accessToken),
              payload: { kind: "digitalocean", name: "spare", token: `dop_v1_${randomBytes(32).toString("hex")}` },
            });
            ids.credential = String(json(second).id);
          }
          return { method: "DELETE", url: `/v1/credentials/${ids.credential}`, token: user.accessToken };
        },
      },
      {
        name: "admin role change",
        action: "admin.user.update",
        success: 200,
        request: async () => ({ method: "PATCH", url: `/v1/admin/users/${removed.userId}`, token: admin.accessToken, payload: { role: "admin" } }),
      },
      {
        name: "plan put",
        action: "admin.plan.put",
        success: 200,
        request: async () => ({ method: "PUT", url: "/v1/admin/plans/team", token: admin.accessToken, payload: { name: "Team", maxInstances: 5 } }),
      },
      {
        name: "invite create",
        action: "admin.invite.create",
        success: 201,
        request: async () => ({ method: "POST", url: "/v1/admin/invites", token: admin.accessToken, payload: { email: `invitee-${randomBytes(3).toString("hex")}@example.com` } }),
      },
      {
        name: "invite delete",
        action: "admin.invite.delete",
        success: 204,
        request: async () => {
          const invite = await api.app.db.selectFrom("invites").select("id").executeTakeFirstOrThrow();
          return { method: "DELETE", url: `/v1/admin/invites/${invite.id}`, token: admin.accessToken };
        },
      },
      {
        name: "forced sign-out",
        action: "admin.user.sessions.revoke",
        success: 200,
        request: async () => ({ method: "DELETE", url: `/v1/admin/users/${removed.userId}/sessions`, token: admin.accessToken }),
      },
      {
        name: "admin account delete",
        action: "admin.user.delete",
        success: 204,
        request: async () => ({ method: "DELETE", url: `/v1/admin/users/${removed.userId}`, token: admin.accessToken }),
      },
      {
        name: "password change",
        action: "account.password",
        success: 200,
        request: async () => ({ method: "POST", url: "/v1/me/password", token: leaving.accessToken, payload: { currentPassword: leaving.password, newPassword: passwordNext } }),
      },
      {
        name: "logout",
        action: "auth.logout",
        success: 204,
        request: async () => {
          ids.leavingRefresh ??= (await login(api, { email: leaving.email, password: passwordNext })).refreshToken;
          return { method: "POST", url: "/v1/auth/logout", payload: { refreshToken: ids.leavingRefresh } };
        },
      },
      {
        name: "account delete",
        action: "account.delete",
        success: 204,
        request: async () => {
          ids.leavingAccess ??= (await login(api, { email: leaving.email, password: passwordNext })).accessToken;
          return { method: "DELETE", url: "/v1/me", token: ids.leavingAccess, payload: { password: passwordNext } };
        },
      },
    ];

    for (const scenario of scenarios) {
      const request = await scenario.request();
      const before = await snapshot();
      await refuseAudit();
      let refused;
      try {
        refused = await send(request);
      } finally {
        await allowAudit();
      }
      expect(refused.statusCode, `${scenario.name}: ${refused.body}`).toBe(500);
      expect(json(refused).message, scenario.name).toMatch(/^internal error/);
      expect(await snapshot(), `${scenario.name} changed the database without its audit entry`).toBe(before);

      // The same request, with the audit log working: it is a real change, and it leaves its entry.
      const accepted = await send(request);
      expect(accepted.statusCode, `${scenario.name}: ${accepted.body}`).toBe(scenario.success);
      if (accepted.body.length > 0) remember(api, ...Object.values(json(accepted)).filter((v): v is string => typeof v === "string"));
      expect(await snapshot(), `${scenario.name} changed nothing`).not.toBe(before);
      const entry = (await auditEntries(api)).filter((e) => e.action === scenario.action).at(-1);
      expect(entry, scenario.name).toMatchObject({ result: "ok", status_code: scenario.success });
      expect(Number(entry!.bytes_out) > 0 || scenario.success === 204, `${scenario.name}: the answer size was filled in`).toBe(true);
    }
  });

  it.skipIf(skip)("operator commands (admin-cli) commit their audit entry with their change, or neither", async () => {
    const cli = (stdin: string, ...args: string[]) => {
      const env = { CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) };
      return buildCli(env, () => undefined, { readStdin: async () => stdin }).parseAsync(["node", "admin-cli", ...args]);
    };
    const operator = newAccount(api, "operator");
    const target = await signUp(api, "cli-target");
    const commands: { args: string[]; stdin?: string; action: string }[] = [
      { args: ["create-admin", operator.email], stdin: `${operator.password}\n`, action: "admin.user.create.cli" },
      { args: ["promote", target.email], action: "admin.user.promote.cli" },
      { args: ["plan", "set", "cli-plan", "--max-instances", "3"], action: "admin.plan.set.cli" },
      { args: ["plan", "assign", target.email, "cli-plan"], action: "admin.plan.assign.cli" },
    ];
    for (const command of commands) {
      const before = await snapshot();
      await refuseAudit();
      try {
        await expect(cli(command.stdin ?? "", ...command.args), command.action).rejects.toThrow(/audit insert refused/);
      } finally {
        await allowAudit();
      }
      expect(await snapshot(), `${command.action} changed the database without its audit entry`).toBe(before);
      await cli(command.stdin ?? "", ...command.args);
      expect(await snapshot(), `${command.action} changed nothing`).not.toBe(before);
      expect((await auditEntries(api)).filter((e) => e.action === command.action)).toHaveLength(1);
    }
  });

  it.skipIf(skip)("a refusal or an agent's read whose entry cannot be written answers 500", async () => {
    await refuseAudit();
    try {
      const wrongPassword = await api.inject({ method: "POST", url: "/v1/auth/login", payload: { email: user.email, password: "not the password 1" } });
      expect(wrongPassword.statusCode).toBe(500);
      const agentRead = await api.inject({ method: "GET", url: "/v1/me", headers: bearer(agentKey) });
      expect(agentRead.statusCode).toBe(500);
      expect(agentRead.headers["x-content-type-options"]).toBe("nosniff");
      // A user's plain read is not audited, so it is unaffected.
      expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(user.accessToken) })).statusCode).toBe(200);
    } finally {
      await allowAudit();
    }
    expect((await api.inject({ method: "GET", url: "/v1/me", headers: bearer(agentKey) })).statusCode).toBe(200);
  });
});
