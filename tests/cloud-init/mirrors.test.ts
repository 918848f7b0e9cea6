import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCloudConfig, type HostBootInput } from "../../cloud-init/index.js";
import { INPUTS } from "./fixtures.js";

const SCRIPTS = join(__dirname, "..", "..", "cloud-init", "scripts");
const SHA = "c5f059f8f481debf0a5e4f18cac5753dc0f44f07543c283f48f12c300f6a2644";
const INTEGRITY = `sha512-${"A".repeat(86)}==`;

function hostConf(input: HostBootInput): string {
  const files = (parse(renderCloudConfig(input)) as { write_files: { path: string; content: string }[] }).write_files;
  return files.find((file) => file.path === "/etc/clawstack/host.conf")!.content;
}

describe("mirrors in the rendered host", () => {
  it("writes the mirror URLs into host.conf only when configured", () => {
    const input: HostBootInput = {
      ...INPUTS.digitalocean,
      versions: { openclaw: "2026.9.6", node: "24.22.3", nodeSha256: { x64: SHA }, openclawIntegrity: INTEGRITY },
      mirrors: { npmRegistry: "https://npm.example/", nodeDist: "https://mirror.example/node" },
    };
    expect(hostConf(input)).toContain("NPM_REGISTRY_URL='https://npm.example/'\nNODE_DIST_URL='https://mirror.example/node'\n");
    expect(hostConf(INPUTS.digitalocean)).toContain("NPM_REGISTRY_URL=''\nNODE_DIST_URL=''\n");
  });

  it("refuses, in the renderer's own guard, a mirror without its pin or over http", () => {
    expect(() => renderCloudConfig({ ...INPUTS.digitalocean, mirrors: { nodeDist: "https://mirror.example/node" } })).toThrow(/versions.nodeSha256/);
    expect(() => renderCloudConfig({ ...INPUTS.digitalocean, versions: { ...INPUTS.digitalocean.versions, openclawIntegrity: INTEGRITY }, mirrors: { npmRegistry: "http://npm.example/" } })).toThrow(/`mirrors.npmRegistry`/);
  });
});

describe("the scripts' mirror and chat-completions branches, run against stand-in commands", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clawstack-mirrors-"));
    mkdirSync(join(dir, "bin"));
    const stub = (name: string, body: string) => {
      writeFileSync(join(dir, "bin", name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, "bin", name), 0o755);
    };
    stub("dpkg", "echo amd64");
    // curl: records its URL, writes a file that is not the pinned tarball.
    stub("curl", `for a; do case "$a" in https://*) echo "$a" >>"${dir}/curl.log";; esac; done; out=; prev=; for a; do [ "$prev" = -o ] && out=$a; prev=$a; done; [ -n "$out" ] && echo not-node >"$out"; exit 0`);
    stub("chown", "exit 0");
    stub("npm", `echo "npm $* registry=$npm_config_registry" >>"${dir}/npm.log"`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const conf = (values: Record<string, string>) => {
    const path = join(dir, "host.conf");
    writeFileSync(path, Object.entries(values).map(([key, value]) => `${key}='${value}'`).join("\n") + "\n");
    return path;
  };
  const run = (script: string, env: Record<string, string>) =>
    spawnSync("sh", [join(SCRIPTS, script)], { env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin`, ...env }, encoding: "utf8" });

  it("install-node.sh refuses a Node mirror without a pinned SHA-256, before downloading anything", () => {
    const result = run("install-node.sh", { CLAWSTACK_CONF: conf({ NODE_VERSION: "24.22.3", NODE_SHA256_X64: "", NODE_SHA256_ARM64: "", NODE_DIST_URL: "https://mirror.example/node" }) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("versions.nodeSha256");
    expect(() => readFileSync(join(dir, "curl.log"), "utf8")).toThrow();
  });

  it("install-node.sh downloads from the mirror and checks the pin (a wrong tarball stops it)", () => {
    const result = run("install-node.sh", { CLAWSTACK_CONF: conf({ NODE_VERSION: "24.22.3", NODE_SHA256_X64: SHA, NODE_SHA256_ARM64: "", NODE_DIST_URL: "https://mirror.example/node" }) });
    expect(readFileSync(join(dir, "curl.log"), "utf8")).toBe("https://mirror.example/node/v24.22.3/node-v24.22.3-linux-x64.tar.xz\n");
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/FAILED|did NOT match/);
  });

  it("install-openclaw.sh refuses an npm mirror without openclaw's pinned integrity", () => {
    const result = run("install-openclaw.sh", { CLAWSTACK_CONF: conf({ OPENCLAW_VERSION: "2026.9.6", OPENCLAW_INTEGRITY: "", NPM_REGISTRY_URL: "https://npm.example/" }) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("versions.openclawIntegrity");
    expect(() => readFileSync(join(dir, "npm.log"), "utf8")).toThrow();
  });

  it("gateway-config.sh enables /v1/chat/completions only with ClawChat, and keeps the token out of the file", () => {
    for (const [mode, enabled] of [["embedded", true], ["fetch", true], ["disabled", false]] as const) {
      const root = join(dir, `root-${mode}`);
      mkdirSync(join(root, "var/lib/openclaw/state"), { recursive: true });
      const result = run("gateway-config.sh", { CLAWSTACK_ROOT: root, CLAWSTACK_CONF: conf({ CLAWCHAT_MODE: mode }) });
      expect(result.status, result.stderr).toBe(0);
      const config = JSON.parse(readFileSync(join(root, "var/lib/openclaw/state/openclaw.json"), "utf8"));
      expect(config.gateway.http.endpoints.chatCompletions.enabled).toBe(enabled);
      expect(config.gateway.bind).toBe("loopback");
      expect(config.gateway.auth.token).toBe("${OPENCLAW_GATEWAY_TOKEN}");
    }
  });
});

