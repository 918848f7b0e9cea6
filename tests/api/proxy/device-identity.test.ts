/**
 * The proxy's device identity (docs/proxy.md "Device identity"). Against the
 * real OpenClaw gateway behind a TLS front that adds `X-Forwarded-For` as a
 * host's nginx does (so the gateway sees the proxy as a remote client):
 * without a device identity the proxy gets empty scopes (the gap, kept as a
 * regression test); with the deployment's device, approved on the host by
 * cloud-init's approve-proxy-device.sh (the gateway's own CLI), it gets
 * operator scopes and a chat answer from the model stand-in; another key is
 * never approved; the private key is in no log line and no database. Also,
 * without a gateway: the signature payload is byte for byte OpenClaw's, the
 * key file, the handshake rewrite.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID, verify } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLocalInstance, registerHost } from "../../../api/demo/local-instance";
import { ensureOpenClaw, type LocalHost, startLocalHost } from "../../../api/demo/local-host";
import { deviceAuthPayloadV3, deviceIdOf, loadProxyDevice, PROXY_DEVICE_KEY_FILE_NAME, ProxyDeviceIdentity, rawPublicKey, useProxyDevice } from "../../../api/proxy/device-identity";
import { GatewayHealthChecker } from "../../../api/health/gateway-health";
import { proxyPairingProbe } from "../../../api/proxy/pairing-probe";
import { injectGatewayToken, PROXY_DEVICE_PLATFORM, readChallenge, stripDeviceTokens } from "../../../api/proxy/gateway-bridge";
import { ensureHostNode } from "../../../boot/node-dist";
import { BOOT_VERSIONS } from "../../../boot/run";
import { engines, remember, scanForSecrets, signUp, startApi, type Session, type TestApi } from "../support";
import { browserConnectParams, type BrowserClient, type Frame, gatewayUnavailable, onApi, openBrowserClient, ticketFor } from "./support";

const SCRIPT = join(__dirname, "..", "..", "..", "cloud-init", "scripts", "approve-proxy-device.sh");

/** Every text form of a private key a careless log line could hold: PEM (and its base64 body), the raw seed. */
function privateForms(key: KeyObject): { texts: string[]; seed: Buffer } {
  const pem = key.export({ type: "pkcs8", format: "pem" }).toString();
  const der = key.export({ type: "pkcs8", format: "der" });
  const seed = der.subarray(der.length - 32);
  const body = pem.split("\n").filter((line) => line && !line.startsWith("-----"));
  return { texts: [pem, ...body, seed.toString("base64"), seed.toString("base64url"), seed.toString("hex")], seed };
}

