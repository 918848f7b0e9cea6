/**
 * The zero-access CLI (api/cli/zero-access.ts) against the real API on
 * loopback (SQLite): a device key file (mode 600, private halves never
 * printed), registered; a grant signed from the file, listed and revoked;
 * ClawChat keys downloaded and opened into mode-600 files; the operator's
 * `support exec` refused locally without an active grant naming their key,
 * and, when `sshd` is installed, run for real through node-ssh against a
 * throwaway sshd on loopback whose forced command stands in for the host's
 * wrapper (the wrapper itself is tested with the host agent).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandLineOf, registerZeroAccessCommands } from "../../api/cli/zero-access";
import { pinDeviceKeys } from "../../api/support/pinning";
import { storeHostToken } from "../../api/support/host-credential";
import { sealTo } from "../../core/zero-access/sealed-box";
import type { UserPublicKey } from "../../core/zero-access/user-keys";
import { insertInstance } from "./jobs/support/db";
import { requireTool } from "../harness/tools";
import { bearer, json, remember, scanForSecrets, type Session, signUp, signUpAdmin, startApi, type TestApi } from "./support";

const SSHD =
  ["/usr/sbin/sshd", "/usr/bin/sshd"].find((path) => existsSync(path)) ??
  (requireTool("sshd", "the node-ssh exec and shell test against a loopback sshd") ? "sshd" : undefined);

describe("the zero-access CLI against the API", () => {
  let api: TestApi;
  let base: string;
  let alice: Session;
  let admin: Session;
  let dir: string;
  let instanceId: string;
  let operatorKey: string;
  let operatorPub: string;

  /** Runs one CLI command as `session`; resolves to what it printed and the exit status it set. */
  async function cli(session: Session, ...args: string[]): Promise<{ lines: string[]; stdout: string; stderr: string; exit: number | undefined }> {
    return cliWithInput(session, undefined, ...args);
  }

  async function cliWithInput(session: Session, stdin: NodeJS.ReadableStream | undefined, ...args: string[]): Promise<{ lines: string[]; stdout: string; stderr: string; exit: number | undefined }> {
    const lines: string[] = [];
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { out: "", err: "" };
    stdout.on("data", (chunk: Buffer) => (chunks.out += chunk.toString()));
    stderr.on("data", (chunk: Buffer) => (chunks.err += chunk.toString()));
    let exit: number | undefined;
    const program = new Command().exitOverride();
    registerZeroAccessCommands(program, {
      env: { CLAWSTACK_API_URL: base, CLAWSTACK_TOKEN: session.accessToken },
      write: (line) => lines.push(line),
      stdout,
      stderr,
      ...(stdin ? { stdin } : {}),
      exit: (code) => (exit = code),
    });
    await program.parseAsync(["node", "clawstack", ...args]);
    return { lines, stdout: chunks.out, stderr: chunks.err, exit };
  }

  beforeAll(async () => {
    api = await startApi({ engine: "sqlite", env: { CLAWSTACK_EMBEDDED_WORKER: "off" } });
    base = await api.app.listen({ host: "127.0.0.1", port: 0 });
    alice = await signUp(api, "alice");
    admin = await signUpAdmin(api);
    dir = mkdtempSync(join(tmpdir(), "clawstack-cli-"));
    operatorKey = join(dir, "support_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "operator@test", "-f", operatorKey]);
    operatorPub = readFileSync(`${operatorKey}.pub`, "utf8").trim();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("keys create writes a mode-600 file and prints only the fingerprint; register and list send and show the public halves", async () => {
    const file = join(dir, "laptop.key");
    const created = await cli(alice, "keys", "create", "--out", file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const content = JSON.parse(readFileSync(file, "utf8")) as { fingerprint: string; signing: { d: string }; sealing: { d: string } };
    remember(api, content.signing.d, content.sealing.d);
    expect(created.lines.join("\n")).toContain(content.fingerprint);
    expect(created.lines.join("\n")).not.toContain(content.signing.d);
    await expect(cli(alice, "keys", "create", "--out", file)).rejects.toThrow(/exists/);

    const registered = await cli(alice, "keys", "register", "--key", file, "--name", "laptop");
    expect(registered.lines[0]).toMatch(new RegExp(`^registered dk_\\S+ ${content.fingerprint.replace(/[+/]/g, "\\$&")}$`));
    expect((await cli(alice, "keys", "list")).lines).toEqual([expect.stringMatching(/ active laptop$/)]);

    // A key file others can read is refused, as ssh refuses such an identity.
    const loose = join(dir, "loose.key");
    writeFileSync(loose, readFileSync(file), { mode: 0o644 });
    await expect(cli(alice, "keys", "register", "--key", loose, "--name", "x")).rejects.toThrow(/readable by others/);
    // A file whose public record was swapped for another key's is refused.
    const other = join(dir, "other.key");
    await cli(alice, "keys", "create", "--out", other);
    const swapped = join(dir, "swapped.key");
    writeFileSync(swapped, JSON.stringify({ ...content, publicKey: (JSON.parse(readFileSync(other, "utf8")) as { publicKey: UserPublicKey }).publicKey }), { mode: 0o600 });
    await expect(cli(alice, "keys", "register", "--key", swapped, "--name", "x")).rejects.toThrow(/do not match/);

    const { id } = await insertInstance(api.app.db, { userId: alice.userId });
    instanceId = id;
    await pinDeviceKeys(api.app.db, { id, user_id: alice.userId });
  });

  it("support grant signs with the file key; list and revoke; commands lists what the host reported", async () => {
    const key = join(dir, "laptop.key");
    const granted = await cli(alice, "support", "grant", instanceId, "--key", key, "--support-key", `${operatorKey}.pub`, "--source", "127.0.0.1/32", "--reason", "ticket 7", "--hours", "2");
    const grantId = /granted (sgr_\S+)/.exec(granted.lines[0]!)?.[1];
    expect(grantId).toBeDefined();
    const view = json(await api.inject({ method: "GET", url: `/v1/instances/${instanceId}/support-grants`, headers: bearer(alice.accessToken) })).items as { id: string; notAfter: string; status: string }[];
    expect(view[0]).toMatchObject({ id: grantId, status: "active" });
    expect(Date.parse(view[0]!.notAfter) - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);
    expect((await cli(alice, "support", "list", instanceId)).lines).toEqual([expect.stringMatching(new RegExp(`^${grantId} active until .* from 127.0.0.1/32 "ticket 7"$`))]);
    await expect(cli(alice, "support", "grant", instanceId, "--key", key, "--support-key", operatorPub, "--source", "127.0.0.1/32", "--reason", "x", "--hours", "25")).rejects.toThrow(/--hours/);
    await expect(cli(alice, "support", "grant", instanceId, "--key", key, "--support-key", "ssh-rsa AAAA", "--source", "127.0.0.1/32", "--reason", "x")).rejects.toThrow(/--support-key/);

    await cli(alice, "support", "revoke", instanceId, grantId!);
    expect((await cli(alice, "support", "list", instanceId)).lines[0]).toMatch(/ revoked /);
    expect((await cli(alice, "support", "commands", instanceId)).lines).toEqual([]);
  });

  it("support exec is refused locally without an active grant naming the operator's key", async () => {
    // Revoked above: nothing active.
    await expect(cli(admin, "support", "exec", instanceId, "--identity", operatorKey, "--host", "127.0.0.1", "--", "id")).rejects.toThrow(/refused: no active support grant/);
    // An active grant for another key does not help.
    const otherKey = join(dir, "other_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    await cli(alice, "support", "grant", instanceId, "--key", join(dir, "laptop.key"), "--support-key", `${otherKey}.pub`, "--source", "127.0.0.1/32", "--reason", "other");
    await expect(cli(admin, "support", "exec", instanceId, "--identity", operatorKey, "--host", "127.0.0.1", "--", "id")).rejects.toThrow(/names your key SHA256:.*active grants name SHA256:/);
    // Not an admin: the API refuses the grant list itself.
    await expect(cli(alice, "support", "exec", instanceId, "--identity", operatorKey, "--host", "127.0.0.1", "--", "id")).rejects.toThrow(/403 admin role required/);
  });

  it("clawchat-keys downloads the sealed box and opens it into mode-600 files", async () => {
    const key = JSON.parse(readFileSync(join(dir, "laptop.key"), "utf8")) as { publicKey: UserPublicKey };
    const token = `cshost_${"h".repeat(43)}`;
    remember(api, token);
    await storeHostToken(api.app.db, instanceId, token);
    const securityFile = `{"sealed":"${"s".repeat(40)}"}`;
    const bootstrapKey = Buffer.alloc(32, 7).toString("base64");
    const plaintext = JSON.stringify({ securityFile, bootstrapKey, securityFileName: "clawchat-20261205-010203.sec" });
    const box = await sealTo([key.publicKey], new TextEncoder().encode(plaintext), `clawchat-keys:${instanceId}`);
    const put = await api.inject({ method: "PUT", url: `/v1/host/instances/${instanceId}/clawchat-keys`, headers: bearer(token), payload: { box } });
    expect(put.statusCode, put.body).toBe(204);
    const out = join(dir, "clawchat");
    const opened = await cli(alice, "clawchat-keys", instanceId, "--key", join(dir, "laptop.key"), "--out", out);
    expect(opened.lines[0]).toMatch(/opened the ClawChat keys/);
    expect(readFileSync(join(out, "clawchat-20261205-010203.sec"), "utf8")).toBe(securityFile);
    expect(readFileSync(join(out, "bootstrap.key"), "utf8")).toBe(`${bootstrapKey}\n`);
    expect(statSync(join(out, "bootstrap.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, "clawchat-20261205-010203.sec")).mode & 0o777).toBe(0o600);
    // Another device key (not pinned, not a recipient) cannot open it.
    await expect(cli(alice, "clawchat-keys", instanceId, "--key", join(dir, "other.key"), "--out", out)).rejects.toThrow(/not sealed to device key/);
    expect(await scanForSecrets(api)).toEqual([]);
  });

  it("sends the arguments as the wrapper splits them, and refuses locally what it would refuse", () => {
    expect(commandLineOf(["journalctl", "-u", "openclaw", "-n", "50"])).toBe("journalctl -u openclaw -n 50");
    for (const bad of ["a b", "it's", "$(id)", "../etc/shadow", "x;id", "\u001b[2J"]) {
      expect(() => commandLineOf(["cat", bad])).toThrow(/argument 2 .*no shell/);
    }
  });

  describe.skipIf(!SSHD)("support exec and shell through node-ssh against sshd on loopback", () => {
    let sshd: ChildProcess | undefined;
    let port: number;
    const sshdDir = () => join(dir, "sshd");

    beforeAll(async () => {
      const root = sshdDir();
      execFileSync("mkdir", ["-p", root]);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(root, "host_key")]);
      // The stand-in wrapper: prints the argv it was asked for (as the real one parses it) and exits 3.
      writeFileSync(join(root, "wrapper.sh"), `#!/bin/sh\nif [ -n "$SSH_ORIGINAL_COMMAND" ]; then printf 'ran:%s\\n' "$SSH_ORIGINAL_COMMAND"; printf 'err\\n' >&2; exit 3; fi\nwhile IFS= read -r line; do printf 'line:%s\\n' "$line"; done\nexit 0\n`, { mode: 0o755 });
      writeFileSync(join(root, "authorized_keys"), `restrict ${operatorPub}\n`, { mode: 0o600 });
      port = await freePort();
      const user = execFileSync("id", ["-un"]).toString().trim();
      writeFileSync(
        join(root, "sshd_config"),
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${join(root, "host_key")}`,
          `PidFile ${join(root, "sshd.pid")}`,
          `AuthorizedKeysFile ${join(root, "authorized_keys")}`,
          "StrictModes no",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          `AllowUsers ${user}`,
          "PermitRootLogin prohibit-password",
          `ForceCommand ${join(root, "wrapper.sh")}`,
          "",
        ].join("\n"),
      );
      execFileSync("mkdir", ["-p", "/run/sshd"]);
      sshd = spawn(SSHD!, ["-D", "-e", "-f", join(root, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
      await waitForPort(port);
    });
    afterAll(() => {
      sshd?.kill("SIGTERM");
    });

    it("runs the command through the forced command with the exit status, and a session line by line, with an active grant", async () => {
      const user = execFileSync("id", ["-un"]).toString().trim();
      await cli(alice, "support", "grant", instanceId, "--key", join(dir, "laptop.key"), "--support-key", operatorPub, "--source", "127.0.0.1/32", "--reason", "real sshd");
      const common = ["--identity", operatorKey, "--host", "127.0.0.1", "--port", String(port), "--user", user];
      const ran = await cli(admin, "support", "exec", instanceId, ...common, "--", "journalctl", "-u", "openclaw", "-n", "5");
      expect(ran.stdout).toBe("ran:journalctl -u openclaw -n 5\n");
      expect(ran.stderr).toMatch(/err\n/);
      expect(ran.stderr).toMatch(/host key SHA256:/);
      expect(ran.exit).toBe(3);

      // An interactive session: each line goes to the wrapper, which answers line by line.
      const input = new PassThrough();
      input.end("uptime\nsystemctl status openclaw\n");
      const shell = await cliWithInput(admin, input, "support", "shell", instanceId, ...common);
      expect(shell.stdout).toBe("line:uptime\nline:systemctl status openclaw\n");
      expect(shell.exit).toBe(0);

      // The host key pinned: a wrong fingerprint refuses the connection.
      await expect(cli(admin, "support", "exec", instanceId, ...common, "--host-key", `SHA256:${"A".repeat(43)}`, "--", "id")).rejects.toThrow();
    }, 30_000);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sshd did not listen on ${port}`);
}
