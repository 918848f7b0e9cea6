import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * A cold synth loads only what its stack needs: the Pulumi SDK and that stack's one cloud SDK, never the
 * other clouds' (each is seconds of parsing on a cold start) nor the AWS/Google client libraries the API
 * and the operator tools use. Checked in a fresh process, from the module cache at exit.
 */

const REPO = join(__dirname, "..", "..");
const REPORTER = join(mkdtempSync(join(tmpdir(), "clawstack-loads-")), "report-loaded.cjs");
writeFileSync(
  REPORTER,
  `process.on("exit", () => {
  const packages = new Set();
  for (const key of Object.keys(require.cache)) {
    const match = /node_modules\\/((@[^/]+\\/)?[^/]+)\\//.exec(key);
    if (match) packages.add(match[1]);
  }
  process.stderr.write("LOADED " + JSON.stringify([...packages].sort()) + "\\n");
});
`,
);

function packagesLoadedBySynth(stack: string): string[] {
  const run = spawnSync(process.execPath, ["--require", REPORTER, "--import", "tsx", "program/synth-cli.ts", "--stack", stack, "--json"], {
    cwd: REPO,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(run.status, run.stderr).toBe(0);
  const line = run.stderr.split("\n").find((candidate) => candidate.startsWith("LOADED "));
  expect(line, run.stderr).toBeDefined();
  return JSON.parse(line!.slice("LOADED ".length)) as string[];
}

const CLOUD_SDKS = ["@pulumi/aws", "@pulumi/digitalocean", "@pulumi/gcp"];

describe("a cold synth loads only its stack's cloud SDK", () => {
  it.each([
    ["do-example", "@pulumi/digitalocean"],
    ["aws-example", "@pulumi/aws"],
    ["gcp-example", "@pulumi/gcp"],
  ])("%s loads %s and no other cloud's", (stack, sdk) => {
    const loaded = packagesLoadedBySynth(stack);
    expect(loaded).toContain("@pulumi/pulumi");
    expect(loaded.filter((name) => CLOUD_SDKS.includes(name))).toEqual([sdk]);
    expect(loaded.filter((name) => name.startsWith("@aws-sdk/") || name.startsWith("@google-cloud/"))).toEqual([]);
  });
});
