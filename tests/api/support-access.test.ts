/**
 * Zero access, the API's half (issue 17), on SQLite and PostgreSQL: device
 * keys, keys pinned at instance creation, the host credential sent at
 * registration (stored hashed), support grants signed by a pinned key (a
 * foreign signer, another instance, an expired grant and a replay refused),
 * revocation, the host's poll, command records (idempotent on seq, each in
 * the owner's audit log), sealed ClawChat keys (sealed to exactly the pinned
 * keys), the operator's list of active grants and support keys.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSealed, sealTo } from "../../core/zero-access/sealed-box";
import { type GrantRequest, signGrant } from "../../core/zero-access/support-grant";
import { exportUserPublicKey, generateUserKeyPair, type UserKeyPair, type UserPublicKey, userKeyFingerprint } from "../../core/zero-access/user-keys";
import { selectJobStack } from "../../api/engine/host-config";
import { registrationPreparer } from "../../api/registration/prepare";
import { issueRegistrationToken } from "../../api/registration/tokens";
import { CloudFirewallSweep } from "../../api/support/cloud-firewall";
import { storeHostToken } from "../../api/support/host-credential";
import { insertGrant } from "../../api/support/repo";
import { zeroAccessDb } from "../../api/support/tables";
import { pinDeviceKeys } from "../../api/support/pinning";
import { parseSupportKey } from "../../api/support/ssh-keys";
import { insertInstance } from "./jobs/support/db";
import { auditEntries, bearer, engines, json, remember, scanForSecrets, type Session, signUp, signUpAdmin, startApi, type TestApi } from "./support";

interface Device {
  pair: UserKeyPair;
  publicKey: UserPublicKey;
  fingerprint: string;
}

async function newDevice(): Promise<Device> {
  const pair = await generateUserKeyPair({ extractable: false });
  const publicKey = await exportUserPublicKey(pair);
  return { pair, publicKey, fingerprint: await userKeyFingerprint(publicKey) };
}

/** An OpenSSH ed25519 public key line, as an operator's support key would be. */
function supportKeyLine(): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const type = Buffer.from("ssh-ed25519");
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return `ssh-ed25519 ${blob.toString("base64")}`;
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const hostToken = () => `cshost_${randomBytes(32).toString("base64url")}`;

