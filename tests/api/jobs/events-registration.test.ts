/**
 * Over a real HTTP socket: the SSE stream of a job (ids 1..n, secrets
 * redacted, `end` at the finish) resumed with `Last-Event-ID`; and the
 * first-boot registration: single-use token (replay refused), expiry, the
 * gateway token in the vault and the fingerprint pinned.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../../api/engine/types";
import { readGatewayToken } from "../../../api/registration/gateway-tokens";
import { hashRegistrationToken, issueRegistrationToken } from "../../../api/registration/tokens";
import { addDigitalOceanCredential, digitalOceanInstance, registerUser, startTestApp, type TestApp, type TestUser, waitForJob } from "./support/app";
import { StandInEngine } from "./support/stand-in-engine";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Reads a whole SSE response (the server ends it after `event: end`). */
async function readStream(url: string, headers: Record<string, string>): Promise<SseEvent[]> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() && !block.startsWith(":") && !block.startsWith("retry:"))
    .map((block) => {
      const event: SseEvent = { event: "message", data: "" };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(": ");
        const value = rest.join(": ");
        if (field === "id") event.id = value;
        else if (field === "event") event.event = value;
        else if (field === "data") event.data += value;
      }
      return event;
    });
}

describe("job events over SSE and host registration", () => {
  let harness: TestApp;
  let user: TestUser;
  let base: string;
  let engine: StandInEngine;
  let doToken: string;

  beforeAll(async () => {
    engine = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 5, stepMs: 30, echoEnv: true });
    engineRef.current = engine;
    harness = await startTestApp({ database: "sqlite", env: { CLAWSTACK_PUBLIC_URL: "https://api.example.test" } });
    base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
    user = await registerUser(harness.app);
    doToken = (await addDigitalOceanCredential(harness.app, user)).token;
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("streams a job's events live and resumes after Last-Event-ID", async () => {
    const created = await harness.app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance() });
    const { job } = created.json() as { job: { id: string; eventsUrl: string } };
    // Follow from the start while the job runs.
    const all = await readStream(`${base}${job.eventsUrl}`, user.auth);
    const numbered = all.filter((event) => event.id !== undefined);
    expect(numbered.map((event) => Number(event.id))).toEqual(numbered.map((_, index) => index + 1));
    expect(numbered.some((event) => event.event === "progress")).toBe(true);
    expect(numbered.at(-1)?.event).toBe("result");
    expect(all.at(-1)).toMatchObject({ event: "end" });
    expect(JSON.parse(all.at(-1)!.data)).toEqual({ state: "succeeded" });
    const text = all.map((event) => event.data).join("\n");
    expect(text).not.toContain(doToken);
    expect(text).toContain("DIGITALOCEAN_TOKEN=[secret]");

    // Resume: only what came after the given id.
    const cut = 4;
    const resumed = await readStream(`${base}${job.eventsUrl}`, { ...user.auth, "last-event-id": String(cut) });
    const resumedIds = resumed.filter((event) => event.id !== undefined).map((event) => Number(event.id));
    expect(resumedIds).toEqual(numbered.slice(cut).map((event) => Number(event.id)));
    const viaQuery = await readStream(`${base}${job.eventsUrl}?after=${numbered.length}`, user.auth);
    expect(viaQuery.map((event) => event.event)).toEqual(["end"]);

    const stranger = await registerUser(harness.app);
    expect((await fetch(`${base}${job.eventsUrl}`, { headers: stranger.auth })).status).toBe(404);
    expect((await fetch(`${base}${job.eventsUrl}`)).status).toBe(401);
  });

  it("registers a host once with its single-use token; replays and expired tokens are refused", async () => {
    const { app } = harness;
    const created = await app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance({ name: "reg" }) });
    const { instance, job } = created.json() as { instance: { id: string; stackName: string }; job: { id: string } };
    await waitForJob(app, user, job.id);

    // The `up` got a registration block in its config; the token is nowhere in the stored rows.
    const call = engine.calls.find((entry) => entry.operation === "up" && entry.stackName === instance.stackName)!;
    const registration = call.config.registration as { apiUrl: string; instanceId: string; token: string };
    expect(registration.apiUrl).toBe(`https://api.example.test/v1/instances/${instance.id}/register`);
    expect(registration.token).toMatch(/^csreg_/);
    const events = await app.db.selectFrom("job_events").select("data").where("job_id", "=", job.id).execute();
    expect(events.map((row) => row.data).join("\n")).not.toContain(registration.token);
    const stored = await app.db.selectFrom("instances").select("config").where("id", "=", instance.id).executeTakeFirstOrThrow();
    expect(stored.config).not.toContain("csreg_");
    const tokenRow = await app.db.selectFrom("registration_tokens").selectAll().where("instance_id", "=", instance.id).executeTakeFirstOrThrow();
    expect(tokenRow.token_hash).toBe(hashRegistrationToken(registration.token));
    const ttl = Date.parse(tokenRow.expires_at) - Date.parse(tokenRow.created_at);
    expect(ttl).toBe(3_600_000);

    const gatewayToken = "g".repeat(20) + "A1b2C3d4E5f6G7h8I9j0";
    const fingerprint = "AB:".repeat(31) + "CD";
    const body = { registrationToken: registration.token, gatewayToken, tlsCertSha256: fingerprint };
    const wrongInstance = await app.inject({ method: "POST", url: `/v1/instances/inst_${"0".repeat(32)}/register`, payload: body });
    expect(wrongInstance.statusCode).toBe(401);

    const first = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/register`, payload: body });
    expect(first.statusCode).toBe(204);
    const replay = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/register`, payload: { ...body, gatewayToken: "x".repeat(40) } });
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toMatchObject({ field: "body.registrationToken" });
    expect((replay.json() as { message: string }).message).toMatch(/already used/);

    const view = (await app.inject({ method: "GET", url: `/v1/instances/${instance.id}`, headers: user.auth })).json() as {
      registration: { tlsCertSha256: string; registeredAt: string };
    };
    expect(view.registration.tlsCertSha256).toBe("ab".repeat(31) + "cd");
    expect(JSON.stringify(view)).not.toContain(gatewayToken);
    // The gateway token is in the vault (ciphertext), readable in memory only, the replay changed nothing.
    expect(await readGatewayToken(app.db, app.vault.wrapper, instance.id)).toBe(gatewayToken);
    const secretRows = await app.db.selectFrom("instance_secrets").selectAll().execute();
    expect(JSON.stringify(secretRows)).not.toContain(gatewayToken);

    // Expiry: a token issued an hour and a second ago no longer works.
    const old = await issueRegistrationToken(app.db, { instanceId: instance.id, jobId: null, now: new Date(Date.now() - 3_601_000) });
    const expired = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/register`, payload: { ...body, registrationToken: old.token } });
    expect(expired.statusCode).toBe(410);
    expect((expired.json() as { message: string }).message).toMatch(/expired/);

    const bad = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/register`, payload: { ...body, tlsCertSha256: "nope" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: "body.tlsCertSha256" });
  });
});
