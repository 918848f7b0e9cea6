/**
 * The terminal side of zero access (docs/zero-access.md), registered on the
 * `clawstack` CLI (api/cli/main.ts):
 *
 *   user
 *     keys create --out <file>                    a device key in a file (mode 600, private halves as JWK; never printed)
 *     keys register --key <file> --name <name>    send its public halves to the API
 *     keys list | keys revoke <id>
 *     support grant <instance> --key <file> --support-key <pub> --source <cidr> --reason <text> [--hours N]
 *     support revoke <instance> <grantId> | support list <instance> | support commands <instance>
 *     clawchat-keys <instance> --key <file> --out <dir>   download the sealed box and open it here
 *   operator (admin)
 *     support exec <instance> --identity <file> -- <command...>
 *     support shell <instance> --identity <file>
 *       both through node-ssh as `clawsupport`, refused here unless GET /v1/admin/support-grants
 *       lists an active grant for the instance that names the identity's public key
 *
 * The API comes from CLAWSTACK_API_URL (default http://127.0.0.1:8080), the
 * access token (or `clk_` key) from CLAWSTACK_TOKEN: never a flag.
 */
import { createHash, type webcrypto } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type Command, Option } from "commander";
import { NodeSSH } from "node-ssh";
import { ConfigError } from "../../core/errors";
import { openSealed, type SealedBox } from "../../core/zero-access/sealed-box";
import { signGrant, SUPPORT_GRANT_MAX_MS } from "../../core/zero-access/support-grant";
import {
  exportUserPublicKey,
  generateUserKeyPair,
  SEALING_ALGORITHM,
  SIGNING_ALGORITHM,
  type UserPublicKey,
  userKeyFingerprint,
} from "../../core/zero-access/user-keys";
import type { WebCryptoKey } from "../../core/zero-access/webcrypto-types";
import { parseSupportKey, SshKeyError } from "../support/ssh-keys";

export const SUPPORT_USER = "clawsupport";
const KEY_FILE_KIND = "clawstack.device-key";

export interface ZeroAccessCliContext {
  env: Record<string, string | undefined>;
  write(line: string): void;
  /** Where `support exec|shell` write the remote output (default the process's streams). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
  /** Sets the exit status (default `process.exitCode`). */
  exit?(code: number): void;
}

/** A device key file: the public halves, their fingerprint and the private halves as JWK. */
interface DeviceKeyFile {
  v: 1;
  kind: typeof KEY_FILE_KIND;
  fingerprint: string;
  publicKey: UserPublicKey;
  signing: webcrypto.JsonWebKey;
  sealing: webcrypto.JsonWebKey;
}

interface LoadedDevice {
  publicKey: UserPublicKey;
  fingerprint: string;
  signingKey: WebCryptoKey;
  sealingKey: WebCryptoKey;
}

