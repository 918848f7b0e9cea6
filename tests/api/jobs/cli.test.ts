/**
 * The terminal follower: its line format, and following a live job over
 * HTTP, including a dropped connection resumed with Last-Event-ID (every
 * event printed exactly once).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { followJob, formatEvent, parseSse } from "../../../api/cli/follow";
import type { Engine } from "../../../api/engine/types";
import { addDigitalOceanCredential, digitalOceanInstance, registerUser, startTestApp, type TestApp, type TestUser } from "./support/app";
import { StandInEngine } from "./support/stand-in-engine";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

describe("terminal follower", () => {
  it("formats each kind of event on one line", () => {
    const at = "2026-11-23T10:00:01.000Z";
    expect(formatEvent({ id: 1, event: "state", data: { at, state: "running", attempt: 1, message: "worker w1" } })).toBe(
      "10:00:01 #1    running (attempt 1): worker w1",
    );
    expect(
      formatEvent({
        id: 2,
        event: "progress",
        data: { at, event: { type: "resource", phase: "done", op: "create", urn: "urn:pulumi:s::clawstack::digitalocean:index/droplet:Droplet::openclaw", resourceType: "digitalocean:index/droplet:Droplet" } },
      }),
    ).toBe("10:00:01 #2    ✓ create digitalocean:index/droplet:Droplet openclaw");
    expect(formatEvent({ id: 3, event: "result", data: { at, state: "failed", error: "boom" } })).toBe("10:00:01 #3    ✗ failed: boom");
    expect(formatEvent({ id: undefined, event: "end", data: { state: "succeeded" } })).toBe("job succeeded");
  });

  it("parses SSE blocks and keeps an unfinished tail", () => {
    const { events, rest } = parseSse('retry: 2000\n\nid: 7\nevent: log\ndata: {"line":"hi"}\n\n: keep-alive\n\nid: 8\nevent: lo');
    expect(events).toEqual([{ id: 7, event: "log", data: { line: "hi" } }]);
    expect(rest).toBe("id: 8\nevent: lo");
  });

  describe("against the API", () => {
    let harness: TestApp;
    let user: TestUser;
    let base: string;

    beforeAll(async () => {
      engineRef.current = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")), steps: 6, stepMs: 40 });
      harness = await startTestApp({ database: "sqlite" });
      base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
      user = await registerUser(harness.app);
      await addDigitalOceanCredential(harness.app, user);
    });
    afterAll(async () => {
      await harness?.close();
    });

    it("follows a job to the end across a dropped connection, printing each event once", async () => {
      const created = await harness.app.inject({ method: "POST", url: "/v1/instances", headers: user.auth, payload: digitalOceanInstance() });
      const { job } = created.json() as { job: { id: string } };
      let calls = 0;
      // The first connection breaks after a few events, as a flaky network would.
      const flaky: typeof fetch = async (input, init) => {
        calls += 1;
        const response = await fetch(input, init);
        if (calls > 1) return response;
        const reader = response.body!.getReader();
        let seen = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { value, done } = await reader.read();
            if (done) return controller.close();
            controller.enqueue(value);
            seen += (new TextDecoder().decode(value).match(/\nid: |^id: /g) ?? []).length;
            if (seen >= 3) {
              await reader.cancel();
              controller.error(new Error("connection reset"));
            }
          },
        });
        return new Response(body, { status: response.status, headers: response.headers });
      };
      const lines: string[] = [];
      const state = await followJob({ apiUrl: base, token: user.token, jobId: job.id, write: (line) => lines.push(line), fetchImpl: flaky });
      expect(state).toBe("succeeded");
      expect(calls).toBeGreaterThanOrEqual(2);
      const ids = lines.map((line) => /#(\d+)/.exec(line)?.[1]).filter((id): id is string => id !== undefined).map(Number);
      expect(ids).toEqual(ids.map((_, index) => index + 1));
      const stored = await harness.app.db.selectFrom("job_events").select("seq").where("job_id", "=", job.id).execute();
      expect(ids).toHaveLength(stored.length);
      expect(lines.at(-1)).toBe("job succeeded");
    });
  });
});
