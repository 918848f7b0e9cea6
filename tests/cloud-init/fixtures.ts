import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { Cloud, HostBootInput } from "../../cloud-init/index.js";

/** One realistic input per cloud, each with a different token source, size and SSH setting. */
export const INPUTS: Record<Cloud, HostBootInput> = {
  digitalocean: {
    cloud: "digitalocean",
    hostname: "claw-do-1",
    memoryMiB: 1024,
    stateDisk: { devicePath: "/dev/disk/by-id/scsi-0DO_Volume_claw-state" },
    versions: { openclaw: "2026.1.29", node: "24.15.0" },
    gatewayCidrs: ["203.0.113.0/24"],
    clawchat: { clientCidrs: ["198.51.100.0/24", "2001:db8::/32"], portRange: [49152, 65535] },
    ssh: null,
    gatewayToken: { source: "generate" },
  },
  aws: {
    cloud: "aws",
    hostname: "claw-aws-1",
    memoryMiB: 2048,
    stateDisk: { devicePath: "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0" },
    versions: {
      openclaw: "2026.1.29",
      node: "24.15.0",
      nodeSha256: { x64: "a".repeat(64), arm64: "b".repeat(64) },
    },
    gatewayCidrs: ["198.51.100.7/32"],
    clawchat: { clientCidrs: ["198.51.100.7/32"], portRange: [49152, 65535] },
    ssh: { cidrs: ["198.51.100.7/32"], authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl owner@laptop"] },
    gatewayToken: { source: "aws-ssm", parameterName: "/clawstack/claw-aws-1/gateway-token", region: "eu-west-1" },
  },
  gcp: {
    cloud: "gcp",
    hostname: "claw-gcp-1",
    memoryMiB: 8192,
    stateDisk: { devicePath: "/dev/disk/by-id/google-claw-state" },
    versions: { openclaw: "2026.1.29", node: "24.15.0" },
    gatewayCidrs: ["0.0.0.0/0", "::/0"],
    clawchat: { clientCidrs: ["0.0.0.0/0"], portRange: [50000, 50999] },
    ssh: null,
    gatewayToken: { source: "gcp-secret-manager", secretName: "claw-gateway-token", project: "claw-project-1" },
  },
};

export const CLOUDS = Object.keys(INPUTS) as Cloud[];

/** A small stand-in for clawchat/dist/clawchat.js: only the embedding mechanics depend on it. */
export const STAND_IN_BUNDLE = Buffer.from(
  `#!/usr/bin/env node\n"use strict";\n// stand-in ClawChat bundle for the embedding tests\nconsole.log(process.argv.slice(2).join(" "));\n`,
);

export interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: string;
}

export interface CloudConfig {
  write_files: WriteFile[];
  runcmd: string[][];
  packages: string[];
  swap?: { filename: string; size: number; maxsize: number };
  [key: string]: unknown;
}

export function parseCloudConfig(text: string): CloudConfig {
  if (!text.startsWith("#cloud-config\n")) throw new Error("not a #cloud-config document");
  return parse(text) as CloudConfig;
}

export function fileAt(config: CloudConfig, path: string): WriteFile {
  const found = config.write_files.find((entry) => entry.path === path);
  if (!found) throw new Error(`no write_files entry for ${path}`);
  return found;
}

/** Every embedded shell script (by its shebang). */
export function shellScripts(config: CloudConfig): WriteFile[] {
  return config.write_files.filter((entry) => entry.encoding === undefined && /^#!\/bin\/(ba)?sh\n/.test(entry.content));
}

/** Runs a command in a scratch directory holding `files`, and always removes it. */
export function withScratch<T>(files: Record<string, string>, run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "clawstack-cloud-init-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ToolResult {
  status: number | null;
  output: string;
}

export function runTool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): ToolResult {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** `cloud-init schema` on a document: valid only with exit 0, the "Valid cloud-config" line and no deprecations. */
export function cloudInitSchema(text: string): ToolResult & { valid: boolean } {
  return withScratch({ "user-data.yaml": text }, (dir) => {
    const result = runTool("cloud-init", ["schema", "--config-file", join(dir, "user-data.yaml")]);
    const valid = result.status === 0 && /Valid cloud-config/.test(result.output) && !/deprecat/i.test(result.output);
    return { ...result, valid };
  });
}

/** The top-level keys the installed cloud-init's JSON schema defines (it accepts unknown keys silently). */
export function schemaTopLevelKeys(): Set<string> {
  // The Python that runs cloud-init (its shebang) is the one that has the `cloudinit` module.
  const cloudInit = execFileSync("sh", ["-c", "command -v cloud-init"], { encoding: "utf8" }).trim();
  const interpreter = /^#!(\S+)/.exec(readFileSync(cloudInit, "utf8"))?.[1] ?? "python3";
  const pythonPath = execFileSync(interpreter, ["-c", "import cloudinit, os; print(os.path.dirname(cloudinit.__file__))"], { encoding: "utf8" }).trim();
  const schema = JSON.parse(readFileSync(join(pythonPath, "config/schemas/schema-cloud-config-v1.json"), "utf8")) as {
    $defs: Record<string, { properties?: Record<string, unknown> }>;
  };
  const keys = new Set<string>();
  for (const definition of Object.values(schema.$defs)) {
    for (const key of Object.keys(definition.properties ?? {})) keys.add(key);
  }
  return keys;
}

export function shellcheck(script: string): ToolResult {
  return withScratch({ "script.sh": script }, (dir) => runTool("shellcheck", ["--shell=sh", "--severity=style", join(dir, "script.sh")]));
}

/** A registration as the API's job runner sets it (formats of api/registration/). The token is a made-up one. */
export const REGISTRATION = {
  apiUrl: "https://api.example.com/v1/instances/inst_0123456789abcdef0123456789abcdef/register",
  instanceId: "inst_0123456789abcdef0123456789abcdef",
  token: `csreg_${"Ab3-_x".repeat(7)}Q`,
};