export function registerZeroAccessCommands(program: Command, context: ZeroAccessCliContext): void {
  const api = apiClient(context.env);
  const out = context.write;

  const keys = program.command("keys").description("your device keys: made here, private halves never leave the file");
  keys
    .command("create")
    .description("make a device key in a new file (mode 600); prints only its fingerprint")
    .requiredOption("--out <file>", "the key file to create (refused if it exists)")
    .action(async (options: { out: string }) => {
      const pair = await generateUserKeyPair({ extractable: true });
      const publicKey = await exportUserPublicKey(pair);
      const fingerprint = await userKeyFingerprint(publicKey);
      const subtle = globalThis.crypto.subtle;
      const file: DeviceKeyFile = {
        v: 1,
        kind: KEY_FILE_KIND,
        fingerprint,
        publicKey,
        signing: await subtle.exportKey("jwk", pair.signing.privateKey),
        sealing: await subtle.exportKey("jwk", pair.sealing.privateKey),
      };
      try {
        writeFileSync(options.out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "wx" });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new ConfigError("out", `\`--out\`: ${options.out} exists; choose a new file (a key file is never overwritten)`);
        throw error;
      }
      out(`device key ${fingerprint} written to ${options.out} (mode 600)`);
      out(`register it: clawstack keys register --key ${options.out} --name <device name>`);
    });

  keys
    .command("register")
    .description("send the key file's public halves to the API (new instances pin them)")
    .requiredOption("--key <file>", "the device key file")
    .requiredOption("--name <name>", "a name for this device")
    .action(async (options: { key: string; name: string }) => {
      const device = await loadDeviceKey(options.key);
      const created = (await api.request("POST", "/v1/me/device-keys", { name: options.name, key: device.publicKey })) as { id: string; fingerprint: string };
      out(`registered ${created.id} ${created.fingerprint}`);
    });

  keys
    .command("list")
    .description("your registered device keys")
    .action(async () => {
      const { items } = (await api.request("GET", "/v1/me/device-keys")) as { items: { id: string; name: string; fingerprint: string; createdAt: string; revokedAt: string | null }[] };
      for (const key of items) out(`${key.id} ${key.fingerprint} ${key.revokedAt ? `revoked ${key.revokedAt}` : "active"} ${key.name}`);
    });

  keys
    .command("revoke")
    .description("revoke a device key: new instances stop pinning it")
    .argument("<id>", "the device key id (dk_...)")
    .action(async (id: string) => {
      await api.request("DELETE", `/v1/me/device-keys/${encodeURIComponent(id)}`);
      out(`revoked ${id}`);
    });

  const support = program.command("support").description("temporary support access: grant, watch and revoke (users); exec and shell (operators)");
  support
    .command("grant")
    .description("sign a support grant with your device key and send it (at most 24 hours)")
    .argument("<instance>", "the instance id (inst_...)")
    .requiredOption("--key <file>", "your device key file (one of the keys the instance pinned)")
    .requiredOption("--support-key <key>", "the provider's support SSH public key line, or a .pub file (repeatable)", collect, [])
    .requiredOption("--source <cidr>", "an address block the support connection comes from (repeatable)", collect, [])
    .requiredOption("--reason <text>", "why (shown to you and written on the host)")
    .option("--hours <n>", "how long, 1 to 24", "24")
    .action(async (instance: string, options: { key: string; supportKey: string[]; source: string[]; reason: string; hours: string }) => {
      const hours = Number(options.hours);
      if (!Number.isInteger(hours) || hours < 1 || hours > SUPPORT_GRANT_MAX_MS / 3_600_000) throw new ConfigError("hours", `\`--hours\` must be a whole number of hours from 1 to 24; given \`${options.hours}\``);
      const supportKeys = options.supportKey.map((value) => supportKeyLine(value));
      const device = await loadDeviceKey(options.key);
      const notBefore = new Date();
      const signed = await signGrant(
        { instanceId: instance, supportKeys, sources: options.source, reason: options.reason, notBefore, notAfter: new Date(notBefore.getTime() + hours * 3_600_000) },
        { publicKey: device.publicKey, signingKey: device.signingKey },
      );
      const grant = (await api.request("POST", `/v1/instances/${encodeURIComponent(instance)}/support-grants`, signed)) as { id: string; notAfter: string; supportKeyFingerprints: string[] };
      out(`granted ${grant.id} until ${grant.notAfter} to ${grant.supportKeyFingerprints.join(", ")}`);
      out(`revoke it any time: clawstack support revoke ${instance} ${grant.id}`);
    });

  support
    .command("revoke")
    .description("revoke a support grant (the host removes access within 60 s)")
    .argument("<instance>", "the instance id")
    .argument("<grantId>", "the grant id (sgr_...)")
    .action(async (instance: string, grantId: string) => {
      await api.request("DELETE", `/v1/instances/${encodeURIComponent(instance)}/support-grants/${encodeURIComponent(grantId)}`);
      out(`revoked ${grantId}`);
    });

  support
    .command("list")
    .description("the instance's support grants and their status")
    .argument("<instance>", "the instance id")
    .action(async (instance: string) => {
      const { items } = (await api.request("GET", `/v1/instances/${encodeURIComponent(instance)}/support-grants`)) as {
        items: { id: string; status: string; notAfter: string; sources: string[]; reason: string }[];
      };
      for (const grant of items) out(`${grant.id} ${grant.status} until ${grant.notAfter} from ${grant.sources.join(",")} ${JSON.stringify(grant.reason)}`);
    });

  support
    .command("commands")
    .description("every command support ran on the instance (command line, exit status, byte counts; never output)")
    .argument("<instance>", "the instance id")
    .action(async (instance: string) => {
      const { items } = (await api.request("GET", `/v1/instances/${encodeURIComponent(instance)}/support-commands`)) as {
        items: { seq: number; startedAt: string; exitStatus: number; operator: string; operatorEmail: string | null; commandLine: string; stdoutBytes: number; stderrBytes: number }[];
      };
      for (const command of items.reverse()) {
        out(`${command.startedAt} #${command.seq} exit ${command.exitStatus} by ${command.operatorEmail ?? command.operator} (${command.stdoutBytes}+${command.stderrBytes} bytes): ${command.commandLine}`);
      }
    });

  const operatorOptions = (command: Command) =>
    command
      .argument("<instance>", "the instance id")
      .requiredOption("--identity <file>", "your support SSH private key file")
      .option("--public-key <file>", "its public key (default: <identity>.pub)")
      .option("--host <address>", "the host's address (default: the public IPv4 in its stack outputs)")
      .addOption(new Option("--port <n>", "SSH port").default("22"))
      .option("--host-key <fingerprint>", "refuse unless the host's SSH key has this SHA256:... fingerprint")
      .option("--user <name>", "the host's support user", SUPPORT_USER);

  operatorOptions(support.command("exec").description("run one command on the host through the forced-command wrapper (operators, with an active grant)"))
    .argument("<command...>", "the command and its arguments (after --)")
    .action(async (instance: string, command: string[], options: OperatorOptions) => {
      const ssh = await connectSupport(api, instance, options, context);
      try {
        const result = await ssh.execCommand(commandLineOf(command), {
          onStdout: (chunk) => (context.stdout ?? process.stdout).write(chunk),
          onStderr: (chunk) => (context.stderr ?? process.stderr).write(chunk),
        });
        setExit(context, result.code ?? 255);
      } finally {
        ssh.dispose();
      }
    });

  operatorOptions(support.command("shell").description("an interactive session: each line is one command, run by the wrapper (operators, with an active grant)")).action(
    async (instance: string, options: OperatorOptions) => {
      const ssh = await connectSupport(api, instance, options, context);
      try {
        // No terminal: the grant's key line is `restrict` (no-pty), and the wrapper reads one command per line.
        const channel = await ssh.requestShell(false);
        const input = context.stdin ?? process.stdin;
        input.pipe(channel);
        channel.pipe(context.stdout ?? process.stdout, { end: false });
        channel.stderr.pipe(context.stderr ?? process.stderr, { end: false });
        const code = await new Promise<number>((resolve) => channel.on("exit", (status: number | null) => resolve(status ?? 255)).on("close", () => resolve(255)));
        input.unpipe(channel);
        setExit(context, code);
      } finally {
        ssh.dispose();
      }
    },
  );

  program
    .command("clawchat-keys")
    .description("download the instance's ClawChat keys, sealed to your device keys, and open them here")
    .argument("<instance>", "the instance id")
    .requiredOption("--key <file>", "your device key file (one the instance pinned)")
    .requiredOption("--out <dir>", "where to write the security file and bootstrap key (mode 600)")
    .action(async (instance: string, options: { key: string; out: string }) => {
      const device = await loadDeviceKey(options.key);
      const { box, updatedAt } = (await api.request("GET", `/v1/instances/${encodeURIComponent(instance)}/clawchat-keys`)) as { box: SealedBox; updatedAt: string };
      const plaintext = await openSealed(box, { publicKey: device.publicKey, sealingKey: device.sealingKey }, `clawchat-keys:${instance}`);
      mkdirSync(options.out, { recursive: true, mode: 0o700 });
      const written = writeClawchatFiles(options.out, new TextDecoder().decode(plaintext));
      plaintext.fill(0);
      out(`opened the ClawChat keys sealed at ${updatedAt}: ${written.join(", ")} (mode 600)`);
    });
}

