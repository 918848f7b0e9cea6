import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeUserData, renderCloudConfig, USER_DATA_LIMITS } from "../../cloud-init/index.js";
import { ConfigError } from "../../core/errors.js";
import { requireTool } from "../harness/tools.js";
import { CLOUDS, cloudInitSchema, fileAt, INPUTS, parseCloudConfig, REGISTRATION, shellcheck } from "./fixtures.js";

const SCRIPT = resolve(__dirname, "../../cloud-init/scripts/register.sh");

describe("registration in the rendered cloud-config", () => {
  for (const cloud of CLOUDS) {
    it(`${cloud}: the step, its script and the root-only token file only when configured`, () => {
      const without = parseCloudConfig(renderCloudConfig(INPUTS[cloud]));
      expect(without.write_files.map((entry) => entry.path)).not.toContain("/usr/local/lib/clawstack/register.sh");
      expect(without.write_files.map((entry) => entry.path)).not.toContain("/etc/clawstack/registration-token");
      expect(fileAt(without, "/etc/clawstack/host.conf").content).toContain("REGISTRATION_API_URL=''");

      const text = renderCloudConfig({ ...INPUTS[cloud], registration: REGISTRATION });
      const config = parseCloudConfig(text);
      const tokenFile = fileAt(config, "/etc/clawstack/registration-token");
      expect(tokenFile).toMatchObject({ content: `${REGISTRATION.token}\n`, permissions: "0600", owner: "root:root" });
      expect(fileAt(config, "/usr/local/lib/clawstack/register.sh").permissions).toBe("0755");
      const conf = fileAt(config, "/etc/clawstack/host.conf").content;
      expect(conf).toContain(`REGISTRATION_API_URL='${REGISTRATION.apiUrl}'`);
      // The token appears once in the document: in its file, nowhere else.
      expect(text.split(REGISTRATION.token).length - 1).toBe(1);
      expect(fileAt(config, "/usr/local/lib/clawstack/first-boot.sh").content).toMatch(/"\$lib\/register\.sh" \|\| log "registration did not complete/);
      expect(encodeUserData(cloud, text).bytes).toBeLessThanOrEqual(USER_DATA_LIMITS[cloud]);
    });
  }

  it("refuses a bad registration input naming the field, never echoing the token", () => {
    const bad = (registration: typeof REGISTRATION) => () => renderCloudConfig({ ...INPUTS.digitalocean, registration });
    expect(bad({ ...REGISTRATION, apiUrl: "http://api.example.com/v1/instances/x/register" })).toThrow(/`registration.apiUrl`/);
    expect(bad({ ...REGISTRATION, instanceId: "i-1" })).toThrow(/`registration.instanceId`/);
    try {
      bad({ ...REGISTRATION, token: "csreg_tooShortSecretValue" })();
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe("registration.token");
      expect((error as Error).message).not.toContain("tooShortSecretValue");
    }
  });

  it.skipIf(!requireTool("shellcheck", "register.sh must pass shellcheck"))("register.sh passes shellcheck", () => {
    const result = shellcheck(readFileSync(SCRIPT, "utf8"));
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  it.skipIf(!requireTool("cloud-init", "validating the cloud-config with registration"))("every cloud's config with registration passes `cloud-init schema`", () => {
    for (const cloud of CLOUDS) {
      const result = cloudInitSchema(renderCloudConfig({ ...INPUTS[cloud], registration: REGISTRATION }));
      expect(result.valid, `${cloud}: ${result.output}`).toBe(true);
    }
  });
});

/**
 * register.sh against a loopback HTTPS stand-in of the API: a self-signed
 * certificate made with openssl for 127.0.0.1, trusted through curl's own
 * CURL_CA_BUNDLE variable (the script has no TLS switch of its own).
 */
const haveTools = requireTool("openssl", "making the stand-in API's certificate") && requireTool("curl", "register.sh posts with curl");
describe.skipIf(!haveTools)("register.sh against a loopback HTTPS stand-in API", () => {
  let dir: string;
  let server: Server;
  let port: number;
  const answers: number[] = [];
  const requests: { url: string; method: string; type: string | undefined; body: string }[] = [];
  const GATEWAY_TOKEN = "f".repeat(64);
  const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clawstack-register-"));
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(made.stderr);
    server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      request.on("end", () => {
        requests.push({ url: request.url ?? "", method: request.method ?? "", type: request.headers["content-type"], body });
        response.statusCode = answers.shift() ?? 204;
        response.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Lays out host.conf, the token, the gateway .env and the fingerprint, then runs the script (async: the server is in this process). */
  async function run(statuses: number[], options: { url?: string; attempts?: number; hostToken?: string } = {}) {
    answers.splice(0, answers.length, ...statuses);
    requests.length = 0;
    const url = options.url ?? `https://127.0.0.1:${port}/v1/instances/${REGISTRATION.instanceId}/register`;
    writeFileSync(join(dir, "host.conf"), `REGISTRATION_API_URL='${url}'\nREGISTRATION_INSTANCE_ID='${REGISTRATION.instanceId}'\n`);
    writeFileSync(join(dir, "token"), `${REGISTRATION.token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "env"), `OPENCLAW_GATEWAY_TOKEN=${GATEWAY_TOKEN}\n`);
    writeFileSync(join(dir, "fingerprint"), `${FINGERPRINT}\n`);
    rmSync(join(dir, "host-token"), { force: true });
    if (options.hostToken !== undefined) writeFileSync(join(dir, "host-token"), `${options.hostToken}\n`, { mode: 0o600 });
    const child = spawn("sh", [SCRIPT], {
      env: {
        PATH: process.env.PATH,
        CLAWSTACK_CONF: join(dir, "host.conf"),
        CLAWSTACK_REGISTRATION_TOKEN_FILE: join(dir, "token"),
        CLAWSTACK_GATEWAY_ENV_FILE: join(dir, "env"),
        CLAWSTACK_FINGERPRINT_FILE: join(dir, "fingerprint"),
        CLAWSTACK_HOST_TOKEN_FILE: join(dir, "host-token"),
        CLAWSTACK_REGISTRATION_ATTEMPTS: String(options.attempts ?? 3),
        CLAWSTACK_REGISTRATION_DELAY: "0",
        CURL_CA_BUNDLE: join(dir, "cert.pem"),
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const status = await new Promise<number | null>((done) => child.on("close", done));
    return { status, output, tokenLeft: existsSync(join(dir, "token")) };
  }

  it("posts the API's body over TLS, then deletes the token file; no secret in its output", async () => {
    const result = await run([204]);
    expect(result.status).toBe(0);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: "POST", url: `/v1/instances/${REGISTRATION.instanceId}/register`, type: "application/json" });
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual({
      registrationToken: REGISTRATION.token,
      gatewayToken: GATEWAY_TOKEN,
      tlsCertSha256: FINGERPRINT.replace(/:/g, "").toLowerCase(),
    });
    expect(result.tokenLeft).toBe(false);
    expect(result.output).toMatch(/registered instance inst_/);
    expect(result.output).not.toContain(REGISTRATION.token);
    expect(result.output).not.toContain(GATEWAY_TOKEN);
  });

  it("sends the host credential of a host with support access (never printed), and refuses a malformed one", async () => {
    const hostToken = `cshost_${"A1b2_-".repeat(7)}x`;
    const result = await run([204], { hostToken });
    expect(result.status).toBe(0);
    expect(JSON.parse(requests[0]?.body ?? "")).toEqual({
      registrationToken: REGISTRATION.token,
      gatewayToken: GATEWAY_TOKEN,
      tlsCertSha256: FINGERPRINT.replace(/:/g, "").toLowerCase(),
      hostToken,
    });
    expect(result.output).not.toContain(hostToken);
    const bad = await run([204], { hostToken: 'cshost_"injected' });
    expect(bad.status).toBe(3);
    expect(requests).toHaveLength(0);
    expect(bad.output).not.toContain("injected");
  });

  it("retries a 503 with backoff and succeeds", async () => {
    const result = await run([503, 503, 204]);
    expect(result.status).toBe(0);
    expect(requests).toHaveLength(3);
    expect(result.tokenLeft).toBe(false);
  });

  it("gives up after the attempts, keeping the token file for a manual retry", async () => {
    const result = await run([500, 500, 500], { attempts: 2 });
    expect(result.status).toBe(2);
    expect(requests).toHaveLength(2);
    expect(result.tokenLeft).toBe(true);
  });

  it("stops at once on a used token (409) and drops the useless token", async () => {
    const result = await run([409]);
    expect(result.status).toBe(1);
    expect(requests).toHaveLength(1);
    expect(result.tokenLeft).toBe(false);
  });

  it("refuses plain http (--proto =https): no request reaches the server", async () => {
    const result = await run([204], { url: `http://127.0.0.1:${port}/v1/instances/${REGISTRATION.instanceId}/register`, attempts: 1 });
    expect(result.status).toBe(2);
    expect(requests).toHaveLength(0);
    expect(result.tokenLeft).toBe(true);
  });
});
