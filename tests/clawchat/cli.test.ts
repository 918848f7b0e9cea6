/**
 * The bundle the hosts run: `clawchat/build.mjs` builds one self-contained
 * file from a clean tree, and `init`, `serve` and `connect` work end to end as
 * real processes on loopback, through the stand-in OpenClaw gateway, with the
 * compromised protocol and the refusals of bad input. The server's log lines
 * are checked for content and key material.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, promises as fs } from "node:fs";
import { withoutAeadAddon } from "../../cloud-init/bundle";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listSecurityFiles } from "../../clawchat/src/security-dir";
import { startStandInGateway, waitFor } from "./support";

const run = promisify(execFile);
const repo = join(__dirname, "..", "..");
let bundle = "";

async function clawchat(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bundle, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

let root = "";
beforeAll(async () => {
  root = await fs.mkdtemp(join(tmpdir(), "clawchat-cli-"));
  // Built fresh from the sources into an empty folder (not clawchat/dist, which other suites may be reading).
  bundle = join(root, "dist", "clawchat.js");
  const { stdout } = await run(process.execPath, [join(repo, "clawchat", "build.mjs"), bundle], { cwd: repo, timeout: 60_000 });
  expect(stdout).toMatch(/clawchat\.js: \d+ bytes/);
}, 90_000);
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe("the esbuild bundle", () => {
  it("is one executable file that runs on plain node and documents its commands", async () => {
    const stat = await fs.stat(bundle);
    expect(stat.mode & 0o111).not.toBe(0);
    expect((await fs.readFile(bundle, "utf8")).startsWith("#!/usr/bin/env node\n")).toBe(true);
    // Self-contained: nothing is required from node_modules or the source tree at run time.
    const copy = join(root, "elsewhere.js");
    await fs.copyFile(bundle, copy);
    const { stdout } = await run(process.execPath, [copy, "--help"], { cwd: root });
    for (const command of ["init", "issue", "serve", "connect"]) expect(stdout).toContain(command);
    expect((await run(process.execPath, [copy, "--version"])).stdout.trim()).toBe("2.0.0");
    const serveHelp = await clawchat(["serve", "--help"]);
    for (const flag of ["--dir", "--bind", "--port"]) expect(serveHelp.stdout).toContain(flag);
    const connectHelp = await clawchat(["connect", "--help"]);
    for (const flag of ["--security-file", "--bootstrap-key"]) expect(connectHelp.stdout).toContain(flag);
  });
});

describe("init, serve and connect as real processes on loopback", () => {
  let server: ChildProcess | undefined;
  const serverOut: string[] = [];

  afterAll(() => {
    server?.kill("SIGKILL");
  });

  it("runs the whole life cycle and refuses bad input", async () => {
    const dir = join(root, "security");
    const port = await freeUdpPort();
    const init = await clawchat(["init", "--dir", dir, "--server-ip", "127.0.0.1", "--port", String(port), "--name", "CLI test", "--iterations", "100000"]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`initialised ${dir}`);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    const [securityFile] = await listSecurityFiles(dir);
    expect(securityFile).toMatch(/clawchat-\d{8}-\d{6}\.sec$/);
    expect((await fs.stat(securityFile as string)).mode & 0o777).toBe(0o600);
    const keyText = (await fs.readFile(join(dir, "bootstrap.key"), "utf8")).trim();
    expect(Buffer.from(keyText, "base64")).toHaveLength(32);
    expect(init.stdout + init.stderr).not.toContain(keyText);

    // init again: idempotent, verifies, changes nothing.
    const before = await fs.readFile(securityFile as string);
    const again = await clawchat(["init", "--dir", dir]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/already initialised: .* verified\); nothing changed/);
    expect(await fs.readFile(securityFile as string)).toEqual(before);
    expect(await listSecurityFiles(dir)).toEqual([securityFile]);

    // A directory open to others is refused, by init and by serve.
    const loose = join(root, "loose");
    await fs.mkdir(loose, { mode: 0o755 });
    await fs.chmod(loose, 0o755);
    const refusedInit = await clawchat(["init", "--dir", loose]);
    expect(refusedInit.code).toBe(2);
    expect(refusedInit.stderr).toMatch(/`--dir` .*loose has mode 755; it must be 700/);
    expect(await fs.readdir(loose)).toEqual([]);
    const badPort = await clawchat(["serve", "--dir", dir, "--port", "70000"]);
    expect(badPort.code).not.toBe(0);
    expect(badPort.stderr).toMatch(/`--port` must be an integer from 1 to 65535; got "70000"/);

    // The stand-in OpenClaw gateway, and the host's openclaw.json with its token.
    const token = "cli-gateway-token-9f8e7d";
    const gateway = await startStandInGateway(token);
    const configPath = join(root, "openclaw.json");
    await fs.writeFile(configPath, JSON.stringify({ gateway: { auth: { mode: "token", token } } }), { mode: 0o600 });
    server = spawn(process.execPath, [bundle, "serve", "--dir", dir, "--bind", "127.0.0.1", "--gateway-url", gateway.url, "--openclaw-config", configPath], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (chunk: Buffer) => serverOut.push(chunk.toString("utf8")));
    server.stderr?.on("data", (chunk: Buffer) => serverOut.push(chunk.toString("utf8")));
    await waitFor(() => serverOut.join("").includes("server_started"), 15_000);
    expect(serverOut.join("")).toContain(`"home_port":${port}`);

    // The client's copies, as transferred out of band.
    const clientDir = join(root, "client");
    await fs.mkdir(clientDir, { mode: 0o700 });
    const clientFile = join(clientDir, "server.sec");
    const clientKey = join(clientDir, "bootstrap.key");
    await fs.copyFile(securityFile as string, clientFile);
    await fs.copyFile(join(dir, "bootstrap.key"), clientKey);
    await fs.chmod(clientFile, 0o600);
    await fs.chmod(clientKey, 0o600);

    const secretMessage = "what is on my calendar tomorrow";
    const chat = await clawchat(["connect", "--security-file", clientFile, "--bootstrap-key", clientKey, "--message", secretMessage]);
    expect(chat.stderr).toMatch(/connected \(session [0-9a-f]{16}\)/);
    expect(chat).toMatchObject({ code: 0, stdout: `assistant heard: ${secretMessage}\n` });
    expect(gateway.requests.at(-1)?.authorization).toBe(`Bearer ${token}`);

    // A wrong bootstrap key: a clear refusal naming the field, nothing touched.
    const wrongKey = join(clientDir, "wrong.key");
    await fs.writeFile(wrongKey, `${Buffer.alloc(32, 7).toString("base64")}\n`, { mode: 0o600 });
    const refused = await clawchat(["connect", "--security-file", clientFile, "--bootstrap-key", wrongKey, "--message", "x"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/does not decrypt with this bootstrap key/);
    expect(await fs.readFile(clientFile)).toEqual(before);

    // The compromised protocol from the command line.
    const compromised = await clawchat(["connect", "--security-file", clientFile, "--bootstrap-key", clientKey, "--compromised"]);
    expect(compromised).toMatchObject({ code: 0 });
    expect(compromised.stdout).toMatch(/server acknowledged: keys_deleted; new security file ready: true\. Local security file deleted\./);
    await expect(fs.stat(clientFile)).rejects.toMatchObject({ code: "ENOENT" });
    await waitFor(() => serverOut.join("").includes("security_file_issued"), 10_000);
    const renewed = await listSecurityFiles(dir);
    expect(renewed).toHaveLength(1);
    expect(renewed[0]).not.toBe(securityFile);

    // SIGTERM stops the server cleanly.
    const exited = new Promise<number | null>((resolve) => server?.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    await expect(exited).resolves.toBe(0);
    server = undefined;
    await gateway.close();

    // Every line is JSON; none carries the message, the answer, the token, the bootstrap key or a shared secret.
    const log = serverOut.join("");
    const lines = log.trim().split("\n");
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(["server_started", "session_opened", "chat", "security_event", "security_file_issued", "server_stopped"]));
    for (const forbidden of [secretMessage, "calendar", token, keyText, Buffer.from(keyText, "base64").toString("hex")]) expect(log).not.toContain(forbidden);
  }, 60_000);

  it("connect --message exits 1 with the server's reason when the gateway fails; status prints the server's counts", async () => {
    const dir = join(root, "security-2");
    const port = await freeUdpPort();
    expect((await clawchat(["init", "--dir", dir, "--server-ip", "127.0.0.1", "--port", String(port), "--iterations", "100000"])).code).toBe(0);
    const closedGateway = `http://127.0.0.1:${await freeUdpPort()}`; // nothing listens on TCP there
    const out: string[] = [];
    const failing = spawn(process.execPath, [bundle, "serve", "--dir", dir, "--gateway-url", closedGateway], { stdio: ["ignore", "pipe", "pipe"] });
    failing.stdout?.on("data", (chunk: Buffer) => out.push(chunk.toString("utf8")));
    try {
      await waitFor(() => out.join("").includes("server_started"), 15_000);
      const [securityFile] = await listSecurityFiles(dir);
      const started = Date.now();
      const chat = await clawchat(["connect", "--security-file", securityFile as string, "--bootstrap-key", join(dir, "bootstrap.key"), "--message", "hello?"]);
      expect(chat.code).toBe(1);
      expect(chat.stderr).toMatch(/server error 2: the assistant is unavailable; try again later/);
      expect(Date.now() - started).toBeLessThan(25_000); // not the 30 s kill of `clawchat()`: it exited by itself
      const status = await clawchat(["status", "--dir", dir]);
      expect(status.code).toBe(0);
      // The bundle carries the AES-GCM addon its build compiled (gcc and libssl-dev present), and the server uses it.
      const aead = existsSync(join(repo, "clawchat", "dist", "clawchat-aead.node")) ? "openssl-context" : "node-crypto";
      expect(JSON.parse(status.stdout)).toMatchObject({ home_port: port, sessions: expect.any(Number), dropped: expect.any(Object), aead });
      expect(out.join("")).toContain(`"aead":"${aead}"`);
      expect((await clawchat(["status", "--dir", join(root, "nowhere")])).code).toBe(2);
    } finally {
      failing.kill("SIGTERM");
    }
  }, 60_000);

  it("runs on node:crypto when the synth left the addon out to fit user data, and says why", async () => {
    const lean = withoutAeadAddon(await fs.readFile(bundle));
    if (lean === undefined) return void console.warn("[skip] this bundle carries no AES-GCM addon (built without gcc): nothing to leave out");
    const leanBundle = join(root, "dist", "clawchat-lean.js");
    await fs.writeFile(leanBundle, lean, { mode: 0o755 });
    const dir = join(root, "security-lean");
    expect((await clawchat(["init", "--dir", dir, "--server-ip", "127.0.0.1", "--port", String(await freeUdpPort()), "--iterations", "100000"])).code).toBe(0);
    const out: string[] = [];
    const server = spawn(process.execPath, [leanBundle, "serve", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    server.stdout?.on("data", (chunk: Buffer) => out.push(chunk.toString("utf8")));
    try {
      await waitFor(() => out.join("").includes("server_started"), 15_000);
      expect(out.join("")).toContain('"aead":"node-crypto"');
      expect(out.join("")).toMatch(/"aead_detail":"addon not used: this build carries no addon \(built without gcc and OpenSSL's headers, or left out to fit user data\)"/);
    } finally {
      server.kill("SIGTERM");
    }
  }, 60_000);
});