describe("the proxy's device identity, without a gateway", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("signs OpenClaw's v3 payload: the installed gateway's own builder gives the same string, and the signature verifies", async () => {
    if (gatewayUnavailable() !== undefined) return;
    const dist = join(ensureOpenClaw(), "..", "dist");
    const file = readdirSync(dist).find((name) => name.endsWith(".mjs") && readFileSync(join(dist, name), "utf8").includes("function buildDeviceAuthPayloadV3("));
    expect(file, "openclaw's dist/device-auth-*.mjs").toBeDefined();
    const theirs = (await import(join(dist, file!))) as Record<string, (params: Record<string, unknown>) => string>;
    const probe = { deviceId: "d", clientId: "c", clientMode: "m", role: "r", scopes: [], signedAtMs: 1, nonce: "n" };
    const v3 = Object.values(theirs).find((fn) => {
      try {
        const out: unknown = fn(probe);
        return typeof out === "string" && out.startsWith("v3|");
      } catch {
        return false;
      }
    })!;
    expect(v3, "openclaw's buildDeviceAuthPayloadV3").toBeDefined();
    const input = { clientId: "cli", clientMode: "cli", role: "operator", scopes: ["operator.read", "operator.write"], token: "t0k", nonce: "n-1", signedAt: 1796440000000, platform: " Clawstack-Proxy ", deviceFamily: "Mac" };
    const device = ProxyDeviceIdentity.generate();
    const ours = deviceAuthPayloadV3(device.id, input);
    expect(ours).toBe(v3({ deviceId: device.id, clientId: "cli", clientMode: "cli", role: "operator", scopes: input.scopes, signedAtMs: input.signedAt, token: "t0k", nonce: "n-1", platform: input.platform, deviceFamily: "Mac" }));
    expect(ours).toBe(`v3|${device.id}|cli|cli|operator|operator.read,operator.write|1796440000000|t0k|n-1|clawstack-proxy|mac`);
    const signed = device.sign(input);
    const publicKey = { key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(signed.publicKey, "base64url")]), format: "der" as const, type: "spki" as const };
    expect(verify(null, Buffer.from(ours), publicKey, Buffer.from(signed.signature, "base64url"))).toBe(true);
    expect(signed.id).toBe(deviceIdOf(Buffer.from(signed.publicKey, "base64url")));
    expect(signed.id).toMatch(/^[0-9a-f]{64}$/);
    expect(signed.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("generates the key file once with mode 600, reloads the same device, and never shows the key", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-device-"));
    dirs.push(dataDir);
    const first = loadProxyDevice({ dataDir });
    const file = join(dataDir, PROXY_DEVICE_KEY_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadProxyDevice({ dataDir }).id).toBe(first.id);
    const key = createPrivateKey(readFileSync(file));
    expect(first.id).toBe(deviceIdOf(rawPublicKey(createPublicKey(key))));
    const { texts } = privateForms(key);
    for (const shown of [JSON.stringify(first), JSON.stringify({ device: first }), inspect(first), inspect(first, { showHidden: true }), String(first)]) {
      for (const secret of texts) expect(shown).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(first))).toEqual({ id: first.id, publicKey: first.publicKey });
  });

  it("refuses a key file that is not an Ed25519 private key, or that others can read, naming the variable", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-device-"));
    dirs.push(dataDir);
    const p256 = join(dataDir, "p256.pem");
    writeFileSync(p256, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    expect(() => loadProxyDevice({ dataDir, keyFile: p256 })).toThrow(/CLAWSTACK_PROXY_DEVICE_KEY_FILE|Ed25519/);
    const open = join(dataDir, "open.pem");
    writeFileSync(open, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
    chmodSync(open, 0o644);
    expect(() => loadProxyDevice({ dataDir, keyFile: open })).toThrow(/chmod 600/);
    const junk = join(dataDir, "junk.pem");
    writeFileSync(junk, "not a key\n", { mode: 0o600 });
    expect(() => loadProxyDevice({ dataDir, keyFile: junk })).toThrow(/PKCS#8 Ed25519/);
    expect(() => loadProxyDevice({ dataDir, keyFile: join(dataDir, "missing.pem") })).toThrow(/does not exist/);
  });

  it("rewrites the connect: token, signed device over the challenge, the proxy's platform; still refuses a client's own device; strips issued device tokens", () => {
    const device = ProxyDeviceIdentity.generate();
    const challenge = readChallenge(Buffer.from(JSON.stringify({ type: "event", event: "connect.challenge", payload: { nonce: "abc", ts: 1796440000000 } })));
    expect(challenge).toEqual({ nonce: "abc", ts: 1796440000000 });
    expect(readChallenge(Buffer.from(JSON.stringify({ type: "event", event: "tick", payload: {} })))).toBeUndefined();
    const params = { ...browserConnectParams(), client: { id: "cli", version: "1", platform: "MacIntel", deviceFamily: "Mac", mode: "cli" } };
    const checked = injectGatewayToken(Buffer.from(JSON.stringify({ type: "req", id: "c1", method: "connect", params })), "gw-token", { device, challenge: challenge! });
    expect(checked.ok).toBe(true);
    const sent = JSON.parse((checked as { frame: string }).frame) as { params: Record<string, unknown> & { device: Record<string, string | number>; client: Record<string, unknown> } };
    expect(sent.params.auth).toEqual({ token: "gw-token" });
    expect(sent.params.client).toEqual({ id: "cli", version: "1", platform: PROXY_DEVICE_PLATFORM, mode: "cli" });
    expect(sent.params.device).toMatchObject({ id: device.id, publicKey: device.publicKey, nonce: "abc", signedAt: 1796440000000 });
    const payload = deviceAuthPayloadV3(device.id, { clientId: "cli", clientMode: "cli", role: "operator", scopes: ["operator.read", "operator.write"], token: "gw-token", nonce: "abc", signedAt: 1796440000000, platform: PROXY_DEVICE_PLATFORM });
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(device.publicKey, "base64url")]);
    expect(verify(null, Buffer.from(payload), { key: spki, format: "der", type: "spki" }, Buffer.from(String(sent.params.device.signature), "base64url"))).toBe(true);

    // Without a client the gateway refuses the connect itself: it goes on with the token only.
    const bare = injectGatewayToken(Buffer.from(JSON.stringify({ type: "req", id: "c1", method: "connect", params: { role: "operator" } })), "gw-token", { device, challenge: challenge! });
    expect(JSON.parse((bare as { frame: string }).frame).params).toEqual({ role: "operator", auth: { token: "gw-token" } });

    const own = injectGatewayToken(Buffer.from(JSON.stringify({ type: "req", id: "c1", method: "connect", params: { ...params, device: { id: "x" } } })), "gw-token", { device, challenge: challenge! });
    expect(own).toEqual({ ok: false, reason: "badHandshake" });

    const hello = { type: "res", id: "c1", ok: true, payload: { type: "hello-ok", auth: { role: "operator", scopes: ["operator.read"], deviceToken: "issued-secret", deviceTokens: [{ deviceToken: "more" }] } } };
    const stripped = stripDeviceTokens(Buffer.from(JSON.stringify(hello)), "c1");
    expect(JSON.parse(stripped!)).toEqual({ ...hello, payload: { ...hello.payload, auth: { role: "operator", scopes: ["operator.read"] } } });
    expect(stripDeviceTokens(Buffer.from(JSON.stringify({ type: "res", id: "c1", ok: false, error: { code: "NOT_PAIRED" } })), "c1")).toBeNull();
    expect(stripDeviceTokens(Buffer.from(JSON.stringify({ ...hello, id: "other" })), "c1")).toBeUndefined();
  });
});

