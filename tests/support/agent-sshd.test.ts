/**
 * Support access end to end on loopback with real parts (tests/support-agent/harness.ts):
 * a real sshd, the real wrapper run by it as a real Unix user, real node-ssh on
 * the operator's side, nft in a network namespace, a stand-in API.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NodeSSH } from "node-ssh";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSealed } from "../../core/zero-access/sealed-box.js";
import { harnessUnavailable, grantFrom, portOpen, startHarness, waitFor, type Harness } from "./harness.js";

const unavailable = harnessUnavailable();
if (unavailable) {
  // Missing tools fail under CI; a machine that forbids root or network namespaces skips (with the reason).
  if (process.env.CLAWSTACK_REQUIRE_TOOLS === "1" && /not installed/.test(unavailable)) throw new Error(`the support-access tests cannot run: ${unavailable}`);
  console.warn(`[skip] support access with a real sshd: ${unavailable}`);
}

const POLL_SECONDS = 0.5;

describe.skipIf(unavailable !== undefined)("support access with a real sshd, node-ssh and nft (loopback)", () => {
  let h: Harness;
  const sessions: NodeSSH[] = [];

  async function login(key: { path: string }, extra: Record<string, unknown> = {}): Promise<NodeSSH> {
    const ssh = new NodeSSH();
    await ssh.connect({ host: "127.0.0.1", port: h.port, username: h.user, privateKeyPath: key.path, readyTimeout: 8000, ...extra });
    sessions.push(ssh);
    return ssh;
  }

  /** Why a login fails: ECONNREFUSED (nothing listens) or an authentication refusal. */
  async function loginError(key: { path: string }, extra: Record<string, unknown> = {}): Promise<string> {
    try {
      const ssh = await login(key, extra);
      ssh.dispose();
      return "logged in";
    } catch (error) {
      return (error as Error).message;
    }
  }

  async function installed(id: string): Promise<void> {
    await waitFor(`grant ${id} installed`, () => h.agent.activeGrants().some((grant) => grant.id === id));
    await waitFor("sshd listening", () => portOpen(h.port));
  }

  async function pollsPass(count: number): Promise<void> {
    const target = h.api.polls + count;
    await waitFor(`${count} polls`, () => h.api.polls >= target, 15_000);
  }

  beforeAll(async () => {
    h = await startHarness({ pollSeconds: POLL_SECONDS });
    await h.startAgent();
  }, 120_000);

  afterAll(async () => {
    if (process.env.SUPPORT_TEST_DEBUG) console.log(JSON.stringify(h?.events.filter((entry) => entry.event !== "api_unreachable").slice(-40)));
    for (const ssh of sessions) ssh.dispose();
    await h?.close();
  });

  it("without a grant nothing listens on the SSH port (sshd is stopped), and the firewall set is empty", async () => {
    await pollsPass(2);
    expect(h.agent.activeGrants()).toEqual([]);
    expect(await portOpen(h.port)).toBe(false);
    expect(await loginError(h.supportKey)).toMatch(/ECONNREFUSED/);
    expect(h.supportSet()).not.toMatch(/elements/);
    expect(existsSync(h.config.paths.authorizedKeys)).toBe(false);
  });

  it("refuses a grant signed by a device key that is not pinned, an expired grant and a grant for another instance (nothing installed)", async () => {
    const now = Date.now();
    h.api.grants = [
      { id: "stranger", ...(await grantFrom(h.stranger, { supportKeys: [h.supportKey.publicLine] })) },
      { id: "expired", ...(await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine], notBefore: new Date(now - 2 * 3600_000), notAfter: new Date(now - 3600_000) })) },
      { id: "elsewhere", ...(await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine], instanceId: `inst_${"f".repeat(32)}` })) },
    ];
    const tampered = await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine] });
    h.api.grants.push({ id: "tampered", statement: tampered.statement.replace("127.0.0.1/32", "0.0.0.0/1"), signature: tampered.signature });
    await pollsPass(3);
    const refused = Object.fromEntries(h.events.filter((entry) => entry.event === "grant_refused").map((entry) => [entry.fields.grantId, entry.fields.code]));
    expect(refused).toEqual({ stranger: "unknown-signer", expired: "expired", elsewhere: "wrong-instance", tampered: "bad-signature" });
    expect(h.agent.activeGrants()).toEqual([]);
    expect(await portOpen(h.port)).toBe(false);
    h.api.grants = [];
  });

  it("installs a grant signed by the user: login works, an allowed command runs, and its record (exit status, byte counts) reaches the API", async () => {
    const signed = await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine], notAfter: new Date(Date.now() + 10 * 60_000) });
    h.api.grants = [{ id: "g1", ...signed }];
    await installed("g1");

    const line = readFileSync(h.config.paths.authorizedKeys, "utf8").split("\n").find((entry) => entry.endsWith(h.supportKey.publicLine));
    expect(line).toMatch(/^restrict,expiry-time="\d{14}Z",from="127\.0\.0\.1\/32",command="\S+support-shell g1" ssh-ed25519 /);
    expect(h.supportSet()).toMatch(/127\.0\.0\.1 timeout (9m\d+s|10m)/);

    const ssh = await login(h.supportKey);
    const result = await ssh.execCommand("uptime");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/load average/);
    const release = await ssh.execCommand("uname -r");
    expect(release.code).toBe(0);
    await waitFor("the command records at the API", () => h.api.commands.some((entry) => entry.commandLine === "uname -r"));
    // node-ssh trims the output; uname prints one line.
    const record = h.api.commands.find((entry) => entry.commandLine === "uname -r")!;
    expect(record).toMatchObject({ grantId: "g1", exitStatus: 0, stdoutBytes: Buffer.byteLength(`${release.stdout}\n`), stderrBytes: 0 });
    expect(h.api.commands.find((entry) => entry.commandLine === "uptime")).toMatchObject({ exitStatus: 0 });
    expect(record.operator).toMatch(/^ssh-key:SHA256:[A-Za-z0-9+/]{43}$/);
    expect(Date.parse(record.endedAt)).toBeGreaterThanOrEqual(Date.parse(record.startedAt));

    const log = statSync(h.config.paths.commandLog);
    expect(log.mode & 0o777).toBe(0o600);
    expect(log.uid).toBe(0);
    const logged = readFileSync(h.config.paths.commandLog, "utf8");
    expect(logged).toContain('"commandLine":"uptime"');
    expect(logged).not.toContain("load average");
    ssh.dispose();
  });

  it("names an empty command, and a record the API refuses for good does not hold back the others", async () => {
    const ssh = await login(h.supportKey);
    h.api.refuseCommandLine = "uname -a";
    expect((await ssh.execCommand("")).code).toBe(126);
    expect((await ssh.execCommand("uname -a")).code).toBe(0);
    expect((await ssh.execCommand("free -m")).code).toBe(0);
    await waitFor("the records after the refused one", () => h.api.commands.some((entry) => entry.commandLine === "free -m"), 15_000);
    expect(h.api.commands.some((entry) => entry.commandLine === "(empty command)" && entry.exitStatus === 126)).toBe(true);
    expect(h.api.commands.some((entry) => entry.commandLine === "uname -a")).toBe(false);
    expect(h.events.some((entry) => entry.event === "command_record_refused_by_api")).toBe(true);
    expect(readFileSync(h.config.paths.commandLog, "utf8")).toContain('"commandLine":"uname -a"');
    h.api.refuseCommandLine = undefined;
    ssh.dispose();
  });

  it("refuses a key the grant does not name, and the granted key from a source the grant does not name", async () => {
    expect(await loginError(h.otherKey)).toMatch(/authentication methods failed|All configured authentication methods failed/i);
    // 127.0.0.2 is loopback too; sshd's from="127.0.0.1/32" refuses it.
    expect(await loginError(h.supportKey, { localAddress: "127.0.0.2" })).toMatch(/authentication methods failed/i);
  });

  it("never gives a shell: operators, substitutions, paths, injections, pagers, ptys, subsystems and forwarding are refused", async () => {
    const ssh = await login(h.supportKey);
    const marker = join(h.dir, "escaped");
    const attempts = [
      "uptime; id",
      "uptime && id",
      "uptime || id",
      "uptime | sh",
      "$(id)",
      "`id`",
      "uptime\nid",
      "uptime\rid",
      "sh",
      "bash -i",
      "/bin/sh",
      "/usr/bin/id",
      "../../../../bin/sh",
      "./support-shell",
      `touch ${marker}`,
      "uptime > /tmp/x",
      "systemctl status ../../etc/passwd",
      "systemctl status --help",
      "journalctl -u ssh -n 5 --since=yesterday",
      "df -h '/'",
      "env id",
      "uptime &",
      "internal-sftp",
    ];
    for (const command of attempts) {
      const result = await ssh.execCommand(command);
      expect(result.code, command).toBe(126);
      expect(result.stderr, command).toMatch(/refused/);
      expect(result.stdout, command).not.toMatch(/uid=\d+/);
    }
    expect(existsSync(marker)).toBe(false);

    // A pty (ssh -t) is refused by sshd (restrict, PermitTTY no), for a command and for a shell.
    await expect(ssh.execCommand("id", { execOptions: { pty: true } })).rejects.toThrow(/pseudo-terminal/);
    await expect(ssh.requestShell()).rejects.toThrow(/pseudo-terminal/);
    // journalctl's pager never starts (--no-pager, no tty, its stdin closed): `!sh` typed to it goes nowhere.
    const pager = await ssh.execCommand("journalctl -n 5", { stdin: "q\n!id\n!sh -c id\n" });
    expect(`${pager.stdout}${pager.stderr}`).not.toMatch(/uid=\d+/);

    // Environment sent by the client (SendEnv/SetEnv) never reaches Node or a command.
    const envMarker = join(h.dir, "node-options-ran");
    writeFileSync(join(h.dir, "evil.js"), `require("fs").writeFileSync(${JSON.stringify(envMarker)}, "ran")\n`, { mode: 0o644 });
    const withEnv = await ssh.execCommand("uptime", { execOptions: { env: { NODE_OPTIONS: `--require ${join(h.dir, "evil.js")}`, LC_ALL: "C", LD_PRELOAD: "/nonexistent.so" } } });
    expect(withEnv.code).toBe(0);
    expect(existsSync(envMarker)).toBe(false);

    // The sftp subsystem runs the forced command, which is not sftp.
    await expect(ssh.requestSFTP()).rejects.toThrow();
    // Port forwarding in both directions is refused by sshd.
    await expect(ssh.forwardOut("127.0.0.1", 0, "127.0.0.1", h.api.port)).rejects.toThrow();
    const remote = await new Promise<Error | undefined>((done) => ssh.connection!.forwardIn("127.0.0.1", 0, (error: Error | undefined) => done(error)));
    expect(remote?.message).toMatch(/Unable to bind|failure/i);

    // An interactive session (no command): one command per line, the same rules.
    const shell = await ssh.requestShell(false);
    let output = "";
    shell.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    shell.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    shell.write("id\nuptime; sh\n/bin/sh -i\nexec sh\nuptime\n");
    await waitFor("the interactive uptime", () => /load average/.test(output));
    shell.end("exit\n");
    expect(output).not.toMatch(/uid=\d+/);
    expect(output.match(/refused/g)?.length).toBe(4);

    // Every refusal is in the audit too, with 126.
    await waitFor("the refusals at the API", () => h.api.commands.filter((entry) => entry.exitStatus === 126).length >= attempts.length + 4);
    expect(h.api.commands.find((entry) => entry.commandLine === "uptime; id")).toMatchObject({ exitStatus: 126, stdoutBytes: 0 });
    ssh.dispose();
  });

  it("seals the ClawChat keys to the pinned device key and uploads them again after a re-issue", async () => {
    writeFileSync(join(h.clawchatDir, "bootstrap.key"), "Ym9vdHN0cmFwIGtleSBvZiB0aGUgdGVzdCAzMiBieXQ=\n", { mode: 0o600 });
    writeFileSync(join(h.clawchatDir, "clawchat-20260101-000000.sec"), '{"version":"2.0","first":true}\n', { mode: 0o600 });
    await waitFor("the first sealed box", () => h.api.boxes.length >= 1, 15_000);
    const context = `clawchat-keys:inst_${"0123456789abcdef".repeat(2)}`;
    const open = async (index: number) =>
      JSON.parse(new TextDecoder().decode(await openSealed(h.api.boxes[index]!, { publicKey: h.owner.publicKey, sealingKey: h.owner.pair.sealing.privateKey }, context))) as Record<string, string>;
    expect(await open(0)).toEqual({ securityFile: '{"version":"2.0","first":true}\n', bootstrapKey: "Ym9vdHN0cmFwIGtleSBvZiB0aGUgdGVzdCAzMiBieXQ=" });
    await expect(openSealed(h.api.boxes[0]!, { publicKey: h.stranger.publicKey, sealingKey: h.stranger.pair.sealing.privateKey }, context)).rejects.toThrow();
    await pollsPass(2);
    expect(h.api.boxes).toHaveLength(1);
    // A re-issue writes a newer file.
    writeFileSync(join(h.clawchatDir, "clawchat-20260102-000000.sec"), '{"version":"2.0","second":true}\n', { mode: 0o600 });
    await waitFor("the re-issued box", () => h.api.boxes.length >= 2, 15_000);
    expect((await open(1)).securityFile).toBe('{"version":"2.0","second":true}\n');
  });

  it("refuses a replayed grant (the same signed statement again, under a new id) and removes a revoked one within the poll interval, closing the open session", async () => {
    const ssh = await login(h.supportKey);
    const shell = await ssh.requestShell(false);
    const closed = new Promise<void>((done) => shell.on("close", () => done()));
    let output = "";
    shell.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    await waitFor("the session banner", () => /support session/.test(output));

    const g1 = h.api.grants[0]!;
    h.api.grants = [g1, { ...g1, id: "g1-replay" }];
    await pollsPass(3);
    expect(h.events.find((entry) => entry.event === "grant_refused" && entry.fields.grantId === "g1-replay")?.fields.code).toBe("replayed");

    const revokedAt = Date.now();
    h.api.grants = [];
    h.api.revoked = ["g1"];
    await waitFor("the grant removed", () => h.agent.activeGrants().length === 0, 5000);
    await closed;
    const tookMs = Date.now() - revokedAt;
    expect(tookMs).toBeLessThan(POLL_SECONDS * 1000 * 4 + 2000);
    await waitFor("sshd stopped", async () => !(await portOpen(h.port)));
    expect(await loginError(h.supportKey)).toMatch(/ECONNREFUSED/);
    expect(existsSync(h.config.paths.authorizedKeys)).toBe(false);
    expect(existsSync(h.config.paths.sshdDropIn)).toBe(false);
    expect(h.supportSet()).not.toMatch(/127\.0\.0\.1/);

    // The same grant offered again after its revocation stays out (its nonce is spent).
    h.api.revoked = [];
    h.api.grants = [g1];
    await pollsPass(3);
    expect(h.agent.activeGrants()).toEqual([]);
    h.api.grants = [];
  });

  it("ends access at the grant's end with the API unreachable: the agent's timer removes it and closes the session", async () => {
    const notAfter = new Date(Date.now() + 6000);
    h.api.grants = [{ id: "short", ...(await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine], notAfter })) }];
    await installed("short");
    const ssh = await login(h.supportKey);
    const shell = await ssh.requestShell(false);
    // The channel's close, or the connection's (sshd drops the connection when the session's processes are killed).
    const closed = new Promise<number>((done) => {
      shell.on("close", () => done(Date.now()));
      ssh.connection!.on("close", () => done(Date.now()));
      ssh.connection!.on("end", () => done(Date.now()));
    });
    h.api.down = true;
    const closedAt = await Promise.race([
      closed,
      new Promise<number>((_, fail) => setTimeout(() => fail(new Error(`the session stayed open: ${JSON.stringify(h.events.slice(-5))} ${spawnSync("ps", ["-o", "pid,args", "-u", h.user], { encoding: "utf8" }).stdout} active=${JSON.stringify(h.agent.activeGrants())}`)), 20_000)),
    ]);
    expect(closedAt).toBeGreaterThanOrEqual(notAfter.getTime() - 1000);
    expect(closedAt).toBeLessThan(notAfter.getTime() + 3000);
    await waitFor("sshd stopped", async () => !(await portOpen(h.port)));
    expect(h.agent.activeGrants()).toEqual([]);
    expect(h.events.some((entry) => entry.event === "api_unreachable")).toBe(true);
    h.api.down = false;
    h.api.grants = [];
  });

  it("with the agent gone, sshd's expiry-time refuses the key at the grant's end and the kernel drops the firewall element", async () => {
    const notAfter = new Date(Date.now() + 5000);
    h.api.grants = [{ id: "orphan", ...(await grantFrom(h.owner, { supportKeys: [h.supportKey.publicLine], notAfter })) }];
    await installed("orphan");
    expect(h.supportSet()).toMatch(/127\.0\.0\.1 timeout [45]s/);
    // The agent dies without cleaning up (its state, files and sshd stay as they are).
    await h.agent.stop();
    h.api.down = true;
    // Before the end, sshd itself still admits the key (the wrapper then finds no agent: no audit, no command).
    const before = await login(h.supportKey);
    const early = await before.execCommand("uptime");
    expect(early.stdout).not.toMatch(/load average/);
    expect(early.stderr).toMatch(/agent is not reachable/);
    before.dispose();
    await new Promise((done) => setTimeout(done, notAfter.getTime() - Date.now() + 1500));
    expect(h.sshdRunning()).toBe(true);
    expect(await loginError(h.supportKey)).toMatch(/authentication methods failed/i);
    expect(h.supportSet()).not.toMatch(/127\.0\.0\.1/);
    // Restarted, the agent drops the ended grant and stops sshd.
    h.api.down = false;
    h.api.grants = [];
    await h.startAgent();
    await waitFor("sshd stopped", async () => !(await portOpen(h.port)));
    expect(existsSync(h.config.paths.authorizedKeys)).toBe(false);
  });
});
