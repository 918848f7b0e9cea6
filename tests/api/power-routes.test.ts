/**
 * The power routes (issue 14 item 6): `POST /v1/instances/:id/stop|start|reboot`
 * enqueue a job on the instance's stack lock, audited; refused (409, saying why)
 * without a deployed host or from a state the action does not start from, or
 * while another operation holds the stack; someone else's instance is a 404.
 * Both engines. (The job itself runs in tests/jobs/power.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertInstance } from "./jobs/support/db";
import { auditEntries, bearer, engines, json, signUp, startApi, type TestApi } from "./support";

describe.each(engines("the power routes"))("power routes on $engine", ({ engine, skip }) => {
  let api: TestApi;
  beforeAll(async () => {
    if (!skip) api = await startApi({ engine, env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const deployed = async (userId: string, status: "ready" | "stopped" | "provisioning" = "ready") => {
    const { id } = await insertInstance(api.app.db, { userId, status, credentialId: null });
    await api.app.db.updateTable("instances").set({ outputs: JSON.stringify({ instanceId: "4242" }) }).where("id", "=", id).execute();
    return id;
  };

  it.skipIf(skip)("enqueues stop, audited, and refuses a second operation while it is queued", async () => {
    const alice = await signUp(api, "alice");
    const id = await deployed(alice.userId);
    const stop = await api.inject({ method: "POST", url: `/v1/instances/${id}/stop`, headers: bearer(alice.accessToken) });
    expect(stop.statusCode).toBe(202);
    expect((json(stop).job as { operation: string; state: string }).operation).toBe("stop");
    const audit = await auditEntries(api);
    expect(audit.some((entry) => entry.action === "instance.stop" && entry.target === id)).toBe(true);
    const again = await api.inject({ method: "POST", url: `/v1/instances/${id}/reboot`, headers: bearer(alice.accessToken) });
    expect(again.statusCode).toBe(409);
  });

  it.skipIf(skip)("refuses an action from the wrong state or without a deployed host, naming why", async () => {
    const bob = await signUp(api, "bob");
    const stopped = await deployed(bob.userId, "stopped");
    const reboot = await api.inject({ method: "POST", url: `/v1/instances/${stopped}/reboot`, headers: bearer(bob.accessToken) });
    expect(reboot.statusCode).toBe(409);
    expect(json(reboot).message).toMatch(/`reboot` needs the instance ready; it is stopped/);
    const start = await api.inject({ method: "POST", url: `/v1/instances/${stopped}/start`, headers: bearer(bob.accessToken) });
    expect(start.statusCode).toBe(202);

    const { id: fresh } = await insertInstance(api.app.db, { userId: bob.userId, status: "ready", credentialId: null });
    const early = await api.inject({ method: "POST", url: `/v1/instances/${fresh}/stop`, headers: bearer(bob.accessToken) });
    expect(early.statusCode).toBe(409);
    expect(json(early).message).toMatch(/no cloud instance yet/);
  });

  it.skipIf(skip)("someone else's instance is a 404, and an API key needs instances:write", async () => {
    const carol = await signUp(api, "carol");
    const dave = await signUp(api, "dave");
    const id = await deployed(carol.userId);
    const foreign = await api.inject({ method: "POST", url: `/v1/instances/${id}/stop`, headers: bearer(dave.accessToken) });
    expect(foreign.statusCode).toBe(404);
    const key = await api.inject({
      method: "POST",
      url: "/v1/api-keys",
      headers: bearer(carol.accessToken),
      payload: { name: "reader", scopes: ["instances:read"] },
    });
    expect(key.statusCode).toBe(201);
    const readOnly = await api.inject({ method: "POST", url: `/v1/instances/${id}/stop`, headers: bearer(json(key).key as string) });
    expect(readOnly.statusCode).toBe(403);
  });
});
