/**
 * A host's support access on loopback, with real parts: the agent (in this
 * process, its real commands), a separate sshd instance with its own config,
 * host key and port on 127.0.0.1, the wrapper bundle built by esbuild and run
 * by that sshd as a real Unix user made for this run, nft in a network
 * namespace made for this run (the machine's own ruleset is never touched),
 * and a stand-in of the API's host endpoints (node:http on loopback).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { renderCloudConfig } from "../../cloud-init/index.js";
import { supportShellLauncher } from "../../cloud-init/support.js";
import type { SealedBox } from "../../core/zero-access/sealed-box.js";
import { signGrant, type SignedGrant } from "../../core/zero-access/support-grant.js";
import { exportUserPublicKey, generateUserKeyPair, type UserKeyPair, type UserPublicKey } from "../../core/zero-access/user-keys.js";
import { runCommand, SupportAgent } from "../../support/agent.js";
import { resolveAgentConfig, type AgentConfig } from "../../support/config.js";
import type { CommandRecord } from "../../support/protocol.js";
import { hasTool } from "../harness/tools.js";

export const INSTANCE_ID = `inst_${"0123456789abcdef".repeat(2)}`;

/** Why the real-parts tests cannot run here, or undefined. */
export function harnessUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "they need root (a Unix user, an sshd instance, a network namespace)";
  for (const tool of ["sshd", "ssh-keygen", "useradd", "userdel", "nft", "ip", "pkill"]) {
    if (!hasTool(tool) && !hasTool(`/usr/sbin/${tool}`)) return `\`${tool}\` is not installed (openssh-server, nftables, iproute2, procps)`;
  }
  // The firewall part runs in a network namespace of its own (never the machine's ruleset): a container
  // without the right to make one cannot run these tests.
  const probe = `cs-probe-${randomBytes(4).toString("hex")}`;
  if (spawnSync("ip", ["netns", "add", probe]).status !== 0) return "this machine does not allow a network namespace (`ip netns add` failed; a container needs CAP_SYS_ADMIN)";
  spawnSync("ip", ["netns", "delete", probe]);
  return undefined;
}

export interface DeviceKey {
  pair: UserKeyPair;
  publicKey: UserPublicKey;
}

export async function deviceKey(): Promise<DeviceKey> {
  const pair = await generateUserKeyPair({ extractable: false });
  return { pair, publicKey: await exportUserPublicKey(pair) };
}

export async function grantFrom(
  key: DeviceKey,
  options: { supportKeys: string[]; sources?: string[]; notBefore?: Date; notAfter?: Date; instanceId?: string },
): Promise<SignedGrant> {
  return signGrant(
    {
      instanceId: options.instanceId ?? INSTANCE_ID,
      supportKeys: options.supportKeys,
      sources: options.sources ?? ["127.0.0.1/32"],
      reason: "support test on loopback",
      ...(options.notBefore ? { notBefore: options.notBefore } : {}),
      ...(options.notAfter ? { notAfter: options.notAfter } : {}),
    },
    { publicKey: key.publicKey, signingKey: key.pair.signing.privateKey },
  );
}

/** The API's host endpoints: grants to hand out, what the host sent back. `down` makes it unreachable. */
export class StandInApi {
  grants: (SignedGrant & { id: string })[] = [];
  revoked: string[] = [];
  commands: CommandRecord[] = [];
  boxes: SealedBox[] = [];
  polls = 0;
  down = false;
  unauthorized = 0;
  /** A command line the stand-in refuses with 400 (as the API refuses a record for good). */
  refuseCommandLine: string | undefined;
  private server?: Server;
  port = 0;

  constructor(private readonly hostToken: string) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((done) => this.server!.listen(0, "127.0.0.1", done));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  private async handle(request: IncomingMessage, response: import("node:http").ServerResponse): Promise<void> {
    if (this.down) {
      request.socket.destroy();
      return;
    }
    if (request.headers.authorization !== `Bearer ${this.hostToken}`) {
      this.unauthorized += 1;
      response.writeHead(401).end();
      return;
    }
    let body = "";
    for await (const chunk of request) body += (chunk as Buffer).toString("utf8");
    const base = `/v1/host/instances/${INSTANCE_ID}`;
    if (request.method === "GET" && request.url === `${base}/support-grants`) {
      this.polls += 1;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ grants: this.grants, revoked: this.revoked, now: new Date().toISOString() }));
      return;
    }
    if (request.method === "POST" && request.url === `${base}/support-commands`) {
      const entries = (JSON.parse(body) as { entries: CommandRecord[] }).entries;
      if (entries.some((entry) => entry.commandLine === this.refuseCommandLine || entry.commandLine === "")) {
        response.writeHead(400).end();
        return;
      }
      for (const entry of entries) if (!this.commands.some((seen) => seen.seq === entry.seq)) this.commands.push(entry);
      response.writeHead(204).end();
      return;
    }
    if (request.method === "PUT" && request.url === `${base}/clawchat-keys`) {
      this.boxes.push((JSON.parse(body) as { box: SealedBox }).box);
      response.writeHead(204).end();
      return;
    }
    response.writeHead(404).end();
  }
}

