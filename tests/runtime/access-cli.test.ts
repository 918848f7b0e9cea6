import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runAccessCli, type CliIo } from "../../runtime/access-cli.js";
import { renderTrustPolicy } from "../../components/access/aws-policy.js";
import { externalIdProblem } from "../../components/access/external-id.js";
import { trustPolicyAllows } from "../components/access/trust-policy-eval.js";

function io(env: Record<string, string> = {}, stdin = ""): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), env, readStdin: async () => stdin };
}

const OLD_ID = "ckHPaJy1PvXibxuNFboa7RfZPQG1xuOmC9EmY62j6JlTpqP9";
const PROVISIONER = "arn:aws:iam::111122223333:role/claw-cloud-provisioner";

describe("npm run access", () => {
  it("external-id prints a fresh valid ID each time", async () => {
    const first = io();
    const second = io();
    expect(await runAccessCli(["external-id"], first)).toBe(0);
    expect(await runAccessCli(["external-id"], second)).toBe(0);
    expect(externalIdProblem(first.lines[0])).toBeUndefined();
    expect(first.lines[0]).not.toBe(second.lines[0]);
  });

  it("rotate-external-id rewrites only the external ID, keeps comments, and the old ID stops matching", async () => {
    const dir = mkdtempSync(join(tmpdir(), "access-cli-"));
    const file = join(dir, "Pulumi.aws-access.yaml");
    writeFileSync(file, `# customer acme\nconfig:\n  clawstack:kind: aws-access # kind\n  clawstack:externalId: ${OLD_ID}\n  clawstack:accountId: "123456789012"\n`);
    const run = io();
    expect(await runAccessCli(["rotate-external-id", "--stack-file", file], run)).toBe(0);
    const text = readFileSync(file, "utf8");
    const config = (parse(text) as { config: Record<string, string> }).config;
    const next = config["clawstack:externalId"] as string;
    expect(externalIdProblem(next)).toBeUndefined();
    expect(next).not.toBe(OLD_ID);
    expect(config["clawstack:accountId"]).toBe("123456789012");
    expect(text).toContain("# customer acme");
    expect(text).toContain("# kind");
    expect(readdirSync(dir)).toEqual(["Pulumi.aws-access.yaml"]); // no temporary file left behind
    const redeployed = renderTrustPolicy(PROVISIONER, next);
    expect(trustPolicyAllows(redeployed, PROVISIONER, next)).toBe(true);
    expect(trustPolicyAllows(redeployed, PROVISIONER, OLD_ID)).toBe(false);
  });

  it("rotate-external-id refuses a file without a valid external ID and leaves it untouched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "access-cli-"));
    const file = join(dir, "Pulumi.bad.yaml");
    const original = "config:\n  clawstack:externalId: short\n";
    writeFileSync(file, original);
    const run = io();
    expect(await runAccessCli(["rotate-external-id", "--stack-file", file], run)).toBe(2);
    expect(run.errors.join("\n")).toMatch(/`clawstack:externalId` in .* must be 32 to 64 characters/);
    expect(readFileSync(file, "utf8")).toBe(original);
  });

  it("aws-policy prints the policy and refuses a bad account naming the option", async () => {
    const good = io();
    expect(await runAccessCli(["aws-policy", "--account", "123456789012"], good)).toBe(0);
    expect(JSON.parse(good.lines.join("\n")).Version).toBe("2012-10-17");
    const bad = io();
    expect(await runAccessCli(["aws-policy", "--account", "1234"], bad)).toBe(2);
    expect(bad.errors.join("\n")).toContain("`--account` must be a 12-digit AWS account ID");
  });

  it("check-do-token needs a token from the environment or stdin, never argv", async () => {
    const none = io();
    expect(await runAccessCli(["check-do-token"], none)).toBe(2);
    expect(none.errors.join("\n")).toContain("`DIGITALOCEAN_TOKEN` is empty");
    const badFeature = io({ DIGITALOCEAN_TOKEN: "dop_v1_x" });
    expect(await runAccessCli(["check-do-token", "--features", "host,gpu"], badFeature)).toBe(2);
    expect(badFeature.errors.join("\n")).toContain('`--features` must list host, state-volume, ssh; got "gpu"');
    const argvToken = io();
    expect(await runAccessCli(["check-do-token", "--token", "dop_v1_x"], argvToken)).toBe(2);
  });
});
