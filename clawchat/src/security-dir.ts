/**
 * The security directory of seed 002 §6 on disk: the directory (mode 700), the
 * bootstrap key and the security files (mode 600), written atomically (temporary
 * file, fsync, then a link that never replaces an existing file) and read back
 * after their permissions are checked. Refusals are `ConfigError`s naming the field.
 */
import { randomUUID } from "node:crypto";
import { constants as fsConstants, promises as fs } from "node:fs";
import { basename, join } from "node:path";
import { ConfigError } from "./errors";
import { buildContent, decryptSecurityFile, DEFAULT_ITERATIONS, encryptSecurityFile, SECURITY_FILE_PATTERN, securityFileName, type IssueOptions, type SecurityFileContent } from "./security-file";

/** Refuses a security directory that is not a directory, not ours, or open to group/others (must be 700). */
export async function checkSecurityDirectory(dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) throw new ConfigError("dir", `\`--dir\` ${dir} does not exist; run \`clawchat init --dir ${dir}\` first`);
  if (!stat.isDirectory()) throw new ConfigError("dir", `\`--dir\` ${dir} is not a directory`);
  const mode = stat.mode & 0o777;
  if (mode !== 0o700) {
    throw new ConfigError("dir", `\`--dir\` ${dir} has mode ${mode.toString(8).padStart(3, "0")}; it must be 700 (owner only). Fix with: chmod 700 ${dir}`);
  }
  if (typeof process.getuid === "function" && stat.uid !== process.getuid()) {
    throw new ConfigError("dir", `\`--dir\` ${dir} is owned by uid ${stat.uid}, not by the user running clawchat (uid ${process.getuid()})`);
  }
}

/** Refuses a key or security file readable or writable by group/others (must be 600 or 400). */
export async function checkSecretFile(path: string, field: string): Promise<void> {
  const stat = await fs.stat(path).catch(() => undefined);
  if (!stat) throw new ConfigError(field, `\`${field}\` ${path} does not exist`);
  if (!stat.isFile()) throw new ConfigError(field, `\`${field}\` ${path} is not a regular file`);
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(field, `\`${field}\` ${path} has mode ${mode.toString(8).padStart(3, "0")}; it must be 600 (owner only). Fix with: chmod 600 ${path}`);
  }
  if (typeof process.getuid === "function" && stat.uid !== process.getuid()) {
    throw new ConfigError(field, `\`${field}\` ${path} is owned by uid ${stat.uid}, not by the user running clawchat (uid ${process.getuid()})`);
  }
}

export async function readBootstrapKey(path: string): Promise<Buffer> {
  await checkSecretFile(path, "bootstrap-key");
  const text = (await fs.readFile(path, "utf8")).trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new ConfigError("bootstrap-key", `\`bootstrap-key\` ${path} must hold 32 bytes in base64; got ${key.length} bytes`);
  }
  return key;
}

/** Writes `data` to `dir/name` with mode 600: temporary file, fsync, then a link that fails if the name exists (nothing is ever overwritten). */
export async function writeSecretFile(dir: string, name: string, data: string): Promise<string> {
  const target = join(dir, name);
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
  const handle = await fs.open(temporary, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temporary, target);
  } finally {
    await fs.unlink(temporary);
  }
  return target;
}

/** Encrypts a fresh security file into `dir`, named after its `valid_from` (one second later if that name is taken). */
export async function issueSecurityFile(dir: string, bootstrapKey: Buffer, options: IssueOptions): Promise<{ path: string; content: SecurityFileContent }> {
  const content = buildContent(bootstrapKey, options);
  const pkg = await encryptSecurityFile(content, bootstrapKey, { iterations: options.iterations ?? DEFAULT_ITERATIONS, timestamp: options.nowMs / 1000 });
  for (let offset = 0; offset < 60; offset++) {
    try {
      const path = await writeSecretFile(dir, securityFileName(content.valid_from + offset), `${JSON.stringify(pkg)}\n`);
      return { path, content };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  throw new Error(`could not find a free security file name in ${dir}`);
}

/** Security files in `dir`, newest name first. */
export async function listSecurityFiles(dir: string): Promise<string[]> {
  const names = (await fs.readdir(dir)).filter((name) => SECURITY_FILE_PATTERN.test(name));
  return names.sort().reverse().map((name) => join(dir, name));
}

export interface LoadedSecurityFile {
  readonly path: string;
  readonly content: SecurityFileContent;
}

/** Reads and decrypts one security file after checking its permissions. */
export async function loadSecurityFile(path: string, bootstrapKey: Buffer): Promise<LoadedSecurityFile> {
  await checkSecretFile(path, "security-file");
  const text = await fs.readFile(path, "utf8");
  return { path, content: await decryptSecurityFile(text, bootstrapKey, basename(path)) };
}
