/**
 * `clawchat init` and `clawchat issue`: the security directory (mode 700), the
 * bootstrap key and the security files (protocol §10). Prints paths, never key
 * material; bad input is a `ConfigError` naming the flag.
 */
import { createSocket } from "node:dgram";
import { promises as fs } from "node:fs";
import { networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import { integer, type Flag, type Values } from "./cli-args";
import { ConfigError } from "./errors";
import { checkSecurityDirectory, issueSecurityFile, listSecurityFiles, loadSecurityFile, readBootstrapKey, writeSecretFile } from "./security-dir";
import { BOOTSTRAP_KEY_FILE, DEFAULT_ITERATIONS, generateBootstrapKey } from "./security-file";

/** The first non-internal IPv4 address: a default only; clouds with NAT need `--server-ip`. */
function guessServerIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

/** §7.3 for the home port: a random free UDP port from 49152-65535. */
async function pickFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = 49152 + Math.floor(Math.random() * (65535 - 49152 + 1));
    const free = await new Promise<boolean>((resolvePort) => {
      const socket = createSocket("udp4");
      socket.once("error", () => resolvePort(false));
      socket.bind(port, "0.0.0.0", () => socket.close(() => resolvePort(true)));
    });
    if (free) return port;
  }
  throw new Error("could not find a free UDP port in 49152-65535");
}

interface IssueFlags {
  dir: string;
  serverIp?: string;
  port?: number;
  name: string;
  validDays: number;
  iterations: number;
}

function issueFlags(values: Values): IssueFlags {
  return {
    dir: values.dir as string,
    serverIp: values["server-ip"],
    port: integer("port", 1, 65535, values.port),
    name: values.name as string,
    validDays: integer("valid-days", 1, 365, values["valid-days"]) as number,
    iterations: integer("iterations", 100_000, 10_000_000, values.iterations) as number,
  };
}

async function ensureDirectory(dir: string): Promise<void> {
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700).catch(() => undefined);
  await checkSecurityDirectory(dir);
}

/** `clawchat init`: idempotent; on a directory with a bootstrap key it verifies the newest file and changes nothing. */
export async function init(values: Values): Promise<void> {
  const flags = issueFlags(values);
  const dir = resolve(flags.dir);
  const existed = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (existed) await checkSecurityDirectory(dir);
  else await ensureDirectory(dir);
  const keyPath = join(dir, BOOTSTRAP_KEY_FILE);
  const keyExists = await fs.stat(keyPath).then(
    () => true,
    () => false,
  );
  if (keyExists) {
    // Idempotent for first-boot scripts: verify what is there, change nothing.
    const key = await readBootstrapKey(keyPath);
    const [newest] = await listSecurityFiles(dir);
    if (!newest) throw new ConfigError("dir", `\`--dir\` ${dir} has a bootstrap key but no security file; run \`clawchat issue --dir ${dir}\``);
    await loadSecurityFile(newest, key);
    process.stdout.write(`already initialised: ${dir} (bootstrap key and ${newest.slice(dir.length + 1)} verified); nothing changed\n`);
    return;
  }
  const key = generateBootstrapKey();
  await writeSecretFile(dir, BOOTSTRAP_KEY_FILE, `${key.toString("base64")}\n`);
  const issued = await issue(dir, key, flags);
  key.fill(0);
  process.stdout.write(
    `initialised ${dir}\n  bootstrap key: ${keyPath} (mode 600)\n  security file: ${issued} (mode 600)\n` +
      `Transfer both to the client out of band (USB, an end-to-end encrypted messenger), separately if you can.\n`,
  );
}

async function issue(dir: string, key: Buffer, flags: IssueFlags): Promise<string> {
  const serverIp = flags.serverIp ?? guessServerIp();
  const port = flags.port ?? (await pickFreePort());
  const { path, content } = await issueSecurityFile(dir, key, {
    serverIp,
    port,
    name: flags.name,
    validitySeconds: flags.validDays * 86_400,
    iterations: flags.iterations,
    nowMs: Date.now(),
  });
  process.stderr.write(`security file for ${content.server_public_ip}:${content.server_udp_port}, valid until ${new Date(content.valid_until * 1000).toISOString()}\n`);
  return path;
}

export const ISSUE_FLAGS: Flag[] = [
  { name: "dir", value: "<dir>", help: "security directory (created with mode 700)", required: true },
  { name: "server-ip", value: "<ip>", help: "address clients connect to (default: first non-loopback IPv4; give the public IP behind NAT)" },
  { name: "port", value: "<n>", help: "home UDP port written into the file (default: a free port in 49152-65535)" },
  { name: "name", value: "<name>", help: "server name shown to clients", default: "OpenClaw" },
  { name: "valid-days", value: "<n>", help: "days a security file admits new sessions (valid_until)", default: "7" },
  { name: "iterations", value: "<n>", help: "PBKDF2-HMAC-SHA256 iterations", default: String(DEFAULT_ITERATIONS) },
];

/** `clawchat issue`: a further security file (new shared secret) in an existing directory. */
export async function issueAnother(values: Values): Promise<void> {
  const flags = issueFlags(values);
  const dir = resolve(flags.dir);
  await checkSecurityDirectory(dir);
  const key = await readBootstrapKey(join(dir, BOOTSTRAP_KEY_FILE));
  process.stdout.write(`${await issue(dir, key, flags)}\n`);
  key.fill(0);
}
