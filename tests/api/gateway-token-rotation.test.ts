/**
 * Gateway token rotation, the API's half (issue 20): a user (their own
 * instance) or an operator (admin-cli) gets a single-use registration token;
 * the host registers its new gateway token with it and the API's sealed copy
 * is swapped; a replay, someone else's instance and an unregistered instance
 * are refused. Both engines.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../api/auth/admin-cli";
import { readGatewayToken, storeGatewayToken } from "../../api/registration/gateway-tokens";
import { insertInstance } from "./jobs/support/db";
import { auditEntries, bearer, engines, json, remember, scanForSecrets, signUp, startApi, type TestApi } from "./support";

const fingerprint = () => randomBytes(32).toString("hex");

describe.each(engines("the gateway token rotation suite"))("gateway token rotation on $engine", ({ engine, skip }) => {
  let api: TestApi;
  beforeAll(async () => {
    if (!skip) api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const register = (instanceId: string, registrationToken: string, gatewayToken: string) =>
    api.inject({ method: "POST", url: `/v1/instances/${instanceId}/register`, payload: { registrationToken, gatewayToken, tlsCertSha256: fingerprint() } });

  it.skipIf(skip)("a user rotates their instance's gateway token: the host registers the new one with a single-use token", async () => {
    const alice = await signUp(api, "alice");
    const { id } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null, registeredAt: new Date().toISOString() });
    const oldToken = randomBytes(32).toString("hex");
    const newToken = randomBytes(32).toString("hex");
    remember(api, oldToken, newToken);
    await storeGatewayToken(api.app.db, api.app.vault.wrapper, { userId: alice.userId, instanceId: id, token: oldToken });

    const rotated = await api.inject({ method: "POST", url: `/v1/instances/${id}/gateway-token/rotate`, headers: bearer(alice.accessToken) });
    expect(rotated.statusCode).toBe(201);
    const { registrationToken } = json(rotated) as { registrationToken: string };
    remember(api, registrationToken);
    expect(registrationToken).toMatch(/^csreg_/);
    expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, id)).toBe(oldToken);

    expect((await register(id, registrationToken, newToken)).statusCode).toBe(204);
    expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, id)).toBe(newToken);
    expect(await api.app.db.selectFrom("instance_secrets").selectAll().where("instance_id", "=", id).execute()).toHaveLength(1);
    // Single use: a replay is refused and changes nothing.
    expect((await register(id, registrationToken, oldToken)).statusCode).toBe(409);
    expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, id)).toBe(newToken);
    expect((await auditEntries(api)).map((entry) => entry.action)).toContain("instance.gateway_token.rotate");

    // Someone else's instance does not exist for them; an instance that never registered has nothing to rotate.
    const mallory = await signUp(api, "mallory");
    expect((await api.inject({ method: "POST", url: `/v1/instances/${id}/gateway-token/rotate`, headers: bearer(mallory.accessToken) })).statusCode).toBe(404);
    const { id: fresh } = await insertInstance(api.app.db, { userId: alice.userId, credentialId: null });
    const early = await api.inject({ method: "POST", url: `/v1/instances/${fresh}/gateway-token/rotate`, headers: bearer(alice.accessToken) });
    expect([early.statusCode, json(early).field]).toEqual([409, "id"]);
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("an operator rotates any instance's gateway token with admin-cli, the token written to a mode-600 file", async () => {
    const bob = await signUp(api, "bob");
    const { id } = await insertInstance(api.app.db, { userId: bob.userId, credentialId: null, registeredAt: new Date().toISOString() });
    const out = join(api.dataDir, `rotate-${id}`);
    const lines: string[] = [];
    const env = { CLAWSTACK_DATA_DIR: api.dataDir, CLAWSTACK_ARGON2_MEMORY_KIB: "8192", ...(api.databaseUrl ? { DATABASE_URL: api.databaseUrl } : {}) };
    await buildCli(env, (line) => lines.push(line)).parseAsync(["node", "admin-cli", "gateway-token", "rotate", id, "--out", out]);
    const registrationToken = readFileSync(out, "utf8").trim();
    remember(api, registrationToken);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(lines.join("\n")).not.toContain(registrationToken);
    const newToken = randomBytes(32).toString("hex");
    remember(api, newToken);
    expect((await register(id, registrationToken, newToken)).statusCode).toBe(204);
    expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, id)).toBe(newToken);
    await expect(buildCli(env, () => undefined).parseAsync(["node", "admin-cli", "gateway-token", "rotate", id, "--out", out])).rejects.toThrow(/exists/);
  });
});