export interface Harness {
  dir: string;
  user: string;
  port: number;
  netns: string;
  api: StandInApi;
  config: AgentConfig;
  agent: SupportAgent;
  events: { event: string; fields: Record<string, unknown> }[];
  owner: DeviceKey;
  stranger: DeviceKey;
  supportKey: { path: string; publicLine: string };
  otherKey: { path: string; publicLine: string };
  clawchatDir: string;
  startAgent(): Promise<void>;
  /** nft list of the support set in the namespace. */
  supportSet(): string;
  sshdRunning(): boolean;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function sshKey(dir: string, name: string): { path: string; publicLine: string } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path]);
  const publicLine = readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return { path, publicLine };
}

export async function startHarness(options: { pollSeconds: number }): Promise<Harness> {
  const id = randomBytes(4).toString("hex");
  // Not under /tmp: sshd's StrictModes refuses a key file below a world-writable directory.
  const dir = mkdtempSync("/var/lib/clawstack-support-test-");
  chmodSync(dir, 0o755);
  const user = `cs${id}`;
  const netns = `cs-support-${id}`;
  const cleanups: (() => void)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  try {
    mkdirSync(join(dir, "home"), { mode: 0o755 });
    run("useradd", ["--system", "--user-group", "--home-dir", join(dir, "home"), "--no-create-home", "--shell", "/bin/sh", user]);
    cleanups.unshift(() => {
      spawnSync("pkill", ["-KILL", "-u", user]);
      spawnSync("userdel", [user]);
      spawnSync("groupdel", [user]);
    });
    run("usermod", ["-p", "*", user]);

    run("ip", ["netns", "add", netns]);
    cleanups.unshift(() => spawnSync("ip", ["netns", "delete", netns]));

    const owner = await deviceKey();
    const stranger = await deviceKey();
    // The ruleset exactly as a host with support access renders it.
    const cloudConfig = renderCloudConfig({
      cloud: "digitalocean",
      hostname: "support-test",
      memoryMiB: 1024,
      stateDisk: { devicePath: "/dev/disk/by-id/scsi-0DO_Volume_test" },
      versions: { openclaw: "2026.1.29", node: "24.15.0" },
      gatewayCidrs: ["203.0.113.0/24"],
      clawchat: { clientCidrs: [], portRange: [49152, 65535] },
      ssh: null,
      gatewayToken: { source: "generate" },
      registration: { apiUrl: `https://api.example.com/v1/instances/${INSTANCE_ID}/register`, instanceId: INSTANCE_ID, token: `csreg_${"a".repeat(43)}` },
      supportAccess: { pinnedKeys: [owner.publicKey], apiUrl: "https://api.example.com/v1", bundle: Buffer.from("stand-in") },
    });
    const files = (parse(cloudConfig) as { write_files: { path: string; content: string }[] }).write_files;
    const ruleset = files.find((entry) => entry.path === "/etc/clawstack/nftables.conf")?.content;
    if (!ruleset) throw new Error("no ruleset in the rendered cloud-config");
    const loaded = spawnSync("ip", ["netns", "exec", netns, "nft", "-f", "-"], { input: ruleset, encoding: "utf8" });
    if (loaded.status !== 0) throw new Error(`the rendered ruleset did not load in the namespace: ${loaded.stderr}`);

    // The wrapper bundle, as support/build.mjs builds it.
    const bundle = join(dir, "clawstack-support.js");
    run(process.execPath, [resolve(__dirname, "../../support/build.mjs"), bundle]);
    chmodSync(bundle, 0o755);

    const port = await freePort();
    const hostToken = `cshost_${randomBytes(32).toString("base64url")}`;
    writeFileSync(join(dir, "host-token"), `${hostToken}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "user-keys.json"), JSON.stringify({ instanceId: INSTANCE_ID, keys: [owner.publicKey] }));
    const api = new StandInApi(hostToken);
    await api.start();
    cleanups.unshift(() => void api.stop());

    const clawchatDir = join(dir, "clawchat");
    mkdirSync(clawchatDir, { mode: 0o700 });
    const sshdConfig = join(dir, "sshd_config");
    const pid = join(dir, "sshd.pid");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_ed25519")]);
    mkdirSync(join(dir, "sshd_config.d"), { mode: 0o755 });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    writeFileSync(
      sshdConfig,
      [
        // As Debian's sshd_config: the drop-ins first (so theirs win), then the distribution's settings.
        `Include ${dir}/sshd_config.d/*.conf`,
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${dir}/host_ed25519`,
        `PidFile ${pid}`,
        "UsePAM no",
        "StrictModes yes",
        "KbdInteractiveAuthentication no",
        "PasswordAuthentication no",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    cleanups.unshift(() => {
      try {
        const sshdPid = Number(readFileSync(pid, "utf8").trim());
        if (sshdPid > 1) process.kill(sshdPid, "SIGTERM");
      } catch {
        // not running
      }
    });
    const wrapper = join(dir, "support-shell");
    const configPath = join(dir, "agent.json");
    const rawConfig = {
      apiUrl: `http://127.0.0.1:${api.port}/v1`,
      pollSeconds: options.pollSeconds,
      supportUser: user,
      sshManaged: true,
      clawchatSecurityDir: clawchatDir,
      paths: {
        userKeys: join(dir, "user-keys.json"),
        hostToken: join(dir, "host-token"),
        commands: join(dir, "commands.json"),
        authorizedKeys: join(dir, "support", "authorized_keys"),
        sshdDropIn: join(dir, "sshd_config.d", "50-clawstack-support.conf"),
        stateDir: join(dir, "state"),
        commandLog: join(dir, "log", "support-commands.log"),
        socket: join(dir, "run", "support.sock"),
        wrapper,
      },
      commands: {
        nft: ["/usr/sbin/ip", "netns", "exec", netns, "nft", "-f", "-"],
        sshdTest: ["/usr/sbin/sshd", "-t", "-f", sshdConfig],
        startSsh: ["/bin/sh", "-c", `[ -s ${pid} ] && kill -0 "$(cat ${pid})" 2>/dev/null || /usr/sbin/sshd -f ${sshdConfig} -E ${dir}/sshd.log`],
        reloadSsh: ["/bin/sh", "-c", `if [ -s ${pid} ]; then kill -HUP "$(cat ${pid})"; fi; true`],
        stopSsh: ["/bin/sh", "-c", `if [ -s ${pid} ]; then kill "$(cat ${pid})" 2>/dev/null; rm -f ${pid}; fi; true`],
        killSessions: ["/usr/bin/pkill", "-KILL", "-u"],
        appendOnly: ["/usr/bin/chattr", "+a"],
      },
    };
    writeFileSync(configPath, JSON.stringify(rawConfig, null, 2), { mode: 0o644 });
    writeFileSync(wrapper, supportShellLauncher({ node: process.execPath, bundle, config: configPath }), { mode: 0o755 });
    const config = resolveAgentConfig(rawConfig);
    // The command log gets chattr +a when the filesystem has it: taken off before the folder is removed.
    cleanups.splice(cleanups.length - 1, 0, () => spawnSync("chattr", ["-a", config.paths.commandLog]));

    const events: Harness["events"] = [];
    const pinned = { instanceId: INSTANCE_ID, keys: [owner.publicKey] };
    let agent = new SupportAgent(config, pinned, {
      now: Date.now,
      fetch: globalThis.fetch,
      run: runCommand,
      log: (event, fields = {}) => events.push({ event, fields }),
    });
    const harness: Harness = {
      dir,
      user,
      port,
      netns,
      api,
      config,
      get agent() {
        return agent;
      },
      events,
      owner,
      stranger,
      supportKey: sshKey(dir, "support_key"),
      otherKey: sshKey(dir, "other_key"),
      clawchatDir,
      async startAgent() {
        agent = new SupportAgent(config, pinned, { now: Date.now, fetch: globalThis.fetch, run: runCommand, log: (event, fields = {}) => events.push({ event, fields }) });
        await agent.start();
      },
      supportSet() {
        return spawnSync("ip", ["netns", "exec", netns, "nft", "list", "set", "inet", "clawstack", "support_v4"], { encoding: "utf8" }).stdout;
      },
      sshdRunning() {
        try {
          const sshdPid = Number(readFileSync(pid, "utf8").trim());
          process.kill(sshdPid, 0);
          return true;
        } catch {
          return false;
        }
      },
      async close() {
        await agent.stop().catch(() => undefined);
        for (const cleanup of cleanups) {
          try {
            cleanup();
          } catch {
            // best effort: every cleanup runs
          }
        }
      },
    };
    return harness;
  } catch (error) {
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // best effort
      }
    }
    throw error;
  }
}
