/**
 * Gateway token rotation carried out by the host (issue 20 item 4), the API's
 * half: the user asks (`rotate-on-host`), the host's poll carries the request,
 * the host sends its new token with its host credential and the API swaps its
 * sealed copy; the request is cleared, the old token is gone, the certificate
 * pin cannot change this way, another host's credential opens nothing, and a
 * host without a credential is told to use the manual route. Both engines.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGatewayToken } from "../../api/registration/gateway-tokens";
import { issueRegistrationToken } from "../../api/registration/tokens";
import { insertInstance } from "./jobs/support/db";
import { auditEntries, bearer, engines, json, remember, scanForSecrets, signUp, startApi, type TestApi } from "./support";

const hostToken = () => `cshost_${randomBytes(32).toString("base64url")}`;

describe.each(engines("the host-side gateway token rotation"))("gateway token rotation on the host on $engine", ({ engine, skip }) => {
  let api: TestApi;
  beforeAll(async () => {
    if (!skip) api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** An instance that registered at first boot with a gateway token and (optionally) a host credential. */
  async function registered(userId: string, withHostToken = true) {
    const { id } = await insertInstance(api.app.db, { userId, credentialId: null });
    const { token: registrationToken } = await issueRegistrationToken(api.app.db, { instanceId: id, jobId: null });
    const gatewayToken = randomBytes(32).toString("hex");
    const token = hostToken();
    const fingerprint = randomBytes(32).toString("hex");
    remember(api, registrationToken, gatewayToken, token);
    const answer = await api.inject({
      method: "POST",
      url: `/v1/instances/${id}/register`,
      payload: { registrationToken, gatewayToken, tlsCertSha256: fingerprint, ...(withHostToken ? { hostToken: token } : {}) },
    });
    expect(answer.statusCode, answer.body).toBe(204);
    return { id, gatewayToken, hostToken: token, fingerprint };
  }

  const poll = (id: string, token: string) => api.inject({ method: "GET", url: `/v1/host/instances/${id}/support-grants`, headers: bearer(token) });

  it.skipIf(skip)("the user asks, the host's poll carries it, the host's new token replaces the old one, the request is cleared", async () => {
    const alice = await signUp(api, "alice");
    const host = await registered(alice.userId);
    expect(json(await poll(host.id, host.hostToken)).gatewayTokenRotation).toBeNull();

    const asked = await api.inject({ method: "POST", url: `/v1/instances/${host.id}/gateway-token/rotate-on-host`, headers: bearer(alice.accessToken) });
    expect(asked.statusCode, asked.body).toBe(202);
    const requestedAt = json(asked).requestedAt as string;
    const again = await api.inject({ method: "POST", url: `/v1/instances/${host.id}/gateway-token/rotate-on-host`, headers: bearer(alice.accessToken) });
    expect(json(again).requestedAt).toBe(requestedAt);
    expect(json(await poll(host.id, host.hostToken)).gatewayTokenRotation).toEqual({ requestedAt });

    const newToken = randomBytes(32).toString("hex");
    remember(api, newToken);
    const send = (token: string, body: Record<string, unknown>) =>
      api.inject({ method: "POST", url: `/v1/host/instances/${host.id}/gateway-token`, headers: bearer(token), payload: body });
    // Another certificate is refused: a token rotation never re-pins.
    const repin = await send(host.hostToken, { gatewayToken: newToken, tlsCertSha256: randomBytes(32).toString("hex") });
    expect([repin.statusCode, json(repin).field]).toEqual([409, "body.tlsCertSha256"]);
    // Someone else's credential (or none) opens nothing.
    expect((await send(hostToken(), { gatewayToken: newToken, tlsCertSha256: host.fingerprint })).statusCode).toBe(401);
    expect((await send(alice.accessToken, { gatewayToken: newToken, tlsCertSha256: host.fingerprint })).statusCode).toBe(401);

    const swapped = await send(host.hostToken, { gatewayToken: newToken, tlsCertSha256: host.fingerprint });
    expect(swapped.statusCode, swapped.body).toBe(204);
    expect(await readGatewayToken(api.app.db, api.app.vault.wrapper, host.id)).toBe(newToken);
    expect(json(await poll(host.id, host.hostToken)).gatewayTokenRotation).toBeNull();
    const actions = (await auditEntries(api)).filter((entry) => entry.target === host.id).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(["instance.gateway_token.rotate_on_host", "instance.gateway_token.rotated"]));
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it.skipIf(skip)("a host without a credential is told to use the manual rotation; another user's instance is a 404", async () => {
    const bob = await signUp(api, "bob");
    const carol = await signUp(api, "carol");
    const plain = await registered(bob.userId, false);
    const refused = await api.inject({ method: "POST", url: `/v1/instances/${plain.id}/gateway-token/rotate-on-host`, headers: bearer(bob.accessToken) });
    expect(refused.statusCode).toBe(409);
    expect(json(refused).message).toMatch(/gateway-token\/rotate/);
    const foreign = await api.inject({ method: "POST", url: `/v1/instances/${plain.id}/gateway-token/rotate-on-host`, headers: bearer(carol.accessToken) });
    expect(foreign.statusCode).toBe(404);
  });
});