const unavailable = gatewayUnavailable();

describe.skipIf(unavailable !== undefined)("the proxy's device identity against the real OpenClaw gateway behind forwarded headers (as nginx)", () => {
  let host: LocalHost;
  let hostDir: string;
  let device: ProxyDeviceIdentity;
  let deviceKey: KeyObject;
  let stranger: ProxyDeviceIdentity;
  let strangerKey: KeyObject;
  let freshKey: KeyObject;

  /** cloud-init's approve-proxy-device.sh against the local host, pinning `device`; returns its output. */
  function runApprover(): string {
    const conf = join(hostDir, "proxy-device.conf");
    writeFileSync(conf, `PROXY_DEVICE_ID='${device.id}'\nPROXY_DEVICE_PUBLIC_KEY='${device.publicKey}'\n`, { mode: 0o600 });
    const node = ensureHostNode(BOOT_VERSIONS.node);
    const openclaw = join(hostDir, "openclaw");
    writeFileSync(openclaw, `#!/bin/sh\nexec '${node}' '${ensureOpenClaw()}' "$@"\n`, { mode: 0o700 });
    return execFileSync("sh", [SCRIPT], {
      encoding: "utf8",
      timeout: 180_000,
      env: {
        PATH: process.env.PATH,
        HOME: hostDir,
        OPENCLAW_STATE_DIR: join(hostDir, "state"),
        OPENCLAW_CONFIG_PATH: join(hostDir, "state", "openclaw.json"),
        OPENCLAW_GATEWAY_TOKEN: host.gatewayToken,
        CLAWSTACK_PROXY_DEVICE_CONF: conf,
        CLAWSTACK_OPENCLAW: openclaw,
        CLAWSTACK_NODE: node,
        CLAWSTACK_PROXY_DEVICE_STAMP_DIR: hostDir,
      },
    });
  }

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-device-host-"));
    host = await startLocalHost({ dir: hostDir, forwardedFor: "203.0.113.7" });
  }, 300_000);

  afterAll(async () => {
    useProxyDevice(undefined);
    await host?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  describe.each(engines("the proxy's device identity"))("on $engine", ({ engine, skip }) => {
    let api: TestApi;
    let apiUrl: string;
    let owner: Session;
    let instanceId: string;

    async function open(): Promise<{ client: BrowserClient; hello: Frame }> {
      const { status, body } = await ticketFor(api, owner.accessToken, instanceId);
      expect(status, JSON.stringify(body)).toBe(201);
      const client = await openBrowserClient(onApi(String(body.url), apiUrl));
      await client.waitFor((frame) => frame.event === "connect.challenge", 30_000);
      const hello = await client.request("connect", browserConnectParams());
      return { client, hello };
    }

    async function chat(client: BrowserClient, text: string): Promise<Frame> {
      return client.request("chat.send", { sessionKey: `proxy-device-${randomUUID()}`, message: text, idempotencyKey: randomUUID() });
    }

    beforeAll(async () => {
      if (skip) return;
      // Fresh keys per engine: the gateway (and its pairings) is shared.
      deviceKey = generateKeyPairSync("ed25519").privateKey;
      device = new ProxyDeviceIdentity(deviceKey);
      strangerKey = generateKeyPairSync("ed25519").privateKey;
      stranger = new ProxyDeviceIdentity(strangerKey);
      freshKey = generateKeyPairSync("ed25519").privateKey;
      api = await startApi({ engine });
      for (const key of [deviceKey, strangerKey, freshKey]) {
        const { texts, seed } = privateForms(key);
        remember(api, ...texts);
        api.binarySecrets.push(seed);
      }
      apiUrl = await api.app.listen({ host: "127.0.0.1", port: 0 });
      owner = await signUp(api, "owner");
      const { instanceId: id, registrationToken } = await createLocalInstance(api.app.db, { userId: owner.userId, gatewayUrl: host.gatewayUrl });
      remember(api, registrationToken, host.gatewayToken);
      await registerHost(apiUrl, { instanceId: id, registrationToken, gatewayToken: host.gatewayToken, tlsCertSha256: host.tlsCertSha256 });
      instanceId = id;
    }, 60_000);

    afterAll(async () => {
      useProxyDevice(undefined);
      if (skip) return;
      await api.close();
    });

    it.skipIf(skip)("without a device identity: hello-ok with empty scopes and chat.send refused (the gap a real host has without it)", async () => {
      useProxyDevice(undefined);
      const { client, hello } = await open();
      expect(hello.ok, JSON.stringify(hello.error)).toBe(true);
      expect((hello.payload as { auth?: { scopes?: string[] } }).auth?.scopes).toEqual([]);
      const sent = await chat(client, "hello");
      expect(sent.ok).toBe(false);
      expect(sent.error?.message).toContain("missing scope: operator.write");
      client.socket.close(1000);
      await client.closed;
    }, 120_000);

    it.skipIf(skip)("with the deployment's device: pairing required until the host approves it, then operator scopes and the model's answer through the proxy", async () => {
      useProxyDevice(device);
      const first = await open();
      expect(first.hello.ok).toBe(false);
      expect(first.hello.error?.code).toBe("NOT_PAIRED");
      expect((await first.client.closed).code).toBe(1008);

      // The host's approval (cloud-init's script, the gateway's own CLI): idempotent.
      expect(runApprover()).toMatch(new RegExp(`approved the chat proxy's device ${device.id}`));
      expect(runApprover()).not.toContain("approved");
      // Paired: the stamp that stops the host's timer.
      expect(existsSync(join(hostDir, `.clawstack-proxy-device-${device.id}`))).toBe(true);

      const canary = `canary-${randomBytes(12).toString("hex")}`;
      remember(api, canary);
      const { client, hello } = await open();
      expect(hello.ok, JSON.stringify(hello.error)).toBe(true);
      const auth = (hello.payload as { auth: Record<string, unknown> }).auth;
      expect(auth.scopes).toEqual(["operator.read", "operator.write"]);
      // OpenClaw issued a device token for the proxy's device: the browser never gets it.
      expect(auth.deviceToken).toBeUndefined();
      expect(client.received.join("\n")).not.toContain("deviceToken");
      const started = await chat(client, `say ${canary}`);
      expect(started.ok, JSON.stringify(started.error)).toBe(true);
      const final = await client.waitFor((frame) => frame.event === "chat" && (frame.payload?.state === "final" || frame.payload?.state === "error"), 180_000);
      expect(final.payload?.state).toBe("final");
      const text = (final.payload?.message?.content ?? []).map((part) => part.text ?? "").join("");
      expect(text).toContain(`echo: `);
      expect(text).toContain(canary);
      expect(client.received.join("\n")).not.toContain(host.gatewayToken);
      client.socket.close(1000);
      await client.closed;
    }, 400_000);

    it.skipIf(skip)("another key is never approved: it gets nothing, before and after the host's approval runs", async () => {
      useProxyDevice(stranger);
      const first = await open();
      expect(first.hello.error?.code).toBe("NOT_PAIRED");
      await first.client.closed;
      expect(runApprover()).not.toContain("approved");
      expect(existsSync(join(hostDir, `.clawstack-proxy-device-${stranger.id}`))).toBe(false);
      const again = await open();
      expect(again.hello.ok).toBe(false);
      expect(again.hello.error?.code).toBe("NOT_PAIRED");
      await again.client.closed;
    }, 400_000);

    it.skipIf(skip)("the health checker's pairing probe when a gateway comes up: the host approves, and the first chat through the proxy works", async () => {
      // A deployment whose device this host has never seen (the gateway and its pairings are shared).
      const fresh = new ProxyDeviceIdentity(freshKey);
      const probe = proxyPairingProbe(api.app.db, api.app.vault.wrapper, fresh);
      const outcomes: string[] = [];
      const checker = new GatewayHealthChecker({ db: api.app.db, intervalMs: 60_000, logger: api.app.log, timeoutMs: 10_000, onUp: async (id) => {
        const outcome = await probe(id);
        outcomes.push(outcome);
        return outcome;
      } });
      // The instance was never checked: its first `up` is a transition.
      expect((await checker.runOnce()).up).toBeGreaterThanOrEqual(1);
      expect(outcomes).toContain("pending");
      // Up again: no new probe.
      outcomes.length = 0;
      await checker.runOnce();
      expect(outcomes).toEqual([]);

      const previous = device;
      device = fresh;
      try {
        expect(runApprover()).toMatch(/approved the chat proxy's device/);
      } finally {
        device = previous;
      }
      expect(await probe(instanceId)).toBe("paired");
      useProxyDevice(fresh);
      const { client, hello } = await open();
      expect(hello.ok, JSON.stringify(hello.error)).toBe(true);
      expect((hello.payload as { auth: { scopes: string[] } }).auth.scopes).toEqual(["operator.read", "operator.write"]);
      expect((await chat(client, "hello")).ok).toBe(true);
      client.socket.close(1000);
      await client.closed;
    }, 400_000);

    it.skipIf(skip)("the private keys are in no log line and no database", async () => {
      expect(await scanForSecrets(api)).toEqual([]);
    });
  });
});
