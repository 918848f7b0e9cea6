/**
 * Gateway setup grants, the API's half (issue 16 "first use without a
 * shell"), on SQLite and PostgreSQL: a grant signed by a pinned device key is
 * stored and listed; a foreign signer, another instance, a support grant, a
 * window over an hour and a replay are refused naming the field; the host's
 * poll carries the active ones only (not revoked, not ended); another user
 * sees nothing; every change is audited.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signGatewayAdminGrant } from "../../core/zero-access/gateway-admin-grant";
import { signGrant } from "../../core/zero-access/support-grant";
import { exportUserPublicKey, generateUserKeyPair } from "../../core/zero-access/user-keys";
import { storeHostToken } from "../../api/support/host-credential";
import { pinDeviceKeys } from "../../api/support/pinning";
import { insertInstance } from "./jobs/support/db";
import { auditEntries, bearer, engines, json, remember, type Session, signUp, startApi, type TestApi } from "./support";

async function newDevice() {
  const pair = await generateUserKeyPair({ extractable: false });
  return { publicKey: await exportUserPublicKey(pair), signingKey: pair.signing.privateKey };
}

describe.each(engines("the gateway setup grant suite"))("gateway setup grants on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let alice: Session;
  let laptop: Awaited<ReturnType<typeof newDevice>>;
  let instanceId: string;
  let hostToken: string;

  const as = (session: Session) => bearer(session.accessToken);
  const post = (body: unknown, session = alice, id = instanceId) =>
    api.inject({ method: "POST", url: `/v1/instances/${id}/gateway-admin-grants`, headers: as(session), payload: body as Record<string, unknown> });
  const poll = async () => json(await api.inject({ method: "GET", url: `/v1/host/instances/${instanceId}/support-grants`, headers: bearer(hostToken) }));

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    alice = await signUp(api, "alice");
    laptop = await newDevice();
    expect((await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "laptop", key: laptop.publicKey } })).statusCode).toBe(201);
    ({ id: instanceId } = await insertInstance(api.app.db, { userId: alice.userId, registeredAt: new Date().toISOString() }));
    await pinDeviceKeys(api.app.db, { id: instanceId, user_id: alice.userId });
    hostToken = `cshost_${randomBytes(32).toString("base64url")}`;
    remember(api, hostToken);
    await storeHostToken(api.app.db, instanceId, hostToken);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("accepts a signed window, lists it, hands it to the host's poll, and ends it on revoke", async () => {
    expect((await poll()).gatewayAdmin).toEqual([]);
    const signed = await signGatewayAdminGrant({ instanceId, reason: "set the model provider" }, laptop);
    const made = await post(signed);
    expect(made.statusCode, made.body).toBe(201);
    const view = json(made) as { id: string; status: string; notAfter: string };
    expect(view).toMatchObject({ status: "active", reason: "set the model provider" });
    expect(view.id).toMatch(/^gag_[A-Za-z0-9_-]{22}$/);
    expect((await poll()).gatewayAdmin).toEqual([{ id: view.id, statement: signed.statement, signature: signed.signature }]);

    const replay = await post(signed);
    expect([replay.statusCode, json(replay).field]).toEqual([409, "body.statement.nonce"]);

    const listed = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/gateway-admin-grants`, headers: as(alice) })).items as { id: string; status: string }[];
    expect(listed.map((item) => [item.id, item.status])).toEqual([[view.id, "active"]]);

    const bob = await signUp(api, "bob");
    expect((await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/gateway-admin-grants`, headers: as(bob) })).statusCode).toBe(404);
    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/gateway-admin-grants/${view.id}`, headers: as(bob) })).statusCode).toBe(404);
    expect((await post(await signGatewayAdminGrant({ instanceId, reason: "x" }, laptop), bob)).statusCode).toBe(404);

    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/gateway-admin-grants/${view.id}`, headers: as(alice) })).statusCode).toBe(204);
    expect((await poll()).gatewayAdmin).toEqual([]);
    const after = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/gateway-admin-grants`, headers: as(alice) })).items as { status: string }[];
    expect(after[0]!.status).toBe("revoked");
    expect((await auditEntries(api)).map((entry) => entry.action)).toEqual(expect.arrayContaining(["gateway_admin_grant.create", "gateway_admin_grant.revoke"]));
  });

  it.skipIf(skip)("refuses a foreign signer, another instance, a support grant and a window over an hour, naming the field", async () => {
    const stranger = await newDevice();
    const foreign = await post(await signGatewayAdminGrant({ instanceId, reason: "setup" }, stranger));
    expect([foreign.statusCode, json(foreign).field]).toEqual([400, "body.statement.signer"]);
    const other = `inst_${"d".repeat(32)}`;
    const elsewhere = await post(await signGatewayAdminGrant({ instanceId: other, reason: "setup" }, laptop));
    expect([elsewhere.statusCode, json(elsewhere).field]).toEqual([400, "body.statement.instanceId"]);
    const support = await signGrant(
      { instanceId, supportKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"], sources: ["198.51.100.0/24"], reason: "x" },
      laptop,
    );
    const wrongKind = await post(support);
    expect([wrongKind.statusCode, json(wrongKind).field]).toEqual([400, "body.statement.supportKeys"]);
    const body = { statement: "{}", signature: "A".repeat(86) };
    const malformed = await post(body);
    expect(malformed.statusCode).toBe(400);
    expect((await poll()).gatewayAdmin).toEqual([]);
  });
});
