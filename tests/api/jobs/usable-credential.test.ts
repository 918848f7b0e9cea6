/**
 * The usable credential rule (api/vault/credentials-repo.ts `credentialUnusable`), as the worker's
 * credential provider applies it: a credential of the instance's cloud, not in passphrase mode;
 * a named one is refused with the reason, an unnamed choice takes the newest usable one, and a job
 * whose chosen credential is gone or unusable falls back to the newest usable one.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Engine } from "../../../api/engine/types";
import { CredentialChoiceError, MissingCredentialError } from "../../../api/jobs/credentials";
import { VaultCredentialProvider } from "../../../api/jobs/vault-credentials";
import { addDigitalOceanCredential, fakeDigitalOceanToken, registerUser, startTestApp, type TestApp, type TestUser } from "./support/app";
import { StandInEngine } from "./support/stand-in-engine";

const engineRef = vi.hoisted(() => ({ current: undefined as Engine | undefined }));
vi.mock("../../../api/engine/factory", () => ({ createEngine: () => engineRef.current }));

describe("the usable credential rule", () => {
  let harness: TestApp;
  let user: TestUser;
  let provider: VaultCredentialProvider;

  beforeAll(async () => {
    engineRef.current = new StandInEngine({ stateDir: mkdtempSync(join(tmpdir(), "stand-in-")) });
    harness = await startTestApp({ database: "sqlite", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    user = await registerUser(harness.app);
    // The vault stand-in hands back the id it was asked for, so the test sees which credential a job gets.
    provider = new VaultCredentialProvider(harness.app.db, { decrypt: async (_userId, id) => ({ kind: "digitalocean", token: id }) });
  });
  afterAll(async () => harness.close());

  async function addCredential(payload: Record<string, unknown>): Promise<string> {
    const response = await harness.app.inject({ method: "POST", url: "/v1/credentials", headers: user.auth, payload });
    expect(response.statusCode).toBe(201);
    return (response.json() as { id: string }).id;
  }

  it("refuses a named credential of another cloud or in passphrase mode, saying why", async () => {
    await expect(provider.choose(user.userId, "digitalocean")).rejects.toBeInstanceOf(MissingCredentialError);
    const guarded = await addCredential({ kind: "digitalocean", name: "guarded", token: fakeDigitalOceanToken(), passphrase: "a long passphrase here" });
    const aws = await addCredential({ kind: "aws", name: "aws", roleArn: "arn:aws:iam::123456789012:role/claw", externalId: "ext-id-1234" });
    await expect(provider.choose(user.userId, "digitalocean")).rejects.toBeInstanceOf(MissingCredentialError);
    await expect(provider.choose(user.userId, "digitalocean", guarded)).rejects.toThrow(CredentialChoiceError);
    await expect(provider.choose(user.userId, "digitalocean", guarded)).rejects.toThrow(/passphrase mode/);
    await expect(provider.choose(user.userId, "digitalocean", aws)).rejects.toThrow(/is a aws credential; this instance is on digitalocean/);
    await expect(provider.choose(user.userId, "digitalocean", "cred_00000000000000000000000000000000")).rejects.toThrow(/you have no credential/);
    expect(await provider.choose(user.userId, "aws", aws)).toBe(aws);
  });

  it("chooses the newest usable credential, and a job falls back to it when its own is unusable or gone", async () => {
    const older = (await addDigitalOceanCredential(harness.app, user)).id;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = (await addDigitalOceanCredential(harness.app, user)).id;
    await addCredential({ kind: "digitalocean", name: "newest but guarded", token: fakeDigitalOceanToken(), passphrase: "a long passphrase here" });
    expect(await provider.choose(user.userId, "digitalocean")).toBe(newer);
    expect(await provider.choose(user.userId, "digitalocean", older)).toBe(older);
    const job = { userId: user.userId, cloud: "digitalocean" as const, region: "nyc3", jobId: "job_test" };
    expect((await provider.forJob({ ...job, credentialId: older })).env.DIGITALOCEAN_TOKEN).toBe(older);
    const deleted = await harness.app.inject({ method: "DELETE", url: `/v1/credentials/${older}`, headers: user.auth });
    expect(deleted.statusCode).toBe(204);
    expect((await provider.forJob({ ...job, credentialId: older })).env.DIGITALOCEAN_TOKEN).toBe(newer);
  });
});
