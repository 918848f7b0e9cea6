/**
 * Where stacks live on a worker's disk and in the state backend, resolved once
 * at boot from the deployment's stack variables (`ApiConfig.stackEnv`, picked
 * from the environment by `api/config.ts`). Per-request values never go
 * through `process.env`: the engine passes them to each workspace.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export interface StackLayout {
  /** Root of per-stack work directories: `<dataDir>/stacks/<stackName>`. */
  stacksDir: string;
  /** This worker's own `PULUMI_HOME` (plugins are installed here ahead of time). */
  pulumiHome: string;
  /** `PULUMI_BACKEND_URL`: `file://` (absolute), `s3://`, `gs://`, `azblob://` or `postgres://`. */
  backendUrl: string;
  /** `passphrase` or a KMS URL (`awskms://`, `gcpkms://`, `azurekeyvault://`, `hashivault://`). */
  secretsProvider: string;
  /**
   * Deployment-level secret environment for every workspace: the passphrase
   * (when the secrets provider is `passphrase`). Never logged.
   */
  secretEnv: Record<string, string>;
}

/** The variables a stack layout is made of (`STACK_ENV_KEYS`); `HOME` expands `~` in a `file://` backend. */
export const STACK_ENV_KEYS = [
  "CLAWSTACK_DATA_DIR",
  "PULUMI_BACKEND_URL",
  "PULUMI_HOME",
  "CLAWSTACK_SECRETS_PROVIDER",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
  "HOME",
] as const;
export type StackEnvironment = Partial<Record<(typeof STACK_ENV_KEYS)[number], string>>;

export interface StackLayoutOptions {
  /** Data directory (default `./data`). */
  dataDir?: string;
  /** Worker identity, used to keep one `PULUMI_HOME` per worker. */
  workerName?: string;
  /** The stack variables (`ApiConfig.stackEnv`); read once, never written. */
  env: StackEnvironment;
}

const SECRETS_PROVIDER_PATTERN = /^(passphrase|awskms:\/\/.+|gcpkms:\/\/.+|azurekeyvault:\/\/.+|hashivault:\/\/.+)$/;

/**
 * Reads `PULUMI_BACKEND_URL` (default `file://<dataDir>/state`, i.e. `./data/state`), `PULUMI_HOME`
 * (default `<dataDir>/pulumi-home/<worker>`), `CLAWSTACK_SECRETS_PROVIDER`
 * (default `passphrase`) and `PULUMI_CONFIG_PASSPHRASE[_FILE]`.
 */
export function resolveStackLayout(options: StackLayoutOptions): StackLayout {
  const env = options.env;
  const dataDir = resolve(options.dataDir ?? env.CLAWSTACK_DATA_DIR ?? "./data");
  const workerName = options.workerName ?? hostname();
  const secretsProvider = env.CLAWSTACK_SECRETS_PROVIDER ?? "passphrase";
  if (!SECRETS_PROVIDER_PATTERN.test(secretsProvider)) {
    throw new Error(
      "`CLAWSTACK_SECRETS_PROVIDER` must be `passphrase` or a KMS URL (awskms://, gcpkms://, azurekeyvault://, hashivault://); " +
        `got ${JSON.stringify(secretsProvider)}`,
    );
  }
  const secretEnv: Record<string, string> = {};
  if (secretsProvider === "passphrase") {
    if (env.PULUMI_CONFIG_PASSPHRASE) secretEnv.PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE;
    else if (env.PULUMI_CONFIG_PASSPHRASE_FILE) secretEnv.PULUMI_CONFIG_PASSPHRASE_FILE = resolve(env.PULUMI_CONFIG_PASSPHRASE_FILE);
  }
  return {
    stacksDir: join(dataDir, "stacks"),
    pulumiHome: resolve(env.PULUMI_HOME ?? join(dataDir, "pulumi-home", safeSegment(workerName))),
    backendUrl: resolveBackendUrl(env.PULUMI_BACKEND_URL ?? `file://${join(dataDir, "state")}`, env.HOME),
    secretsProvider,
    secretEnv,
  };
}

/**
 * `file://` URLs are made absolute: each stack runs in its own work directory,
 * so a relative path would point at a different folder for every stack.
 */
export function resolveBackendUrl(url: string, home: string | undefined): string {
  if (!url.startsWith("file://")) {
    if (!/^(s3|gs|azblob|postgres|postgresql|https?):\/\//.test(url)) {
      throw new Error(
        "`PULUMI_BACKEND_URL` must be file://, s3://, gs://, azblob://, postgres:// or a Pulumi Cloud URL; " +
          `got a value starting with ${JSON.stringify(url.split(":")[0])}`,
      );
    }
    return url;
  }
  const path = url.slice("file://".length).replace(/^~(?=\/|$)/, home ?? "~");
  const absolute = isAbsolute(path) ? path : resolve(path);
  mkdirSync(absolute, { recursive: true });
  return pathToFileURL(absolute).href;
}

/** The work directory of one stack; created on first use. */
export function stackWorkDir(layout: Pick<StackLayout, "stacksDir">, stackName: string): string {
  const dir = join(layout.stacksDir, safeSegment(stackName));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A path segment that cannot escape its parent folder. */
function safeSegment(value: string): string {
  if (/^[A-Za-z0-9_.-]+$/.test(value) && value !== "." && value !== "..") return value;
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}
