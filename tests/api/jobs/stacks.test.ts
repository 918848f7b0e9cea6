/** Stack names and the on-disk layout: stable, safe, documented; bad settings refused naming the variable. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_NAME_PATTERN } from "../../../program/stack-config";
import { loadJobsSettings, parseMemoryEstimates } from "../../../api/jobs/settings";
import { resolveStackLayout, stackWorkDir } from "../../../api/stacks/layout";
import { newInstanceId, stackNameFor, userStackPrefix } from "../../../api/stacks/naming";

describe("stack names", () => {
  it("are stable per user and instance, valid for every backend and the synth, and hide the user id", () => {
    const instance = newInstanceId();
    const name = stackNameFor("usr_Alice", instance);
    expect(name).toBe(stackNameFor("usr_Alice", instance));
    expect(name).toMatch(/^u-[0-9a-f]{12}-i-[0-9a-f]{32}$/);
    expect(name).toMatch(STACK_NAME_PATTERN);
    expect(name.startsWith(userStackPrefix("usr_Alice"))).toBe(true);
    expect(name).not.toContain("Alice");
    expect(stackNameFor("usr_Bob", instance)).not.toBe(name);
    expect(() => stackNameFor("usr_Alice", "inst_../../etc")).toThrow(/`instanceId`/);
  });
});

describe("stack layout", () => {
  it("defaults to a file backend under the data dir and one PULUMI_HOME per worker", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "layout-"));
    const layout = resolveStackLayout({ dataDir, workerName: "w1", env: { PULUMI_CONFIG_PASSPHRASE: "correct horse battery" } });
    expect(layout.backendUrl).toBe(`file://${join(dataDir, "state")}`);
    expect(layout.pulumiHome).toBe(join(dataDir, "pulumi-home", "w1"));
    expect(layout.secretsProvider).toBe("passphrase");
    expect(layout.secretEnv).toEqual({ PULUMI_CONFIG_PASSPHRASE: "correct horse battery" });
    expect(stackWorkDir(layout, "u-abc-i-def")).toBe(join(dataDir, "stacks", "u-abc-i-def"));
    // A name that could escape the folder becomes a hash.
    expect(stackWorkDir(layout, "../escape")).toMatch(new RegExp(`^${join(dataDir, "stacks")}/[0-9a-f]{16}$`));
  });

  it("accepts S3, GCS and Postgres backends and KMS secrets providers; refuses others naming the variable", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "layout-"));
    for (const url of ["s3://bucket/clawstack?region=eu-west-1", "gs://bucket/clawstack", "postgres://u:p@db/state"]) {
      expect(resolveStackLayout({ dataDir, env: { PULUMI_BACKEND_URL: url } }).backendUrl).toBe(url);
    }
    expect(resolveStackLayout({ dataDir, env: { CLAWSTACK_SECRETS_PROVIDER: "awskms://alias/clawstack?region=eu-west-1" } }).secretEnv).toEqual({});
    expect(() => resolveStackLayout({ dataDir, env: { PULUMI_BACKEND_URL: "ftp://x" } })).toThrow(/`PULUMI_BACKEND_URL`/);
    expect(() => resolveStackLayout({ dataDir, env: { CLAWSTACK_SECRETS_PROVIDER: "rot13" } })).toThrow(/`CLAWSTACK_SECRETS_PROVIDER`/);
  });
});

describe("job settings", () => {
  it("parses memory estimates and refuses bad values naming the variable", () => {
    expect(parseMemoryEstimates("up=800, preview=200")).toEqual({ up: 800, refresh: 400, destroy: 400, preview: 200 });
    expect(() => parseMemoryEstimates("deploy=5")).toThrow(/`CLAWSTACK_JOB_MEMORY_MB`.*given `deploy=5`/);
    expect(() => loadJobsSettings({ CLAWSTACK_JOB_LEASE_MS: "5" })).toThrow(/`CLAWSTACK_JOB_LEASE_MS` must be an integer from 300/);
    expect(() => loadJobsSettings({ CLAWSTACK_EMBEDDED_WORKER: "maybe" })).toThrow(/`CLAWSTACK_EMBEDDED_WORKER`/);
    expect(() => loadJobsSettings({ CLAWSTACK_PUBLIC_URL: "http://api.example.com" })).toThrow(/https:\/\//);
    expect(loadJobsSettings({ CLAWSTACK_PUBLIC_URL: "https://api.example.com/" }).publicUrl).toBe("https://api.example.com");
  });
});
