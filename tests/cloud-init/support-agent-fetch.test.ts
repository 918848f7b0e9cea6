/**
 * support-agent-fetch.sh, as user-data ships it, against a loopback HTTPS stand-in of the API's
 * `GET /v1/support/agent.js` (a self-signed certificate for 127.0.0.1, trusted through curl's own
 * CURL_CA_BUNDLE, as the registration test does): the agent is installed and support.sh runs only when the
 * fetched bytes match the SHA-256 pinned in user-data; a tampered, missing or plaintext agent leaves no
 * agent, runs neither half of support.sh, and says so in one line.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderCloudConfig } from "../../cloud-init/index.js";
import { supportAgentSource } from "../../cloud-init/support.js";
import { exportUserPublicKey, generateUserKeyPair } from "../../core/zero-access/user-keys.js";
import { requireTool } from "../harness/tools.js";
import { fileAt, INPUTS, parseCloudConfig, REGISTRATION } from "./fixtures.js";

const AGENT = Buffer.from("#!/usr/bin/env node\n// stand-in support agent\nconsole.log('agent');\n");
const TAMPERED = Buffer.from(AGENT.toString("utf8").replace("agent');", "agent!');"));

const haveTools = requireTool("openssl", "making the stand-in API's certificate") && requireTool("curl", "support-agent-fetch.sh fetches with curl") && requireTool("sha256sum", "the pinned hash is checked with sha256sum");
describe.skipIf(!haveTools)("support-agent-fetch.sh against a loopback HTTPS stand-in", () => {
  let dir: string;
  let lib: string;
  let script: string;
  let server: Server;
  let plain: HttpServer;
  let base: string;
  let plainBase: string;
  const requested: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clawstack-agent-fetch-"));
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(made.stderr);
    const answer = (url: string | undefined, response: import("node:http").ServerResponse) => {
      requested.push(url ?? "");
      if (url === "/v1/support/agent.js") return response.writeHead(200, { "content-type": "application/javascript" }).end(AGENT);
      if (url === "/tampered/agent.js") return response.writeHead(200, { "content-type": "application/javascript" }).end(TAMPERED);
      if (url === "/to-plaintext") return response.writeHead(302, { location: `${plainBase}/v1/support/agent.js` }).end();
      return response.writeHead(404).end("not found");
    };
    server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (request, response) => answer(request.url, response));
    plain = createHttpServer((request, response) => answer(`plain:${request.url}`, response));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    await new Promise<void>((done) => plain.listen(0, "127.0.0.1", done));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    // The script exactly as user-data carries it.
    const key = await exportUserPublicKey(await generateUserKeyPair({ extractable: false }));
    const config = parseCloudConfig(
      renderCloudConfig({ ...INPUTS.aws, registration: REGISTRATION, supportAccess: { pinnedKeys: [key], apiUrl: "https://api.example.com/v1", bundle: AGENT, delivery: { kind: "fetch", url: "https://api.example.com/v1/support/agent.js" } } }),
    );
    script = join(dir, "support-agent-fetch.sh");
    writeFileSync(script, fileAt(config, "/usr/local/lib/clawstack/support-agent-fetch.sh").content, { mode: 0o755 });
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    await new Promise<void>((done) => plain.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    lib = join(dir, `lib-${Math.random().toString(36).slice(2)}`);
    mkdirSync(lib);
    // A stand-in support.sh that records which half ran.
    writeFileSync(join(lib, "support.sh"), `#!/bin/sh\necho "$1" >>"${join(lib, "ran")}"\n`, { mode: 0o755 });
    requested.length = 0;
  });

  /** Writes the agent's source as user-data pins it (`url`, SHA-256 of AGENT), then runs the script (async: the servers are in this process). */
  async function run(mode: "setup" | "start", url: string) {
    writeFileSync(join(dir, "agent-source.conf"), supportAgentSource(url, AGENT));
    const child = spawn("sh", [script, mode], {
      env: { PATH: process.env.PATH, CLAWSTACK_SUPPORT_SOURCE: join(dir, "agent-source.conf"), CLAWSTACK_LIB: lib, CURL_CA_BUNDLE: join(dir, "cert.pem") },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const status = await new Promise<number | null>((done) => child.on("close", done));
    const ran = existsSync(join(lib, "ran")) ? readFileSync(join(lib, "ran"), "utf8").split("\n").filter(Boolean) : [];
    return { status, output, ran, files: readdirSync(lib).sort() };
  }
  const bundlePath = () => join(lib, "clawstack-support.js");

  it("installs exactly the pinned agent (0755) and runs support.sh setup, then start", async () => {
    const setup = await run("setup", `${base}/v1/support/agent.js`);
    expect(setup.status, setup.output).toBe(0);
    expect(readFileSync(bundlePath())).toEqual(AGENT);
    expect(statSync(bundlePath()).mode & 0o777).toBe(0o755);
    expect(setup.ran).toEqual(["setup"]);
    expect(setup.output).toMatch(/clawstack: support access: agent fetched from https:\/\/127\.0\.0\.1:\d+\/v1\/support\/agent\.js and installed \(SHA-256 [0-9a-f]{64}\)/);
    const start = await run("start", `${base}/v1/support/agent.js`);
    expect(start.status, start.output).toBe(0);
    expect(start.ran).toEqual(["setup", "start"]);
    // Run again (cloud-init re-running the step): the installed agent is kept, nothing fetched.
    requested.length = 0;
    expect((await run("setup", `${base}/v1/support/agent.js`)).status).toBe(0);
    expect(requested).toEqual([]);
  });

  it("refuses a tampered agent: nothing installed, no temporary file left, neither half of support.sh runs", async () => {
    const setup = await run("setup", `${base}/tampered/agent.js`);
    expect(setup.status).toBe(1);
    expect(requested).toEqual(["/tampered/agent.js"]);
    expect(setup.files).toEqual(["support.sh"]);
    expect(setup.ran).toEqual([]);
    expect(setup.output).toMatch(/has SHA-256 [0-9a-f]{64}, not the pinned [0-9a-f]{64} \(refused, not installed\); the host stays closed to support: no agent, no support user, no host credential, port 22 closed/);
    const start = await run("start", `${base}/tampered/agent.js`);
    expect(start.status).toBe(1);
    expect(start.ran).toEqual([]);
    expect(start.output).toMatch(/no support agent matching the pinned SHA-256/);
  });

  it("a failed fetch (404), a plaintext URL or a redirect to plaintext leave the host closed the same way", async () => {
    for (const url of [`${base}/missing/agent.js`, `${plainBase}/v1/support/agent.js`, `${base}/to-plaintext`]) {
      const setup = await run("setup", url);
      expect(setup.status, url).toBe(1);
      expect(setup.files, url).toEqual(["support.sh"]);
      expect(setup.ran, url).toEqual([]);
      expect(setup.output, url).toMatch(/the support agent could not be fetched from .*; the host stays closed to support/);
    }
    // curl never spoke plain HTTP: not to the http:// URL, not after the redirect.
    expect(requested.filter((url) => url.startsWith("plain:"))).toEqual([]);
  });

  it("start refuses an installed agent changed after setup", async () => {
    expect((await run("setup", `${base}/v1/support/agent.js`)).status).toBe(0);
    writeFileSync(bundlePath(), TAMPERED);
    const start = await run("start", `${base}/v1/support/agent.js`);
    expect(start.status).toBe(1);
    expect(start.ran).toEqual(["setup"]);
  });
});
