/**
 * The proxy device's operator.admin window on the host (docs/proxy.md "Device
 * identity"): approve-proxy-device.sh `admin-open` and `admin-close`, run by
 * clawstack-proxy-device-admin@.service. Without a gateway, against a stand-in
 * `openclaw` CLI: the usage refusal, exactly which pending requests `admin-open`
 * approves, what `admin-close` rejects and removes, its failure when the
 * gateway keeps listing admin. Against the real OpenClaw gateway behind a TLS
 * front that adds `X-Forwarded-For` (as nginx: the device is a remote client),
 * connecting as the pinned device: paired with the base scopes, a connect
 * asking for admin too is refused until `admin-open`, then gets admin and sets
 * a model provider with `config.get` + `config.patch`; `admin-close` takes
 * admin back (live connection closed, admin refused again, a fresh base
 * request the plain script approves); `admin-open` never approves another
 * device, another role or a scope outside base ∪ admin.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureOpenClaw, type LocalHost, startLocalHost } from "../../../api/demo/local-host";
import { ProxyDeviceIdentity } from "../../../api/proxy/device-identity";
import { PROXY_DEVICE_PLATFORM } from "../../../api/proxy/gateway-bridge";
import { ensureHostNode } from "../../../boot/node-dist";
import { BOOT_VERSIONS } from "../../../boot/run";
import { gatewayUnavailable } from "./support";

const SCRIPT = join(__dirname, "..", "..", "..", "cloud-init", "scripts", "approve-proxy-device.sh");
const BASE = ["operator.read", "operator.write", "operator.approvals", "operator.questions", "operator.talk"];
const WITH_ADMIN = [...BASE, "operator.admin"];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script with `args` against the settings file `conf`, the CLI `openclaw`, the stamp folder `dir`. */
function runScript(args: string[], options: { dir: string; conf: string; openclaw: string; env?: Record<string, string> }): Run {
  const result = spawnSync("sh", [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 300_000,
    env: {
      PATH: process.env.PATH,
      HOME: options.dir,
      ...options.env,
      CLAWSTACK_PROXY_DEVICE_CONF: options.conf,
      CLAWSTACK_OPENCLAW: options.openclaw,
      CLAWSTACK_NODE: process.execPath,
      CLAWSTACK_PROXY_DEVICE_STAMP_DIR: options.dir,
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeConf(dir: string, device: { id: string; publicKey: string }): string {
  const conf = join(dir, "proxy-device.conf");
  writeFileSync(conf, `PROXY_DEVICE_ID='${device.id}'\nPROXY_DEVICE_PUBLIC_KEY='${device.publicKey}'\n`, { mode: 0o600 });
  return conf;
}

describe("approve-proxy-device.sh's admin modes, against a stand-in `openclaw` CLI", () => {
  const dirs: string[] = [];
  const pinned = ProxyDeviceIdentity.generate().public();
  const other = ProxyDeviceIdentity.generate().public();
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A scratch folder with the settings file and a CLI that answers `devices list --json` with `list`, records every
   * other call in `calls`, and from then on lists `after` (the gateway once the call took effect).
   */
  function standIn(list: object, after: object = list): { dir: string; conf: string; openclaw: string; calls: () => string[] } {
    const dir = mkdtempSync(join(tmpdir(), "clawstack-proxy-admin-"));
    dirs.push(dir);
    writeFileSync(join(dir, "list.json"), JSON.stringify(list));
    writeFileSync(join(dir, "after.json"), JSON.stringify(after));
    const openclaw = join(dir, "openclaw");
    writeFileSync(
      openclaw,
      `#!/bin/sh\nif [ "$2" = list ]; then cat '${dir}/list.json'; exit; fi\necho "$*" >>'${dir}/calls'\ncp '${dir}/after.json' '${dir}/list.json'\n`,
      { mode: 0o700 },
    );
    return { dir, conf: writeConf(dir, pinned), openclaw, calls: () => (existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : []) };
  }

  const request = (requestId: string, fields: Record<string, unknown> = {}) => ({
    requestId,
    deviceId: pinned.id,
    publicKey: pinned.publicKey,
    role: "operator",
    roles: ["operator"],
    scopes: WITH_ADMIN,
    isRepair: true,
    ...fields,
  });

  it("refuses any other argument with a usage line and exit 2, before it calls the CLI", () => {
    const host = standIn({ pending: [request("r-1")], paired: [] });
    for (const args of [["admin"], ["x"], ["--help"], ["admin-open; true"]]) {
      const run = runScript(args, host);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(/^usage: .*approve-proxy-device\.sh \[admin-open\|admin-close\]\n$/);
      expect(run.stdout).toBe("");
    }
    expect(host.calls()).toEqual([]);
  });

  it("admin-open approves only the pinned device's (id and key) operator requests within base ∪ admin, prints only their ids, and leaves the stamp alone", () => {
    const host = standIn({
      pending: [
        request("ok-admin"),
        request("ok-base", { scopes: BASE }),
        request("other-device", { deviceId: other.id, publicKey: other.publicKey }),
        request("other-key", { publicKey: other.publicKey }),
        request("role-node", { role: "node", roles: ["node"], scopes: [] }),
        request("two-roles", { roles: ["operator", "node"] }),
        request("pairing", { scopes: [...WITH_ADMIN, "operator.pairing"] }),
        request("no-scopes-field", { scopes: undefined }),
        request("bad id; rm -rf /"),
      ],
      paired: [{ deviceId: pinned.id, publicKey: pinned.publicKey, role: "operator", scopes: BASE }],
    });
    const run = runScript(["admin-open"], host);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("clawstack: proxy device: approved request ok-admin\nclawstack: proxy device: approved request ok-base\n");
    expect(host.calls()).toEqual(["devices approve ok-admin --json", "devices approve ok-base --json"]);
    expect(existsSync(join(host.dir, `.clawstack-proxy-device-${pinned.id}`))).toBe(false);
  });

  it("without an argument it still approves base scopes only, and writes the stamp", () => {
    const host = standIn({ pending: [request("admin"), request("base", { scopes: BASE })], paired: [] });
    const run = runScript([], host);
    expect(run.status).toBe(0);
    expect(host.calls()).toEqual(["devices approve base --json"]);
    expect(existsSync(join(host.dir, `.clawstack-proxy-device-${pinned.id}`))).toBe(true);
  });

  it("admin-close rejects the device's pending admin requests, removes it when paired with admin, removes the stamp; then nothing to do is exit 0", () => {
    const host = standIn(
      {
        pending: [request("stale-admin", { isRepair: false }), request("base", { scopes: BASE }), request("stranger", { deviceId: other.id, publicKey: other.publicKey })],
        paired: [
          { deviceId: pinned.id, publicKey: pinned.publicKey, role: "operator", scopes: WITH_ADMIN, tokens: [{ role: "operator", scopes: WITH_ADMIN }] },
          { deviceId: other.id, publicKey: other.publicKey, role: "operator", scopes: WITH_ADMIN },
        ],
      },
      { pending: [request("base", { scopes: BASE })], paired: [{ deviceId: other.id, publicKey: other.publicKey, role: "operator", scopes: WITH_ADMIN }] },
    );
    const stamp = join(host.dir, `.clawstack-proxy-device-${pinned.id}`);
    writeFileSync(stamp, "");
    const run = runScript(["admin-close"], host);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`clawstack: proxy device: rejected request stale-admin\nclawstack: proxy device: removed ${pinned.id} (paired with operator.admin)\n`);
    expect(host.calls()).toEqual(["devices reject stale-admin --json", `devices remove ${pinned.id} --json`]);
    expect(existsSync(stamp)).toBe(false);

    const again = runScript(["admin-close"], host);
    expect(again).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(host.calls()).toHaveLength(2);
  });

  it("admin-close removes a device whose token still holds admin, and fails (exit 1) when the gateway keeps listing admin", () => {
    const stuck = { pending: [], paired: [{ deviceId: pinned.id, publicKey: pinned.publicKey, role: "operator", scopes: BASE, tokens: [{ role: "operator", scopes: WITH_ADMIN }] }] };
    const host = standIn(stuck);
    const run = runScript(["admin-close"], host);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(`admin-close: the gateway still lists operator.admin for ${pinned.id}`);
    expect(host.calls()).toEqual([`devices remove ${pinned.id} --json`, `devices remove ${pinned.id} --json`]);
  });

  it("every mode: 3 when the gateway does not answer, 1 when the settings hold no device", () => {
    const host = standIn({ pending: [], paired: [] });
    const down = join(host.dir, "down");
    writeFileSync(down, "#!/bin/sh\nexit 1\n", { mode: 0o700 });
    for (const mode of [[], ["admin-open"], ["admin-close"]]) {
      const run = runScript(mode, { ...host, openclaw: down });
      expect(run.status, mode.join()).toBe(3);
      expect(run.stderr).toContain("did not answer");
    }
    writeFileSync(host.conf, "PROXY_DEVICE_ID='nope'\n");
    expect(runScript(["admin-open"], host).status).toBe(1);
  });
});

const unavailable = gatewayUnavailable();

interface Frame {
  type: string;
  id?: string;
  ok?: boolean;
  event?: string;
  payload?: Record<string, unknown>;
  error?: { code?: string; message?: string; details?: { requestId?: string; reason?: string } };
}

interface DeviceConnection {
  hello: Frame;
  request(method: string, params: unknown): Promise<Frame>;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

describe.skipIf(unavailable !== undefined)("the admin window against the real OpenClaw gateway behind forwarded headers (as nginx)", () => {
  let host: LocalHost;
  let hostDir: string;
  let openclaw: string;
  let device: ProxyDeviceIdentity;
  let stranger: ProxyDeviceIdentity;
  let conf: string;
  let stamp: string;
  /** The admin connection `admin-close` must end. */
  let live: DeviceConnection | undefined;

  function run(args: string[]): Run {
    return runScript(args, {
      dir: hostDir,
      conf,
      openclaw,
      env: {
        OPENCLAW_STATE_DIR: join(hostDir, "state"),
        OPENCLAW_CONFIG_PATH: join(hostDir, "state", "openclaw.json"),
        OPENCLAW_GATEWAY_TOKEN: host.gatewayToken,
      },
    });
  }

  /** The gateway's own CLI, as the host's root agent or owner would run it. */
  function cli(...args: string[]): string {
    return execFileSync(openclaw, args, {
      encoding: "utf8",
      timeout: 120_000,
      env: { PATH: process.env.PATH, HOME: hostDir, OPENCLAW_STATE_DIR: join(hostDir, "state"), OPENCLAW_CONFIG_PATH: join(hostDir, "state", "openclaw.json"), OPENCLAW_GATEWAY_TOKEN: host.gatewayToken },
    });
  }

  interface Listed {
    requestId?: string;
    deviceId: string;
    role?: string;
    scopes?: string[];
  }

  function devices(): { pending: Listed[]; paired: Listed[] } {
    return JSON.parse(cli("devices", "list", "--json")) as { pending: Listed[]; paired: Listed[] };
  }

  /** Connects as `identity` through the TLS front (a remote client), signing `role` and `scopes`. */
  async function connectAs(identity: ProxyDeviceIdentity, scopes: string[], role = "operator"): Promise<DeviceConnection> {
    const socket = new WebSocket(`wss://127.0.0.1:${host.tlsPort}/`, { rejectUnauthorized: false });
    const waiting = new Map<string, (frame: Frame) => void>();
    let challenge: (payload: { nonce: string; ts: number }) => void = () => undefined;
    const challenged = new Promise<{ nonce: string; ts: number }>((resolve) => (challenge = resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.event === "connect.challenge") challenge(frame.payload as { nonce: string; ts: number });
      if (frame.type === "res" && frame.id !== undefined) waiting.get(frame.id)?.(frame);
    });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const request = (method: string, params: unknown) =>
      new Promise<Frame>((resolve, reject) => {
        const id = randomUUID();
        const timer = setTimeout(() => reject(new Error(`${method}: no answer within 60 s`)), 60_000);
        waiting.set(id, (frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
        closed.then(({ code, reason }) => resolve({ type: "res", ok: false, error: { code: `closed ${code}`, message: reason } }), () => undefined);
        socket.send(JSON.stringify({ type: "req", id, method, params }));
      });
    const { nonce, ts } = await challenged;
    const client = { id: "cli", version: "clawstack-admin-test", platform: PROXY_DEVICE_PLATFORM, mode: "cli" };
    const signed = identity.sign({ clientId: client.id, clientMode: client.mode, role, scopes, token: host.gatewayToken, nonce, signedAt: ts, platform: client.platform });
    const hello = await request("connect", { minProtocol: 3, maxProtocol: 4, client, role, scopes, caps: [], auth: { token: host.gatewayToken }, device: signed });
    return {
      hello,
      request,
      closed,
      close: async () => {
        socket.close(1000);
        await closed;
      },
    };
  }

  /** A connect the gateway refuses for pairing: returns the pending request's id. */
  async function refused(identity: ProxyDeviceIdentity, scopes: string[], role = "operator"): Promise<{ requestId: string; reason: string | undefined }> {
    const connection = await connectAs(identity, scopes, role);
    expect(connection.hello.ok, `${scopes.join()} connected`).toBe(false);
    expect(connection.hello.error?.code).toBe("NOT_PAIRED");
    expect((await connection.closed).code).toBe(1008);
    const requestId = connection.hello.error?.details?.requestId;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    return { requestId: requestId!, reason: connection.hello.error?.details?.reason };
  }

  async function scopesOf(identity: ProxyDeviceIdentity, scopes: string[]): Promise<string[]> {
    const connection = await connectAs(identity, scopes);
    expect(connection.hello.ok, JSON.stringify(connection.hello.error)).toBe(true);
    await connection.close();
    return ((connection.hello.payload as { auth: { scopes: string[] } }).auth.scopes ?? []).slice().sort();
  }

  const pendingOf = (id: string) => devices().pending.filter((entry) => entry.deviceId === id);

  beforeAll(async () => {
    hostDir = mkdtempSync(join(tmpdir(), "clawstack-proxy-admin-host-"));
    host = await startLocalHost({ dir: hostDir, forwardedFor: "203.0.113.7" });
    const node = ensureHostNode(BOOT_VERSIONS.node);
    openclaw = join(hostDir, "openclaw");
    writeFileSync(openclaw, `#!/bin/sh\nexec '${node}' '${ensureOpenClaw()}' "$@"\n`, { mode: 0o700 });
    device = new ProxyDeviceIdentity(generateKeyPairSync("ed25519").privateKey);
    stranger = new ProxyDeviceIdentity(generateKeyPairSync("ed25519").privateKey);
    conf = writeConf(hostDir, device);
    stamp = join(hostDir, `.clawstack-proxy-device-${device.id}`);
  }, 300_000);

  afterAll(async () => {
    await live?.close();
    await host?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  it("paired with the base scopes by the plain script; a connect asking for admin too is refused NOT_PAIRED, and the plain script leaves it pending", async () => {
    await refused(device, BASE);
    expect(run([]).stdout).toContain(`approved the chat proxy's device ${device.id}`);
    expect(existsSync(stamp)).toBe(true);
    expect(await scopesOf(device, BASE)).toEqual([...BASE].sort());

    const upgrade = await refused(device, WITH_ADMIN);
    expect(upgrade.reason).toBe("scope-upgrade");
    expect(run([]).stdout).not.toContain("approved");
    expect((await connectAs(device, WITH_ADMIN)).hello.error?.code).toBe("NOT_PAIRED");
  }, 600_000);

  it("admin-open approves no other device's request, no other role, no scope outside base ∪ admin", async () => {
    /** The owner's: rejects the device's pending requests (admin-open would rightly approve the one above). */
    const dropPending = () => {
      for (const entry of pendingOf(device.id)) cli("devices", "reject", entry.requestId!, "--json");
      expect(pendingOf(device.id)).toEqual([]);
    };
    /** admin-open approves nothing, `requestId` stays pending, and `identity` is still refused. */
    const notApproved = async (requestId: string, identity: ProxyDeviceIdentity, scopes: string[], role?: string) => {
      const opened = run(["admin-open"]);
      expect(opened.status, opened.stderr).toBe(0);
      expect(opened.stdout).toBe("");
      expect(devices().pending.map((entry) => entry.requestId)).toContain(requestId);
      expect((await connectAs(identity, scopes, role)).hello.error?.code).toBe("NOT_PAIRED");
    };
    dropPending();

    const strangers = await refused(stranger, WITH_ADMIN);
    await notApproved(strangers.requestId, stranger, WITH_ADMIN);

    const beyond = await refused(device, [...WITH_ADMIN, "operator.pairing"]);
    await notApproved(beyond.requestId, device, [...WITH_ADMIN, "operator.pairing"]);
    dropPending();

    const node = await refused(device, [], "node");
    expect(pendingOf(device.id)).toMatchObject([{ requestId: node.requestId, role: "node" }]);
    await notApproved(node.requestId, device, [], "node");
    dropPending();
  }, 600_000);

  it("admin-open approves the pinned device's admin request: the next connect gets operator.admin, and config.get + config.patch set a model provider and the default model", async () => {
    const { requestId } = await refused(device, WITH_ADMIN);
    const opened = run(["admin-open"]);
    expect(opened.status, opened.stderr).toBe(0);
    expect(opened.stdout).toBe(`clawstack: proxy device: approved request ${requestId}\n`);
    // The stamp is the plain timer's: the window leaves it.
    expect(existsSync(stamp)).toBe(true);
    // What admin-close reads: the paired entry lists operator.admin.
    const paired = devices().paired.find((entry) => entry.deviceId === device.id);
    expect(paired?.scopes).toContain("operator.admin");

    live = await connectAs(device, WITH_ADMIN);
    expect(live.hello.ok, JSON.stringify(live.hello.error)).toBe(true);
    expect((live.hello.payload as { auth: { scopes: string[] } }).auth.scopes).toContain("operator.admin");
    const before = await live.request("config.get", {});
    expect(before.ok, JSON.stringify(before.error)).toBe(true);
    const baseHash = before.payload?.hash;
    expect(baseHash).toEqual(expect.any(String));
    const raw = JSON.stringify({
      models: { providers: { byok: { baseUrl: "http://127.0.0.1:9/v1", api: "openai-completions", apiKey: `sk-test-${randomUUID()}`, models: [{ id: "model-x", name: "Model X" }] } } },
      agents: { defaults: { model: { primary: "byok/model-x" } } },
    });
    const patched = await live.request("config.patch", { raw, baseHash, note: "clawstack admin window test" });
    expect(patched.ok, JSON.stringify(patched.error)).toBe(true);
    const after = await live.request("config.get", {});
    const config = (after.payload as { config: { agents: { defaults: { model: { primary: string } } }; models: { providers: Record<string, { api: string }> } } }).config;
    expect(config.agents.defaults.model.primary).toBe("byok/model-x");
    expect(config.models.providers.byok?.api).toBe("openai-completions");
  }, 600_000);

  it("admin-close: the live admin connection ends, admin is refused again, a stale admin request is rejected, a base connect makes a new request the plain script approves", async () => {
    const closed = run(["admin-close"]);
    expect(closed.status, closed.stderr).toBe(0);
    expect(closed.stdout).toContain(`removed ${device.id} (paired with operator.admin)`);
    expect((await live!.closed).code).toBe(4001);
    live = undefined;
    expect(existsSync(stamp)).toBe(false);
    expect(run(["admin-close"])).toEqual({ status: 0, stdout: "", stderr: "" });

    // The proxy still asking for admin: refused, and its request (which a base connect would reuse) is rejected.
    const stale = await refused(device, WITH_ADMIN);
    const again = run(["admin-close"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(`clawstack: proxy device: rejected request ${stale.requestId}\n`);
    expect(pendingOf(device.id)).toEqual([]);

    const fresh = await refused(device, BASE);
    expect(fresh.requestId).not.toBe(stale.requestId);
    expect(run([]).stdout).toContain(`approved the chat proxy's device ${device.id} (request ${fresh.requestId})`);
    expect(existsSync(stamp)).toBe(true);
    expect(await scopesOf(device, BASE)).toEqual([...BASE].sort());
    expect((await refused(device, WITH_ADMIN)).reason).toBe("scope-upgrade");
    expect(devices().paired.find((entry) => entry.deviceId === device.id)?.scopes).not.toContain("operator.admin");
  }, 600_000);
});
