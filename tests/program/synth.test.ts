import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError } from "../../core/errors.js";
import { synthConfig, synthProgram, synthStack } from "../../program/synth.js";
import { readStackConfig } from "../../program/stack-config.js";
import type { SynthResult } from "../../program/synth-types.js";

const ROOT = resolve(__dirname, "../..");
const EXAMPLES = ["do-example", "aws-example", "gcp-example"] as const;

/** Runs `npm run synth`'s script (tsx program/synth-cli.ts) as a fresh process. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), join(ROOT, "program/synth-cli.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

function typesOf(result: SynthResult): string[] {
  return result.resources.map((resource) => resource.type);
}

const EXPECTED_TYPES: Record<(typeof EXAMPLES)[number], string[]> = {
  "do-example": [
    "pulumi:providers:digitalocean",
    "clawstack:host:DigitalOceanHost",
    "digitalocean:index/volume:Volume",
    "digitalocean:index/droplet:Droplet",
    "digitalocean:index/volumeAttachment:VolumeAttachment",
    "digitalocean:index/firewall:Firewall",
  ],
  "aws-example": [
    "pulumi:providers:aws",
    "clawstack:host:AwsHost",
    "aws:ebs/volume:Volume",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/instance:Instance",
    "aws:ec2/volumeAttachment:VolumeAttachment",
  ],
  "gcp-example": [
    "pulumi:providers:gcp",
    "clawstack:host:GcpHost",
    "gcp:serviceaccount/account:Account",
    "gcp:compute/disk:Disk",
    "gcp:compute/firewall:Firewall",
    "gcp:compute/instance:Instance",
    "gcp:compute/attachedDisk:AttachedDisk",
  ],
};

describe("offline synth of the example stacks", () => {
  for (const stack of EXAMPLES) {
    it(`${stack}: registers the host, its state disk and its firewall, and exports every output`, async () => {
      const result = await synthStack(stack);
      expect(result.stack).toBe(stack);
      expect(typesOf(result)).toEqual(expect.arrayContaining(EXPECTED_TYPES[stack]));
      const host = result.resources.find((resource) => resource.type.startsWith("clawstack:host:"));
      expect(host).toBeDefined();
      // Every cloud resource of the host component hangs under it.
      const cloudChildren = result.resources.filter((resource) => resource.parent === host?.urn);
      expect(cloudChildren.length).toBeGreaterThanOrEqual(4);
      for (const key of ["publicIpv4", "publicIpv6", "gatewayUrl", "instanceId", "stateDiskId"]) {
        expect(result.outputs, key).toHaveProperty(key);
      }
      expect(result.outputs.gatewayUrl).toMatch(/^https:\/\/203\.0\.113\.\d+:3000$/);
    });
  }

  it("registers nothing and names the key when the config is bad", async () => {
    const raw = { ...readStackConfig("do-example"), gatewayCidrs: [] };
    await expect(synthConfig("do-example", raw)).rejects.toThrow(ConfigError);
    await expect(synthConfig("do-example", raw)).rejects.toMatchObject({ key: "gatewayCidrs" });
  });

  it("refuses an unknown stack kind, naming `kind`", async () => {
    await expect(synthConfig("do-example", { ...readStackConfig("do-example"), kind: "mainframe" })).rejects.toMatchObject({ key: "kind" });
  });

  it("redacts a secret gateway token in the plan", async () => {
    const token = "t0k3n-that-must-never-appear-in-a-plan-0123456789";
    const result = await synthConfig("aws-example", { ...readStackConfig("aws-example"), gatewayToken: token });
    const text = JSON.stringify(result);
    expect(text).not.toContain(token);
    const parameter = result.resources.find((resource) => resource.type === "aws:ssm/parameter:Parameter");
    expect(parameter?.inputs.value).toBe("[secret]");
  });

  it("index.ts (a real `pulumi up`'s entry) registers exactly what the synth registers, from Pulumi-style string config", async () => {
    // `import = require`: index.ts is a CommonJS program whose export is the program function itself.
    const indexProgram = (await import("../../index.js")) as unknown as { default: (() => Promise<Record<string, unknown>>) & { openClawStack: unknown } };
    const program = indexProgram.default;
    expect(typeof program.openClawStack).toBe("function");
    for (const stack of EXAMPLES) {
      const document = parse(readFileSync(join(ROOT, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
      // The engine passes every value as a string, structured ones as JSON.
      const pulumiConfig = Object.fromEntries(
        Object.entries(document.config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
      );
      const viaIndex = await synthProgram(stack, program, { pulumiConfig });
      const viaSynth = await synthStack(stack);
      expect(viaIndex, stack).toEqual(viaSynth);
    }
  });

  it("index.ts refuses bad config with the full `clawstack:` key, before registering anything", async () => {
    const indexProgram = (await import("../../index.js")) as unknown as { default: () => Promise<Record<string, unknown>> };
    // Called outside any stack: validation must throw before a resource could be registered.
    pulumi.runtime.setAllConfig({ "clawstack:cloud": "digitalocean", "clawstack:region": "mars1" });
    await expect(indexProgram.default()).rejects.toThrow(/^config error in `clawstack:region`: `region` must be one of .*got "mars1"$/);
    pulumi.runtime.setAllConfig({ "clawstack:cloud": "aws", "clawstack:region": "eu-west-1", "clawstack:gatewayCidrs": "[]" });
    await expect(indexProgram.default()).rejects.toThrow(/^config error in `clawstack:gatewayCidrs`: .*got \[\]$/);
  });
});

describe("npm run synth (the CLI)", () => {
  it("--json prints exactly {stack, resources: [{type, name, parent, inputs}], outputs} for each example stack, matching the in-process synth", async () => {
    const runs = await Promise.all(EXAMPLES.map((stack) => runCli(["--stack", stack, "--json"])));
    for (const [index, stack] of EXAMPLES.entries()) {
      const run = runs[index]!;
      expect(run.code, run.stderr).toBe(0);
      const printed = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(printed).sort()).toEqual(["outputs", "resources", "stack"]);
      expect(printed.stack).toBe(stack);
      const resources = printed.resources as Record<string, unknown>[];
      expect(resources.length).toBeGreaterThan(4);
      for (const resource of resources) {
        expect(Object.keys(resource).sort()).toEqual(["inputs", "name", "parent", "type"]);
        expect(resource.type).toMatch(/^[a-z]+:[A-Za-z0-9/]*:[A-Za-z]+$|^pulumi:providers:[a-z]+$/);
        expect(String(resource.parent)).toMatch(/^urn:pulumi:/);
      }
      const inProcess = await synthStack(stack);
      expect(resources.map((resource) => `${String(resource.type)} ${String(resource.name)}`)).toEqual(
        inProcess.resources.map((resource) => `${resource.type} ${resource.name}`),
      );
      expect(printed.outputs).toEqual(inProcess.outputs);
    }
  });

  it("exits 2 with a clear message on a bad stack name, an unknown stack, a missing --stack and a bad config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clawstack-synth-"));
    const example = readFileSync(join(ROOT, "stacks", "Pulumi.do-example.yaml"), "utf8");
    writeFileSync(join(dir, "Pulumi.bad-cidr.yaml"), example.replace("    - 203.0.113.0/24\n", "    - 203.0.113.1/24\n"));
    const [badName, missing, noStack, badConfig] = await Promise.all([
      runCli(["--stack", "../etc/passwd", "--json"]),
      runCli(["--stack", "no-such-stack"]),
      runCli([]),
      runCli(["--stack", "bad-cidr", "--json", "--stacks-dir", dir]),
    ]).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(badName.code).toBe(2);
    expect(badName.stdout).toBe("");
    expect(badName.stderr).toMatch(/`stack` must be 1 to 63 characters/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no stacks\/Pulumi\.no-such-stack\.yaml/);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/`--stack` is required/);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stdout).toBe("");
    expect(badConfig.stderr).toMatch(/config error in `gatewayCidrs\[0\]`: .*no host bits set.*203\.0\.113\.1\/24/);
  });
});
