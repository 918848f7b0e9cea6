import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../../..");

function preflightCli(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "program/preflight/cli.ts"), ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("npm run preflight", () => {
  it("exits 1 and names resource, field, value, rule and source for what a cloud would refuse; 2 without --stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "preflight-cli-"));
    try {
      // Parses (EC2 takes an empty tag value), but SSM refuses it on the gateway token parameter.
      writeFileSync(
        join(dir, "Pulumi.empty-tag.yaml"),
        [
          "config:",
          "  clawstack:cloud: aws",
          "  clawstack:region: eu-west-1",
          "  clawstack:gatewayCidrs: [203.0.113.0/24]",
          "  clawstack:versions: {openclaw: 2026.1.29, node: 24.15.0}",
          '  clawstack:tags: {env: ""}',
          "  clawstack:gatewayToken: a-gateway-token-given-as-a-pulumi-secret-0123456789",
          "",
        ].join("\n"),
      );
      const run = preflightCli(["--stack", "empty-tag", "--stacks-dir", dir]);
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(
        /^finding: aws:ssm\/parameter:Parameter openclaw-gateway-token: `tags\.env` = "" must be at least 1 characters; got 0 \[aws\.ssm\.TagValue; source: botocore ssm\/2014-11-06\/service-2\.json shape TagValue/m,
      );
      expect(run.stdout).toMatch(/^note: openclaw: no `vpcId`\/`subnetId` given/m);
      expect(run.stdout).not.toContain("a-gateway-token-given-as-a-pulumi-secret");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(preflightCli([]).status).toBe(2);
  });
});
