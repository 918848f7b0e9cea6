/**
 * Who may register, on SQLite and PostgreSQL. By default (`CLAWSTACK_REGISTRATION`
 * unset = `invite`) only with a single-use invitation an admin created for that
 * email (shown once, stored hashed); the first admin is created with
 * `admin-cli create-admin` (password from stdin), never over HTTP. `open` lets
 * anyone sign up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import { auditEntries, bearer, engines, json, login, newAccount, remember, scanForSecrets, startApi, type TestApi } from "./support";

describe.each(engines("the registration suite"))("registration on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let adminToken: string;
  const register = (payload: Record<string, unknown>) => api.inject({ method: "POST", url: "/v1/auth/register", payload });

  beforeAll(async () => {
    if (skip) return;
    // The registration mode left at its default: the harness opens it, so take it back to the default here.
    api = await startApi({ engine, env: { CLAWSTACK_REGISTRATION: "invite" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("refuses every registration without an invitation, the first one and loopback included; the first admin comes from admin-cli", async () => {
    expect(api.config.registration).toBe("invite");
    const cases: { remoteAddress?: string; headers?: Record<string, string> }[] = [
      {},
      { remoteAddress: "203.0.113.9" },
      { headers: { "x-forwarded-for": "127.0.0.1" } },
      { remoteAddress: "::1" },
    ];
    for (const { remoteAddress, headers } of cases) {
      const response = await api.inject({ method: "POST", url: "/v1/auth/register", payload: newAccount(api, "early"), ...(remoteAddress ? { remoteAddress } : {}), ...(headers ? { headers } : {}) });
      expect(response.statusCode, JSON.stringify({ remoteAddress, headers })).toBe(403);
      expect(json(response)).toMatchObject({ field: "body.invite" });
      expect(String(json(response).message)).toMatch(/needs an invitation from an admin.*CLAWSTACK_REGISTRATION=open/);
    }
    expect(Number((await api.app.db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n)).toBe(0);

    // The operator creates the first admin where the server's database is: the password comes from stdin.
    const first = newAccount(api, "first");
    const cli = (stdin: string, ...args: string[]) => {
      const lines: string[] = [];
      const env = { CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) };
      return buildCli(env, (line) => lines.push(line), { readStdin: async () => stdin })
        .parseAsync(["node", "admin-cli", ...args])
        .then(() => lines.join("\n"));
    };
    await expect(cli("too short\n", "create-admin", first.email)).rejects.toThrow(/`password` \(stdin\): must be at least 12 characters/);
    await expect(cli(`${first.password}\n`, "create-admin", "not-an-email")).rejects.toThrow(/`email`: must be an email address/);
    const made = await cli(`${first.password}\n`, "create-admin", first.email);
    expect(made).toMatch(/is an admin; sign in/);
    expect(made).not.toContain(first.password);
    await expect(cli(`${first.password}\n`, "create-admin", first.email)).rejects.toThrow(/already exists; to make it admin run `promote/);
    adminToken = (await login(api, first)).accessToken;
    const me = json(await api.inject({ method: "GET", url: "/v1/me", headers: bearer(adminToken) }));
    expect(me).toMatchObject({ email: first.email, role: "admin" });
    expect((await auditEntries(api)).map((entry) => entry.action)).toContain("admin.user.create.cli");

    // The only admin cannot delete their own account (nobody could manage the API afterwards).
    const leave = await api.inject({ method: "DELETE", url: "/v1/me", headers: bearer(adminToken), payload: { password: first.password } });
    expect(leave.statusCode).toBe(409);
    expect(String(json(leave).message)).toMatch(/last admin/);
  });

  it.skipIf(skip)("registers with an admin's invitation once, for its email only, before it expires", async () => {
    const invited = newAccount(api, "invited");
    const made = await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: invited.email.toUpperCase() } });
    expect(made.statusCode, made.body).toBe(201);
    const invite = json(made) as { id: string; email: string; token: string; expiresAt: string; usedAt: null };
    remember(api, invite.token);
    expect(invite.email).toBe(invited.email);
    expect(invite.token).toMatch(/^csi_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(invite.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // Not for another email, not a made-up token.
    const other = await register({ ...newAccount(api, "other"), invite: invite.token });
    expect(other.statusCode).toBe(403);
    expect(String(json(other).message)).toMatch(/not valid/);
    expect((await register({ ...invited, invite: `csi_${"A".repeat(43)}` })).statusCode).toBe(403);
    // A token that cannot be one is refused by its format, naming the field.
    const malformed = await register({ ...invited, invite: "csi_made-up" });
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed)).toMatchObject({ field: "body.invite" });

    const ok = await register({ ...invited, invite: invite.token });
    expect(ok.statusCode, ok.body).toBe(201);
    // Spent: the token makes no second account (its email is taken now; any other email is not its own).
    expect((await register({ ...newAccount(api, "again"), email: invited.email, invite: invite.token })).statusCode).toBe(409);
    expect((await register({ ...newAccount(api, "again"), invite: invite.token })).statusCode).toBe(403);

    const stored = await api.app.db.selectFrom("invites").selectAll().where("id", "=", invite.id).executeTakeFirstOrThrow();
    expect(stored.used_by).toBe(String(json(ok).id));
    expect(JSON.stringify(stored)).not.toContain(invite.token);
    // Even with that account gone, the invitation stays spent.
    await api.app.db.deleteFrom("users").where("id", "=", String(json(ok).id)).execute();
    expect((await register({ ...invited, invite: invite.token })).statusCode).toBe(403);

    const listed = await api.inject({ method: "GET", url: "/v1/admin/invites", headers: bearer(adminToken) });
    const row = (json(listed).invites as { id: string; usedAt: string | null; token?: string }[]).find((entry) => entry.id === invite.id)!;
    expect(row.usedAt).not.toBeNull();
    expect(row.token).toBeUndefined();
    expect(listed.body).not.toContain(invite.token);
  });

  it.skipIf(skip)("spends an invitation once under concurrent registrations", async () => {
    const racer = newAccount(api, "racer");
    const made = json(await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: racer.email } })) as { token: string };
    remember(api, made.token);
    const responses = await Promise.all([1, 2, 3, 4].map(() => register({ ...racer, invite: made.token })));
    const codes = responses.map((response) => response.statusCode);
    expect(codes.filter((code) => code === 201)).toHaveLength(1);
    expect(codes.every((code) => code === 201 || code === 403 || code === 409)).toBe(true);
    const accounts = await api.app.db.selectFrom("users").select("id").where("email", "=", racer.email).execute();
    expect(accounts).toHaveLength(1);
  });

  it.skipIf(skip)("refuses expired and withdrawn invitations; only admins invite", async () => {
    const expiring = newAccount(api, "expiring");
    const made = json(await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: expiring.email, expiresInDays: 1 } })) as { id: string; token: string };
    remember(api, made.token);
    await api.app.db.updateTable("invites").set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where("id", "=", made.id).execute();
    expect((await register({ ...expiring, invite: made.token })).statusCode).toBe(403);

    const withdrawn = newAccount(api, "withdrawn");
    const second = json(await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: withdrawn.email } })) as { id: string; token: string };
    remember(api, second.token);
    expect((await api.inject({ method: "DELETE", url: `/v1/admin/invites/${second.id}`, headers: bearer(adminToken) })).statusCode).toBe(204);
    expect((await register({ ...withdrawn, invite: second.token })).statusCode).toBe(403);
    expect((await api.inject({ method: "DELETE", url: `/v1/admin/invites/${second.id}`, headers: bearer(adminToken) })).statusCode).toBe(404);

    const bad = await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: "x@example.com", expiresInDays: 90 } });
    expect(bad.statusCode).toBe(400);
    expect(json(bad)).toMatchObject({ field: "body.expiresInDays" });

    const user = newAccount(api, "plain");
    const invite = json(await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: user.email } })) as { token: string };
    remember(api, invite.token);
    expect((await register({ ...user, invite: invite.token })).statusCode).toBe(201);
    const userToken = (await login(api, user)).accessToken;
    expect((await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(userToken), payload: { email: "y@example.com" } })).statusCode).toBe(403);

    const actions = (await auditEntries(api)).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["admin.invite.create", "admin.invite.delete", "auth.register"]));
  });

  it.skipIf(skip)("refuses to invite an email that already has an account, naming the field", async () => {
    const member = newAccount(api, "member");
    const first = json(await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: member.email } })) as { token: string };
    remember(api, first.token);
    expect((await register({ ...member, invite: first.token })).statusCode).toBe(201);
    const invites = await api.app.db.selectFrom("invites").select("id").execute();

    for (const address of [member.email, member.email.toUpperCase(), ` ${member.email} `]) {
      const again = await api.inject({ method: "POST", url: "/v1/admin/invites", headers: bearer(adminToken), payload: { email: address } });
      expect(again.statusCode, address).toBe(409);
      expect(json(again)).toMatchObject({ field: "body.email" });
      expect(String(json(again).message)).toMatch(/already exists/);
    }
    expect(await api.app.db.selectFrom("invites").select("id").execute()).toHaveLength(invites.length);
  });

  it.skipIf(skip)("keeps invitation tokens out of the database and the logs", async () => {
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("`open` lets anyone register; a bad value names the variable", async () => {
    const open = await startApi({ engine, env: { CLAWSTACK_REGISTRATION: "open" } });
    try {
      expect((await open.inject({ method: "POST", url: "/v1/auth/register", payload: newAccount(open, "anyone"), remoteAddress: "203.0.113.9" })).statusCode).toBe(201);
    } finally {
      await open.close();
    }
    await expect(startApi({ engine, env: { CLAWSTACK_REGISTRATION: "public" } })).rejects.toThrow(/`CLAWSTACK_REGISTRATION`: .*invite.*open/);
  });
});