interface OperatorOptions {
  identity: string;
  publicKey?: string;
  host?: string;
  port: string;
  hostKey?: string;
  user: string;
}

/** Refuses locally unless an active grant for the instance names this identity's key; then connects as the support user. */
async function connectSupport(api: ApiClient, instance: string, options: OperatorOptions, context: ZeroAccessCliContext): Promise<NodeSSH> {
  const publicKeyFile = options.publicKey ?? `${options.identity}.pub`;
  let fingerprint: string;
  try {
    fingerprint = parseSupportKey(readFileSync(publicKeyFile, "utf8")).fingerprint;
  } catch (error) {
    if (error instanceof SshKeyError) throw new ConfigError("public-key", `\`--public-key\` (${publicKeyFile}): ${error.message}`);
    throw new ConfigError("public-key", `\`--public-key\`: cannot read ${publicKeyFile} (${(error as Error).message})`);
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError("port", `\`--port\` must be 1 to 65535; given \`${options.port}\``);
  const { items } = (await api.request("GET", `/v1/admin/support-grants?instanceId=${encodeURIComponent(instance)}`)) as {
    items: { id: string; notAfter: string; supportKeyFingerprints: string[]; address: string | null }[];
  };
  const grant = items.find((item) => item.supportKeyFingerprints.includes(fingerprint));
  if (!grant) {
    throw new Error(
      `refused: no active support grant for ${instance} names your key ${fingerprint}` +
        (items.length > 0 ? ` (active grants name ${items.flatMap((item) => item.supportKeyFingerprints).join(", ")})` : "") +
        "; only the instance's owner can grant access",
    );
  }
  const host = options.host ?? grant.address;
  if (!host) throw new ConfigError("host", "`--host`: the instance's address is not in its stack outputs; give it");
  (context.stderr ?? process.stderr).write(`grant ${grant.id} until ${grant.notAfter}; connecting to ${host}:${port} as ${options.user} with ${fingerprint}\n`);
  const ssh = new NodeSSH();
  let presented: string | undefined;
  await ssh.connect({
    host,
    port,
    username: options.user,
    privateKeyPath: options.identity,
    readyTimeout: 20_000,
    hostVerifier: (key: Buffer) => {
      presented = `SHA256:${createSha256Base64(key)}`;
      return options.hostKey === undefined || options.hostKey === presented;
    },
  } as Parameters<NodeSSH["connect"]>[0]);
  if (options.hostKey === undefined && presented) (context.stderr ?? process.stderr).write(`host key ${presented} (pin it with --host-key)\n`);
  return ssh;
}

function createSha256Base64(data: Buffer): string {
  return createHash("sha256").update(data).digest("base64").replace(/=+$/, "");
}

function setExit(context: ZeroAccessCliContext, code: number): void {
  if (context.exit) context.exit(code);
  else process.exitCode = code;
}

/**
 * The command line the host's wrapper gets: arguments joined by single spaces. The wrapper splits on blanks
 * without any shell (support/commands.ts), so there is no quoting to do and none is possible: an argument with
 * a blank, a quote or any character outside its safe set (or `..`) is refused here, as the host would.
 */
export function commandLineOf(argv: readonly string[]): string {
  argv.forEach((arg, i) => {
    if (!/^[A-Za-z0-9._@:=,+%/-]+$/.test(arg) || arg.includes("..")) {
      throw new ConfigError("command", `\`command\` argument ${i + 1} (${JSON.stringify(arg.slice(0, 40))}): the host runs no shell and takes only letters, digits and . _ @ : = , + % / - (no blanks, quotes or ..)`);
    }
  });
  return argv.join(" ");
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function supportKeyLine(value: string): string {
  let text = value;
  if (!/^(ssh-|ecdsa-)/.test(value.trim())) {
    try {
      text = readFileSync(value, "utf8");
    } catch {
      throw new ConfigError("support-key", `\`--support-key\`: ${value} is neither an OpenSSH public key line nor a readable .pub file`);
    }
  }
  try {
    return parseSupportKey(text).line;
  } catch (error) {
    throw new ConfigError("support-key", `\`--support-key\`: ${(error as Error).message}`);
  }
}

/** Reads a device key file: refused when others can read it, or when its halves do not match its public record. */
export async function loadDeviceKey(path: string): Promise<LoadedDevice> {
  let mode: number;
  let file: DeviceKeyFile;
  try {
    mode = statSync(path).mode;
    file = JSON.parse(readFileSync(path, "utf8")) as DeviceKeyFile;
  } catch (error) {
    throw new ConfigError("key", `\`--key\`: cannot read the device key file ${path} (${(error as Error).message})`);
  }
  if ((mode & 0o077) !== 0) throw new ConfigError("key", `\`--key\`: ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  if (file?.v !== 1 || file.kind !== KEY_FILE_KIND || typeof file.signing !== "object" || typeof file.sealing !== "object") {
    throw new ConfigError("key", `\`--key\`: ${path} is not a device key file made by \`clawstack keys create\``);
  }
  const subtle = globalThis.crypto.subtle;
  try {
    const signingKey = await subtle.importKey("jwk", file.signing, SIGNING_ALGORITHM, false, ["sign"]);
    const sealingKey = await subtle.importKey("jwk", file.sealing, SEALING_ALGORITHM, false, ["deriveBits"]);
    const publicOf = async (jwk: webcrypto.JsonWebKey, algorithm: typeof SIGNING_ALGORITHM | typeof SEALING_ALGORITHM) => {
      const { d: _private, key_ops: _ops, ...publicJwk } = jwk;
      void _private;
      void _ops;
      const key = await subtle.importKey("jwk", publicJwk, algorithm, true, algorithm.name === "ECDSA" ? ["verify"] : []);
      return Buffer.from(await subtle.exportKey("spki", key)).toString("base64");
    };
    const publicKey = { signing: await publicOf(file.signing, SIGNING_ALGORITHM), sealing: await publicOf(file.sealing, SEALING_ALGORITHM) };
    const fingerprint = await userKeyFingerprint(publicKey);
    if (fingerprint !== file.fingerprint || publicKey.signing !== file.publicKey?.signing || publicKey.sealing !== file.publicKey?.sealing) {
      throw new Error("its private halves do not match its public record");
    }
    return { publicKey, fingerprint, signingKey, sealingKey };
  } catch (error) {
    throw new ConfigError("key", `\`--key\`: ${path} is damaged: ${(error as Error).message}`);
  }
}

/**
 * Writes what the host sealed: `{securityFile, bootstrapKey, securityFileName?}` becomes the `.sec` file and
 * `bootstrap.key` (what `clawchat connect` takes); anything else is written as it is to `clawchat-keys.json`.
 */
function writeClawchatFiles(dir: string, plaintext: string): string[] {
  const written: string[] = [];
  const put = (name: string, content: string) => {
    const path = join(dir, name);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
    written.push(path);
  };
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(plaintext) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.securityFile === "string" && typeof parsed.bootstrapKey === "string") {
    const name = typeof parsed.securityFileName === "string" && /^[A-Za-z0-9._-]{1,100}\.sec$/.test(basename(parsed.securityFileName)) ? basename(parsed.securityFileName) : "clawchat.sec";
    put(name, parsed.securityFile);
    put("bootstrap.key", parsed.bootstrapKey.endsWith("\n") ? parsed.bootstrapKey : `${parsed.bootstrapKey}\n`);
  } else {
    put("clawchat-keys.json", plaintext);
  }
  return written;
}

interface ApiClient {
  request(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<unknown>;
}

function apiClient(env: Record<string, string | undefined>): ApiClient {
  return {
    async request(method, path, body) {
      const token = env.CLAWSTACK_TOKEN;
      if (!token) throw new ConfigError("CLAWSTACK_TOKEN", "`CLAWSTACK_TOKEN` must hold your access token (or an API key); it is not set");
      const base = (env.CLAWSTACK_API_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      if (!response.ok) {
        let message = text.slice(0, 500);
        try {
          const error = JSON.parse(text) as { message?: string; field?: string };
          message = `${error.message ?? message}${error.field ? ` [${error.field}]` : ""}`;
        } catch {
          // not the API's error shape: the text as it came
        }
        throw new Error(`${method} ${path.split("?")[0]}: ${response.status} ${message}`);
      }
      return text === "" ? undefined : (JSON.parse(text) as unknown);
    },
  };
}
