/**
 * Parse once, render once (issue 12): a host config is parsed once per create
 * request and once per job, and each host's cloud-config is checked and
 * rendered once per synth. Counted by wrapping the one parser
 * (`program/host-config.ts`) and the renderer's check and render
 * (`cloud-init/validate.ts`, `cloud-init/render.ts`) as their callers import them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const counts = vi.hoisted(() => ({ parse: 0, check: 0, render: 0 }));

vi.mock("../../../program/host-config", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../../program/host-config")>();
  return { ...original, parseHostConfig: (...args: Parameters<typeof original.parseHostConfig>) => (counts.parse++, original.parseHostConfig(...args)) };
});
vi.mock("../../../cloud-init/validate", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../../cloud-init/validate")>();
  return { ...original, resolveBootInput: (...args: Parameters<typeof original.resolveBootInput>) => (counts.check++, original.resolveBootInput(...args)) };
});
vi.mock("../../../cloud-init/render", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../../cloud-init/render")>();
  return {
    ...original,
    renderResolvedCloudConfig: (...args: Parameters<typeof original.renderResolvedCloudConfig>) => (counts.render++, original.renderResolvedCloudConfig(...args)),
  };
});

import { parseHostConfig } from "../../../program/host-config";
import { synthStack } from "../../../program/synth";
import { addDigitalOceanCredential, registerUser, startTestApp, type TestApp, type TestUser, waitForJob } from "./support/app";

function reset(): void {
  counts.parse = 0;
  counts.check = 0;
  counts.render = 0;
}

describe("a host config is parsed once per request and once per job", () => {
  let harness: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    harness = await startTestApp({ database: "sqlite" });
    user = await registerUser(harness.app);
    await addDigitalOceanCredential(harness.app, user);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it("parses the request once, stores the normalized config, and parses it once more for the preview job", async () => {
    const { app } = harness;
    // Park the first `up` so only the counted operations run: without the CLI it fails before parsing anything.
    reset();
    const created = await app.inject({
      method: "POST",
      url: "/v1/instances",
      headers: user.auth,
      payload: { cloud: "digitalocean", region: "fra1", options: { gatewayCidrs: ["203.0.113.0/24"], versions: { openclaw: "1.2.3", node: "22.11.0" } } },
    });
    expect(created.statusCode).toBe(201);
    expect(counts.parse).toBe(1);
    const { instance, job } = created.json() as { instance: { id: string; config: Record<string, unknown> }; job: { id: string } };
    // Stored as parsed: every default resolved, and parsing it again gives the same value.
    expect(instance.config).toEqual(JSON.parse(JSON.stringify(parseHostConfig(instance.config))));
    expect(instance.config).toMatchObject({ name: "openclaw", size: "small", clawchat: { install: "auto" }, snapshots: { enabled: true, frequency: "daily" } });
    await waitForJob(app, user, job.id, 30_000);

    reset();
    const preview = await app.inject({ method: "POST", url: `/v1/instances/${instance.id}/preview?wait=60`, headers: user.auth });
    expect(preview.statusCode).toBe(200);
    expect((preview.json() as { job: { state: string } }).job.state).toBe("succeeded");
    expect(counts.parse).toBe(1);
    expect(counts.check).toBe(1);
    expect(counts.render).toBe(1);
  });
});

/**
 * Renders per host: one, except where `clawchat.install: auto` tries the embedded bundle and it does not fit
 * the cloud's budget (DigitalOcean's plain 64 KiB less the eighth kept free): then the fetched variant is the
 * second and last render (`cloud-init/bundle.ts`; the do example fetches its bundle for that reason).
 */
const RENDERS: Record<string, number> = { "do-example": 2, "aws-example": 1, "gcp-example": 1 };

describe("each host of the example stacks is checked once and rendered once (twice only for an auto bundle that does not fit)", () => {
  for (const [stack, renders] of Object.entries(RENDERS)) {
    it(stack, async () => {
      reset();
      await synthStack(stack);
      expect(counts.parse).toBe(1);
      expect(counts.check).toBe(1);
      expect(counts.render).toBe(renders);
    });
  }
});