describe.each(engines("the zero-access suite"))("zero access on $engine", ({ engine, skip }) => {
  let api: TestApi;
  let alice: Session;
  let admin: Session;
  let laptop: Device;
  let phone: Device;
  let instanceId: string;
  let token: string;
  const supportKey = supportKeyLine();

  const as = (session: Session) => bearer(session.accessToken);
  const grant = (request: Partial<GrantRequest> = {}, device: Device = laptop, id = instanceId) =>
    signGrant(
      { instanceId: id, supportKeys: [supportKey], sources: ["198.51.100.0/24"], reason: "ticket 42: gateway does not start", ...request },
      { publicKey: device.publicKey, signingKey: device.pair.signing.privateKey },
    );
  const postGrant = (body: unknown, session = alice, id = instanceId) =>
    api.inject({ method: "POST", url: `/v1/instances/${id}/support-grants`, headers: as(session), payload: body as Record<string, unknown> });
  const host = (method: "GET" | "POST" | "PUT", path: string, presented: string, payload?: unknown) =>
    api.inject({ method, url: `/v1/host/instances/${instanceId}/${path}`, headers: bearer(presented), ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });

  beforeAll(async () => {
    if (skip) return;
    api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    alice = await signUp(api, "alice");
    admin = await signUpAdmin(api);
    laptop = await newDevice();
    phone = await newDevice();
  });
  afterAll(async () => {
    await api?.close();
  });

  it.skipIf(skip)("registers device keys (public halves, fingerprints shown), refuses a bad or repeated one naming the field, revokes", async () => {
    const made = await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "laptop", key: laptop.publicKey } });
    expect(made.statusCode, made.body).toBe(201);
    expect(json(made)).toMatchObject({ name: "laptop", fingerprint: laptop.fingerprint, revokedAt: null });
    expect(String(json(made).id)).toMatch(/^dk_[A-Za-z0-9_-]{22}$/);
    expect((await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "phone", key: phone.publicKey } })).statusCode).toBe(201);

    const again = await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "again", key: laptop.publicKey } });
    expect([again.statusCode, json(again).field]).toEqual([409, "body.key"]);
    // The halves swapped: the ECDH key is not an ECDSA key (both are P-256 SPKI).
    const swapped = await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "x", key: { signing: "AAAA", sealing: laptop.publicKey.sealing } } });
    expect([swapped.statusCode, json(swapped).field]).toEqual([400, "body.key.signing"]);
    const control = await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "lap\u202etop", key: laptop.publicKey } });
    expect([control.statusCode, json(control).field]).toEqual([400, "body.name"]);

    // An agent key cannot manage device keys.
    const agent = await api.inject({ method: "POST", url: "/v1/api-keys", headers: as(alice), payload: { name: "agent", scopes: ["instances:read"] } });
    const agentKey = String(json(agent).key);
    remember(api, agentKey);
    expect((await api.inject({ method: "GET", url: "/v1/me/device-keys", headers: bearer(agentKey) })).statusCode).toBe(403);

    // A third key, revoked: it is listed as revoked and is not pinned by new instances.
    const spare = await newDevice();
    const spareId = String(json(await api.inject({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "old", key: spare.publicKey } })).id);
    expect((await api.inject({ method: "DELETE", url: `/v1/me/device-keys/${spareId}`, headers: as(alice) })).statusCode).toBe(204);
    const bob = await signUp(api, "bob");
    expect((await api.inject({ method: "DELETE", url: `/v1/me/device-keys/${spareId}`, headers: as(bob) })).statusCode).toBe(404);
    const listed = json(await api.inject({ method: "GET", url: "/v1/me/device-keys", headers: as(alice) })).items as { name: string; fingerprint: string; revokedAt: string | null }[];
    expect(listed.map((key) => [key.name, key.revokedAt === null])).toEqual([["laptop", true], ["phone", true], ["old", false]]);
    expect((await auditEntries(api)).map((entry) => entry.action)).toEqual(expect.arrayContaining(["device_key.create", "device_key.revoke"]));
  });

  it.skipIf(skip)("a new instance pins the owner's active device keys; the host registers its token, stored only hashed", async () => {
    const credential = await api.inject({ method: "POST", url: "/v1/credentials", headers: as(alice), payload: { kind: "digitalocean", name: "do", token: "dop_v1_" + "a".repeat(64) } });
    expect(credential.statusCode, credential.body).toBe(201);
    remember(api, "dop_v1_" + "a".repeat(64));
    const created = await api.inject({
      method: "POST",
      url: "/v1/instances",
      headers: as(alice),
      payload: { cloud: "digitalocean", region: "nyc3", size: "small", options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } } },
    });
    expect(created.statusCode, created.body).toBe(201);
    instanceId = String((json(created).instance as { id: string }).id);
    const pinned = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/pinned-keys`, headers: as(alice) })).items as { fingerprint: string; key: UserPublicKey }[];
    expect(pinned.map((entry) => entry.fingerprint)).toEqual([laptop.fingerprint, phone.fingerprint]);
    expect(pinned[0]!.key).toEqual(laptop.publicKey);

    // The instance's `up` carries them to the host (cloud-init writes /etc/clawstack/user-keys.json), and the
    // engine's parser takes them; a `supportAccess` stored with the request would be dropped.
    const row = await api.app.db.selectFrom("instances").selectAll().where("id", "=", instanceId).executeTakeFirstOrThrow();
    const job = await api.app.db.selectFrom("jobs").selectAll().where("id", "=", row.last_job_id!).executeTakeFirstOrThrow();
    const stored = { ...(JSON.parse(row.config) as Record<string, unknown>), supportAccess: { pinnedKeys: [phone.publicKey], apiUrl: "https://evil.example/v1" } };
    const prepared = await registrationPreparer(api.app.db, "https://api.example.test")(job, row, stored);
    remember(api, ...prepared.secrets);
    expect(prepared.config.supportAccess).toEqual({ pinnedKeys: [laptop.publicKey, phone.publicKey], apiUrl: "https://api.example.test/v1" });
    expect(selectJobStack("host", prepared.config).config).toMatchObject({ supportAccess: { pinnedKeys: [laptop.publicKey, phone.publicKey] } });
    const { id: unpinned } = await insertInstance(api.app.db, { userId: alice.userId });
    const bare = await api.app.db.selectFrom("instances").selectAll().where("id", "=", unpinned).executeTakeFirstOrThrow();
    const withoutKeys = await registrationPreparer(api.app.db, "https://api.example.test")(job, bare, stored);
    remember(api, ...withoutKeys.secrets);
    expect(withoutKeys.config.supportAccess).toBeUndefined();

    // First boot: the registration brings the host token.
    const { token: registrationToken } = await issueRegistrationToken(api.app.db, { instanceId, jobId: null });
    token = hostToken();
    const gatewayToken = randomBytes(32).toString("hex");
    remember(api, registrationToken, token, gatewayToken);
    const registered = await api.inject({
      method: "POST",
      url: `/v1/instances/${instanceId}/register`,
      payload: { registrationToken, gatewayToken, tlsCertSha256: randomBytes(32).toString("hex"), hostToken: token },
    });
    expect(registered.statusCode, registered.body).toBe(204);
    const hashed = await zeroAccessDb(api.app.db).selectFrom("instances").select("host_token_hash").where("id", "=", instanceId).executeTakeFirstOrThrow();
    expect(hashed.host_token_hash).toMatch(/^[0-9a-f]{64}$/);
    const badToken = await api.inject({
      method: "POST",
      url: `/v1/instances/${instanceId}/register`,
      payload: { registrationToken: `csreg_${"A".repeat(43)}`, gatewayToken, tlsCertSha256: "ab".repeat(32), hostToken: "cshost_short" },
    });
    expect([badToken.statusCode, json(badToken).field]).toEqual([400, "body.hostToken"]);
    expect(json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/pinned-keys`, headers: as(alice) })).supportAgent).toBe("present");

    // A later host of an instance that registers without a credential (no agent on it) makes the API forget the earlier one.
    const { id: replaced } = await insertInstance(api.app.db, { userId: alice.userId });
    await storeHostToken(api.app.db, replaced, hostToken());
    const { token: again } = await issueRegistrationToken(api.app.db, { instanceId: replaced, jobId: null });
    remember(api, again);
    const withoutAgent = await api.inject({ method: "POST", url: `/v1/instances/${replaced}/register`, payload: { registrationToken: again, gatewayToken, tlsCertSha256: randomBytes(32).toString("hex") } });
    expect(withoutAgent.statusCode, withoutAgent.body).toBe(204);
    expect((await zeroAccessDb(api.app.db).selectFrom("instances").select("host_token_hash").where("id", "=", replaced).executeTakeFirstOrThrow()).host_token_hash).toBeNull();

    // Someone else's instance: its pinned keys are not shown to Bob.
    const bob = await signUp(api, "bob2");
    expect((await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/pinned-keys`, headers: as(bob) })).statusCode).toBe(404);
  });

  it.skipIf(skip)("accepts a grant signed by a pinned key; refuses a foreign signer, another instance, an expired or too long grant, a replay, a foreign owner", async () => {
    const signed = await grant();
    const made = await postGrant(signed);
    expect(made.statusCode, made.body).toBe(201);
    const view = json(made) as { id: string; status: string; notAfter: string; supportKeyFingerprints: string[]; sources: string[]; signer: string; cloudFirewall: string };
    expect(view.status).toBe("active");
    // The cloud firewall's rule is wanted; a job (or the sweep, while the first `up` holds the stack) opens it.
    expect([view.cloudFirewall, (view as { cloudFirewallError?: unknown }).cloudFirewallError]).toEqual(["opening", null]);
    expect(view.signer).toBe(laptop.fingerprint);
    expect(view.sources).toEqual(["198.51.100.0/24"]);
    expect(view.supportKeyFingerprints).toEqual([parseSupportKey(supportKey).fingerprint]);
    expect(Date.parse(view.notAfter) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

    // The same statement again: a replay.
    const replay = await postGrant(signed);
    expect([replay.statusCode, json(replay).field]).toEqual([409, "body.statement.nonce"]);
    expect(String(json(replay).message)).toMatch(/replayed/);

    // A key the instance does not pin (a device registered afterwards, or anyone's).
    const stranger = await newDevice();
    const foreign = await postGrant(await grant({}, stranger));
    expect([foreign.statusCode, json(foreign).field]).toEqual([400, "body.statement.signer"]);
    expect(String(json(foreign).message)).toMatch(/unknown-signer/);
    // A statement changed after signing.
    const tampered = { ...(await grant()), statement: signed.statement.replace("198.51.100.0/24", "0.0.0.1/32") };
    expect([(await postGrant(tampered)).statusCode, json(await postGrant(tampered)).field]).toEqual([400, "body.signature"]);
    // Signed for another instance.
    const other = await postGrant(await grant({}, laptop, `inst_${"a".repeat(32)}`));
    expect([other.statusCode, json(other).field]).toEqual([400, "body.statement.instanceId"]);
    // Ended an hour ago.
    const hourAgo = new Date(Date.now() - 3_600_000);
    const expired = await postGrant(await grant({ notBefore: new Date(hourAgo.getTime() - 3_600_000), notAfter: hourAgo }));
    expect([expired.statusCode, json(expired).field]).toEqual([400, "body.statement.notAfter"]);
    expect(String(json(expired).message)).toMatch(/expired/);
    // Longer than 24 hours: signGrant itself refuses to make one, so the statement is forged and signed by hand.
    const long = JSON.parse(signed.statement) as Record<string, unknown>;
    long.notAfter = new Date(Date.now() + 30 * 3_600_000).toISOString();
    long.nonce = randomBytes(16).toString("base64url");
    const statement = JSON.stringify(long);
    const signature = Buffer.from(
      await globalThis.crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, laptop.pair.signing.privateKey, new TextEncoder().encode(statement)),
    ).toString("base64url");
    const tooLong = await postGrant({ statement, signature });
    expect([tooLong.statusCode, json(tooLong).field]).toEqual([400, "body.statement.notAfter"]);
    // Bob, even with a statement Alice signed, has no such instance.
    const bob = await signUp(api, "bob3");
    expect((await postGrant(await grant(), bob)).statusCode).toBe(404);
    // A key line of the right shape whose blob is not an ed25519 key: signed, but refused by the API.
    const notAKey = await postGrant(await grant({ supportKeys: [`ssh-ed25519 ${"A".repeat(68)}`] }));
    expect([notAKey.statusCode, json(notAKey).field]).toEqual([400, "body.statement.supportKeys"]);
    expect(String(json(notAKey).message)).toMatch(/`supportKeys\[0\]`: the key data is not an ssh-ed25519 public key/);
    // Malformed input names the field.
    const badSignature = await postGrant({ statement: signed.statement, signature: "x" });
    expect([badSignature.statusCode, json(badSignature).field]).toEqual([400, "body.signature"]);

    // An instance that pins nothing accepts no grant.
    const { id: bare } = await insertInstance(api.app.db, { userId: alice.userId });
    const none = await postGrant(await grant({}, laptop, bare), alice, bare);
    expect([none.statusCode, json(none).field]).toEqual([409, "params.id"]);
    // An AWS host fetches its support agent at first boot: until it registers, whether it has it is unknown and
    // its grants are refused; once it registered with its host credential (the agent is there) they are taken.
    const { id: onAws } = await insertInstance(api.app.db, { userId: alice.userId, cloud: "aws" });
    await api.app.db.updateTable("instances").set({ pinned_keys: JSON.stringify([laptop.publicKey]) } as never).where("id", "=", onAws).execute();
    const agentOf = async (id: string) => json(await api.inject({ method: "GET", url: `/v1/instances/${id}/pinned-keys`, headers: as(alice) })).supportAgent;
    expect(await agentOf(onAws)).toBe("unknown");
    const early = await postGrant(await grant({}, laptop, onAws), alice, onAws);
    expect([early.statusCode, json(early).field]).toEqual([409, "params.id"]);
    expect(String(json(early).message)).toMatch(/AWS host has not registered yet; it fetches its support agent at first boot/);
    await api.app.db.updateTable("instances").set({ registered_at: new Date().toISOString() }).where("id", "=", onAws).execute();
    const awsHostToken = hostToken();
    remember(api, awsHostToken);
    await storeHostToken(api.app.db, onAws, awsHostToken);
    expect(await agentOf(onAws)).toBe("present");
    const onAwsGrant = await postGrant(await grant({}, laptop, onAws), alice, onAws);
    expect(onAwsGrant.statusCode, onAwsGrant.body).toBe(201);
    // A host that registered without a host credential runs no agent (its fetch failed, or it was built without
    // one), on any cloud: refused, not accepted and ignored.
    for (const cloud of ["aws", "digitalocean"] as const) {
      const { id: noAgent } = await insertInstance(api.app.db, { userId: alice.userId, cloud, registeredAt: new Date().toISOString() });
      await api.app.db.updateTable("instances").set({ pinned_keys: JSON.stringify([laptop.publicKey]) } as never).where("id", "=", noAgent).execute();
      expect(await agentOf(noAgent)).toBe("absent");
      const refused = await postGrant(await grant({}, laptop, noAgent), alice, noAgent);
      expect([refused.statusCode, json(refused).field], cloud).toEqual([409, "params.id"]);
      expect(String(json(refused).message), cloud).toMatch(/this host registered without the support agent/);
    }

    const listed = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-grants`, headers: as(alice) })).items as { id: string; status: string }[];
    expect(listed).toEqual([expect.objectContaining({ id: view.id, status: "active" })]);
  });

  it.skipIf(skip)("the host polls with its own token only; revocation shows at the next poll; the operator sees active grants", async () => {
    const polled = await host("GET", "support-grants", token);
    expect(polled.statusCode, polled.body).toBe(200);
    const body = json(polled) as { grants: { id: string; statement: string; signature: string }[]; revoked: string[]; now: string };
    expect(body.grants).toHaveLength(1);
    expect(body.revoked).toEqual([]);
    const grantId = body.grants[0]!.id;

    // Another instance's token, a made-up token, a user's token: 401, nothing confirmed.
    const { id: otherId } = await insertInstance(api.app.db, { userId: alice.userId });
    const otherToken = hostToken();
    remember(api, otherToken);
    await storeHostToken(api.app.db, otherId, otherToken);
    for (const presented of [otherToken, hostToken(), alice.accessToken]) {
      expect((await host("GET", "support-grants", presented)).statusCode).toBe(401);
    }
    expect((await api.inject({ method: "GET", url: `/v1/host/instances/${otherId}/support-grants`, headers: bearer(token) })).statusCode).toBe(401);
    expect((await api.inject({ method: "GET", url: `/v1/host/instances/${instanceId}/support-grants` })).statusCode).toBe(401);

    // A grant whose time is over is neither polled nor listed for operators; the user sees it as expired.
    const ended = new Date(Date.now() - 60_000).toISOString();
    await insertGrant(api.app.db, {
      id: `sgr_${"E".repeat(22)}`, instance_id: instanceId, user_id: alice.userId, statement: "{}", signature: "x", signer: laptop.fingerprint, nonce: "ended-nonce-0000000000000",
      not_before: new Date(Date.now() - 3_600_000).toISOString(), not_after: ended, reason: "over", sources: "[]", support_key_fingerprints: "[]", created_at: ended, revoked_at: null,
    });
    expect((json(await host("GET", "support-grants", token)).grants as { id: string }[]).map((g) => g.id)).toEqual([grantId]);
    const statuses = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-grants`, headers: as(alice) })).items as { id: string; status: string }[];
    expect(statuses.find((g) => g.id === `sgr_${"E".repeat(22)}`)?.status).toBe("expired");
    // A destroyed instance's token opens nothing.
    expect((await api.inject({ method: "GET", url: `/v1/host/instances/${otherId}/support-grants`, headers: bearer(otherToken) })).statusCode).toBe(200);
    await api.app.db.updateTable("instances").set({ status: "destroyed" }).where("id", "=", otherId).execute();
    expect((await api.inject({ method: "GET", url: `/v1/host/instances/${otherId}/support-grants`, headers: bearer(otherToken) })).statusCode).toBe(401);

    // The operator's view: the active grant of that instance, with its support key fingerprints.
    const active = json(await api.inject({ method: "GET", url: `/v1/admin/support-grants?instanceId=${instanceId}`, headers: as(admin) })).items as { id: string; supportKeyFingerprints: string[] }[];
    expect(active.map((item) => item.id)).toEqual([grantId]);
    expect((await api.inject({ method: "GET", url: "/v1/admin/support-grants", headers: as(alice) })).statusCode).toBe(403);

    // Bob cannot revoke it; Alice can: the host is told at its next poll, the operator sees none.
    const bob = await signUp(api, "bob4");
    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/support-grants/${grantId}`, headers: as(bob) })).statusCode).toBe(404);
    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/support-grants/sgr_${"A".repeat(22)}`, headers: as(alice) })).statusCode).toBe(404);
    expect((await api.inject({ method: "DELETE", url: `/v1/instances/${instanceId}/support-grants/${grantId}`, headers: as(alice) })).statusCode).toBe(204);
    const after = json(await host("GET", "support-grants", token)) as { grants: unknown[]; revoked: string[] };
    expect(after).toMatchObject({ grants: [], revoked: [grantId] });
    expect(json(await api.inject({ method: "GET", url: `/v1/admin/support-grants?instanceId=${instanceId}`, headers: as(admin) })).items).toEqual([]);
    const listed = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-grants`, headers: as(alice) })).items as { id: string; status: string; cloudFirewall: string }[];
    expect(listed[0]!.status).toBe("revoked");
    expect((await auditEntries(api)).map((entry) => entry.action)).toEqual(expect.arrayContaining(["support_grant.create", "support_grant.revoke"]));
    // Its rule in the cloud firewall is to be removed: the instance's first `up` still holds the stack (no worker
    // runs here), so no job could be enqueued yet; the sweep enqueues `support-close` once the stack is free.
    expect(listed.find((item) => item.id === grantId)?.cloudFirewall).toBe("closing");
    const jobs = await api.app.db.selectFrom("jobs").select("operation").where("instance_id", "=", instanceId).execute();
    expect(jobs.map((job) => job.operation)).toEqual(["up"]);
    await api.app.db.updateTable("jobs").set({ state: "succeeded", stack_lock: null }).where("instance_id", "=", instanceId).execute();
    const sweep = new CloudFirewallSweep({ db: api.app.db, intervalMs: 60_000, logger: { info() {}, error() {} } });
    expect(await sweep.runOnce()).toMatchObject({ enqueued: 1 });
    const queued = await api.app.db.selectFrom("jobs").select(["id", "operation"]).where("instance_id", "=", instanceId).where("state", "=", "queued").execute();
    expect(queued.map((job) => job.operation)).toEqual(["support-close"]);
    expect((await auditEntries(api)).map((entry) => entry.action)).toContain("support_grant.cloud_firewall.close");
    await api.app.db.deleteFrom("jobs").where("id", "=", queued[0]!.id).execute();
  });

  it.skipIf(skip)("stores command records once per seq, attributes them to the operator's key, and shows each in the owner's audit log", async () => {
    // The operator registers the support key the grant names: its fingerprint maps to them.
    const registered = await api.inject({ method: "POST", url: "/v1/admin/support-keys", headers: as(admin), payload: { publicKey: `${supportKey} operator@laptop` } });
    expect(registered.statusCode, registered.body).toBe(201);
    expect(json(registered)).toMatchObject({ publicKey: supportKey, fingerprint: parseSupportKey(supportKey).fingerprint, operatorEmail: admin.email });
    const duplicate = await api.inject({ method: "POST", url: "/v1/admin/support-keys", headers: as(admin), payload: { publicKey: supportKey } });
    expect([duplicate.statusCode, json(duplicate).field]).toEqual([409, "body.publicKey"]);
    const rsa = await api.inject({ method: "POST", url: "/v1/admin/support-keys", headers: as(admin), payload: { publicKey: `ssh-rsa ${"A".repeat(60)}` } });
    expect([rsa.statusCode, json(rsa).field]).toEqual([400, "body.publicKey"]);
    const published = json(await api.inject({ method: "GET", url: "/v1/support-keys", headers: as(alice) })).items as { publicKey: string }[];
    expect(published.map((key) => key.publicKey)).toEqual([supportKey]);

    const signed = await grant();
    const grantId = String(json(await postGrant(signed)).id);
    const fingerprint = parseSupportKey(supportKey).fingerprint;
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
    // What the host reports: the key sshd authenticated (prefixed or bare), or only the grant (its one key).
    const operators = [`ssh-key:${fingerprint}`, fingerprint, `grant:${grantId}`];
    const entry = (seq: number, commandLine: string, exitStatus: number) => ({
      seq, grantId, operator: operators[(seq - 1) % 3]!, commandLine, startedAt: at(seq), endedAt: at(seq + 1), exitStatus, stdoutBytes: 120 * seq, stderrBytes: seq,
    });
    const upload = (entries: unknown[], presented = token) => host("POST", "support-commands", presented, { entries });
    expect((await upload([entry(1, "systemctl status openclaw", 0), entry(2, "journalctl -u openclaw -n 50", 0)])).statusCode).toBe(204);
    // The host retries (its upload timed out): nothing is stored or audited twice.
    expect((await upload([entry(2, "journalctl -u openclaw -n 50", 0), entry(3, "ls /nonexistent", 2)])).statusCode).toBe(204);
    const items = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-commands`, headers: as(alice) })).items as Record<string, unknown>[];
    expect(items.map((item) => [item.seq, item.commandLine, item.exitStatus, item.operatorEmail])).toEqual([
      [3, "ls /nonexistent", 2, admin.email],
      [2, "journalctl -u openclaw -n 50", 0, admin.email],
      [1, "systemctl status openclaw", 0, admin.email],
    ]);
    expect(items[0]).toMatchObject({ stdoutBytes: 360, stderrBytes: 3, grantId });

    // Alice sees each command in her own audit log, with its exit status.
    const audit = json(await api.inject({ method: "GET", url: "/v1/audit?action=support.command", headers: as(alice) })).entries as { target: string; result: string; actorKind: string }[];
    expect(audit.map((e) => [e.target, e.result, e.actorKind])).toEqual([
      [`${instanceId}:${grantId}:3:exit=2`, "error", "system"],
      [`${instanceId}:${grantId}:2:exit=0`, "ok", "system"],
      [`${instanceId}:${grantId}:1:exit=0`, "ok", "system"],
    ]);
    // Bob sees none of it.
    const bob = await signUp(api, "bob5");
    expect((await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-commands`, headers: as(bob) })).statusCode).toBe(404);
    expect(json(await api.inject({ method: "GET", url: "/v1/audit?action=support.command", headers: as(bob) })).entries).toEqual([]);

    // Refusals: a grant of another instance, end before start, control characters, another host's token.
    const unknownGrant = await upload([{ ...entry(9, "id", 0), grantId: `sgr_${"B".repeat(22)}` }]);
    expect([unknownGrant.statusCode, json(unknownGrant).field]).toEqual([400, "body.entries.0.grantId"]);
    const backwards = await upload([{ ...entry(9, "id", 0), endedAt: at(0) }]);
    expect([backwards.statusCode, json(backwards).field]).toEqual([400, "body.entries.0.endedAt"]);
    expect((await upload([entry(9, "id", 0)], hostToken())).statusCode).toBe(401);
    expect(await zeroAccessDb(api.app.db).selectFrom("support_commands").select("seq").where("instance_id", "=", instanceId).execute()).toHaveLength(3);
    // A line the wrapper refused for its control characters is still a record: kept, escaped, never raw.
    expect((await upload([entry(4, "echo \u001b[2J\u0000", 126)])).statusCode).toBe(204);
    const refused = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-commands?limit=1`, headers: as(alice) })).items as { commandLine: string }[];
    expect(refused[0]!.commandLine).toBe("echo \\u001b[2J\\u0000");
  });

  it.skipIf(skip)("stores the ClawChat keys sealed to exactly the pinned keys; the owner opens them on a device, the API cannot", async () => {
    const secret = JSON.stringify({ securityFile: randomBytes(200).toString("base64"), bootstrapKey: randomBytes(32).toString("base64") });
    remember(api, secret);
    const context = `clawchat-keys:${instanceId}`;
    expect((await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/clawchat-keys`, headers: as(alice) })).statusCode).toBe(404);

    // Sealed to only one of the two pinned keys, to a stranger's, or for another context: refused, naming the field.
    const stranger = await newDevice();
    const onlyLaptop = await sealTo([laptop.publicKey], new TextEncoder().encode(secret), context);
    const partial = await host("PUT", "clawchat-keys", token, { box: onlyLaptop });
    expect([partial.statusCode, json(partial).field]).toEqual([400, "body.box.recipients"]);
    const withStranger = await sealTo([laptop.publicKey, phone.publicKey, stranger.publicKey], new TextEncoder().encode(secret), context);
    expect(json(await host("PUT", "clawchat-keys", token, { box: withStranger })).field).toBe("body.box.recipients");
    const otherContext = await sealTo([laptop.publicKey, phone.publicKey], new TextEncoder().encode(secret), "clawchat-keys:inst_x");
    expect(json(await host("PUT", "clawchat-keys", token, { box: otherContext })).field).toBe("body.box.context");
    const malformed = await host("PUT", "clawchat-keys", token, { box: { ...onlyLaptop, alg: "RSA" } });
    expect([malformed.statusCode, json(malformed).field]).toEqual([400, "body.box.alg"]);

    const box = await sealTo([laptop.publicKey, phone.publicKey], new TextEncoder().encode(secret), context);
    expect((await host("PUT", "clawchat-keys", hostToken(), { box })).statusCode).toBe(401);
    expect((await host("PUT", "clawchat-keys", token, { box })).statusCode).toBe(204);
    const fetched = await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/clawchat-keys`, headers: as(alice) });
    expect(fetched.statusCode).toBe(200);
    const stored = json(fetched) as { box: typeof box; updatedAt: string };
    expect(stored.box).toEqual(box);
    const opened = await openSealed(stored.box, { publicKey: phone.publicKey, sealingKey: phone.pair.sealing.privateKey }, context);
    expect(new TextDecoder().decode(opened)).toBe(secret);
    await expect(openSealed(stored.box, { publicKey: stranger.publicKey, sealingKey: stranger.pair.sealing.privateKey }, context)).rejects.toThrow(/not sealed to/);

    // A re-issue replaces the box.
    const reissued = await sealTo([laptop.publicKey, phone.publicKey], new TextEncoder().encode(`${secret} `), context);
    expect((await host("PUT", "clawchat-keys", token, { box: reissued })).statusCode).toBe(204);
    expect((json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/clawchat-keys`, headers: as(alice) })).box as { ciphertext: string }).ciphertext).toBe(reissued.ciphertext);
    const bob = await signUp(api, "bob6");
    expect((await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/clawchat-keys`, headers: as(bob) })).statusCode).toBe(404);
    const actions = (await auditEntries(api)).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["clawchat_keys.upload", "clawchat_keys.sealed", "clawchat_keys.read"]));
  });

  it.skipIf(skip)("rolls every zero-access change back, answering 500, when its audit entry cannot be written", async () => {
    const { id } = await insertInstance(api.app.db, { userId: alice.userId });
    await pinDeviceKeys(api.app.db, { id, user_id: alice.userId });
    const ownToken = hostToken();
    remember(api, ownToken);
    await storeHostToken(api.app.db, id, ownToken);
    const extra = await newDevice();
    const signed = await grant({}, laptop, id);
    const box = await sealTo([laptop.publicKey, phone.publicKey], new TextEncoder().encode("keys"), `clawchat-keys:${id}`);
    const tables = ["device_keys", "support_grants", "support_commands", "clawchat_keys", "operator_support_keys"];
    const snapshot = async () => {
      const parts: string[] = [];
      for (const table of tables) parts.push(JSON.stringify(await api.app.db.selectFrom(table as "device_keys").selectAll().execute()));
      return parts.join("\n");
    };
    const refuse = () =>
      engine === "sqlite"
        ? sql.raw("CREATE TRIGGER za_audit_refused BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END").execute(api.app.db)
        : sql
            .raw("CREATE OR REPLACE FUNCTION za_audit_refused() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit insert refused'; END $$ LANGUAGE plpgsql")
            .execute(api.app.db)
            .then(() => sql.raw("CREATE TRIGGER za_audit_refused BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION za_audit_refused()").execute(api.app.db));
    const allow = () => sql.raw(`DROP TRIGGER za_audit_refused${engine === "postgres" ? " ON audit_log" : ""}`).execute(api.app.db);
    const grantIdOf = async () => (await api.app.db.selectFrom("support_grants").select("id").where("instance_id", "=", id).executeTakeFirstOrThrow()).id;
    const scenarios: { name: string; success: number; request: () => Promise<Parameters<TestApi["inject"]>[0]> }[] = [
      { name: "device key create", success: 201, request: async () => ({ method: "POST", url: "/v1/me/device-keys", headers: as(alice), payload: { name: "extra", key: extra.publicKey } }) },
      {
        name: "device key revoke",
        success: 204,
        request: async () => {
          const row = await api.app.db.selectFrom("device_keys").select("id").where("fingerprint", "=", extra.fingerprint).executeTakeFirstOrThrow();
          return { method: "DELETE", url: `/v1/me/device-keys/${row.id}`, headers: as(alice) };
        },
      },
      { name: "grant create", success: 201, request: async () => ({ method: "POST", url: `/v1/instances/${id}/support-grants`, headers: as(alice), payload: signed }) },
      {
        name: "commands upload",
        success: 204,
        request: async () => ({
          method: "POST",
          url: `/v1/host/instances/${id}/support-commands`,
          headers: bearer(ownToken),
          payload: { entries: [{ seq: 1, grantId: await grantIdOf(), operator: "grant:x", commandLine: "uptime", startedAt: new Date(Date.now() - 2000).toISOString(), endedAt: new Date().toISOString(), exitStatus: 0, stdoutBytes: 5, stderrBytes: 0 }] },
        }),
      },
      { name: "grant revoke", success: 204, request: async () => ({ method: "DELETE", url: `/v1/instances/${id}/support-grants/${await grantIdOf()}`, headers: as(alice) }) },
      { name: "clawchat keys upload", success: 204, request: async () => ({ method: "PUT", url: `/v1/host/instances/${id}/clawchat-keys`, headers: bearer(ownToken), payload: { box } }) },
      { name: "operator key create", success: 201, request: async () => ({ method: "POST", url: "/v1/admin/support-keys", headers: as(admin), payload: { publicKey: supportKeyLine() } }) },
    ];
    for (const scenario of scenarios) {
      const request = await scenario.request();
      const before = await snapshot();
      await refuse();
      try {
        const refused = await api.inject(request);
        expect(refused.statusCode, `${scenario.name}: ${refused.body}`).toBe(500);
        expect(await snapshot(), scenario.name).toBe(before);
      } finally {
        await allow();
      }
      const done = await api.inject(request);
      expect(done.statusCode, `${scenario.name}: ${done.body}`).toBe(scenario.success);
      expect(await snapshot(), scenario.name).not.toBe(before);
    }
  });

  it.skipIf(skip)("keeps no secret in plaintext: host tokens, registration and gateway tokens, the sealed plaintext", async () => {
    // The pinning helper alone (what POST /v1/instances calls in its transaction) pins nothing for a user without keys.
    const carol = await signUp(api, "carol");
    const { id } = await insertInstance(api.app.db, { userId: carol.userId });
    expect(await pinDeviceKeys(api.app.db, { id, user_id: carol.userId })).toEqual([]);
    expect(await scanForSecrets(api)).toEqual([]);
  });
});
