/**
 * Artifact buckets behind one interface. `create` writes refuse to replace an
 * object (images, manifests and rollback records are immutable: the
 * append-only log is one create-only object per record); only the channel
 * pointer is overwritten.
 *
 * - `file:///abs/dir`: a local directory (tests, air-gapped signing hosts).
 * - `s3://bucket[/prefix]?region=..&sse=aws:kms|none&kmsKeyId=..&endpoint=..`:
 *   AWS S3 (SSE-KMS requested on every put by default, which the ClawStack bucket
 *   policy requires), or any S3-compatible store with `endpoint`, e.g. DigitalOcean
 *   Spaces `s3://my-space?endpoint=https://nyc3.digitaloceanspaces.com&region=us-east-1&sse=none`.
 * - `gs://bucket[/prefix][?kmsKeyName=..&endpoint=..]`: Cloud Storage
 *   (`@google-cloud/storage`, loaded only for gs:// URLs). Every write is
 *   create-only (`ifGenerationMatch: 0`), because the ClawStack bucket's
 *   retention policy forbids replacing any object; moving a channel pointer
 *   (`current.json`, the only `overwrite` write) therefore creates
 *   `<key>.d/<12-digit n+1>` where n is the number this run read (a lost race
 *   is refused, never silently reordered), and a read of the pointer returns
 *   the newest. CMEK comes from the bucket default or `kmsKeyName`; `endpoint`
 *   is for emulators (unauthenticated).
 */
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type PutObjectCommandInput } from "@aws-sdk/client-s3";
import type { Storage } from "@google-cloud/storage";
import { FirmwareCheckError, FirmwareUsageError } from "./errors";

export type WriteMode = "create" | "overwrite";

export interface ArtifactBucket {
  /** The URL it was opened from, for messages. */
  readonly location: string;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** `create` throws `FirmwareCheckError("object exists")` when the key exists. */
  put(key: string, body: Buffer, options: { contentType: string; mode: WriteMode }): Promise<void>;
  /** Keys under `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

const KEY_SEGMENT = /^[A-Za-z0-9._+-]+$/;

/** Keys are `/`-separated segments of safe characters; no `.`/`..`, no leading slash. */
export function checkKey(key: string): string {
  const segments = key.split("/");
  if (segments.some((segment) => !KEY_SEGMENT.test(segment) || segment === "." || segment === "..")) {
    throw new FirmwareUsageError(`bucket key ${JSON.stringify(key)} must be /-separated segments of letters, digits, '.', '_', '+', '-'`);
  }
  return key;
}

function objectExists(location: string, key: string): FirmwareCheckError {
  return new FirmwareCheckError("object exists", `${location} already holds ${key}; published objects are never replaced`);
}

export class LocalDirBucket implements ArtifactBucket {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root.endsWith("/") ? root : `${root}/`}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return readFileSync(join(this.root, checkKey(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async put(key: string, body: Buffer, options: { contentType: string; mode: WriteMode }): Promise<void> {
    const path = join(this.root, checkKey(key));
    mkdirSync(dirname(path), { recursive: true });
    // Write a temporary file, then link (create: fails atomically if the key exists) or rename (overwrite).
    const temporary = `${path}.tmp-${randomBytes(6).toString("hex")}`;
    writeFileSync(temporary, body, { flag: "wx", mode: 0o644 });
    try {
      if (options.mode === "create") {
        try {
          linkSync(temporary, path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") throw objectExists(this.location, key);
          throw error;
        }
      } else {
        renameSync(temporary, path);
      }
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = (directory: string): void => {
      let entries;
      try {
        entries = readdirSync(directory, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (!entry.name.includes(".tmp-")) keys.push(relative(this.root, path).split(sep).join("/"));
      }
    };
    walk(this.root);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }
}

export interface S3BucketOptions {
  bucket: string;
  /** Key prefix inside the bucket, without trailing slash; defaults to none. */
  prefix?: string;
  /** Server-side encryption requested on each put; defaults to `aws:kms`. */
  sse?: "aws:kms" | "none";
  /** The KMS key for SSE-KMS; defaults to the bucket's default key. */
  kmsKeyId?: string;
}

export class S3Bucket implements ArtifactBucket {
  readonly location: string;
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3BucketOptions,
  ) {
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, "")}/` : "";
    this.location = `s3://${options.bucket}/${this.prefix}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.prefix + checkKey(key) }));
      if (!response.Body) return undefined;
      return Buffer.from(await response.Body.transformToByteArray());
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw error;
    }
  }

  async put(key: string, body: Buffer, options: { contentType: string; mode: WriteMode }): Promise<void> {
    const input: PutObjectCommandInput = {
      Bucket: this.options.bucket,
      Key: this.prefix + checkKey(key),
      Body: body,
      ContentType: options.contentType,
    };
    // S3 conditional write: the put fails with 412 when the key exists.
    if (options.mode === "create") input.IfNoneMatch = "*";
    if ((this.options.sse ?? "aws:kms") === "aws:kms") {
      input.ServerSideEncryption = "aws:kms";
      if (this.options.kmsKeyId) input.SSEKMSKeyId = this.options.kmsKeyId;
    }
    try {
      await this.client.send(new PutObjectCommand(input));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const name = (error as { name?: string }).name;
      if (options.mode === "create" && (status === 412 || name === "PreconditionFailed")) throw objectExists(this.location, key);
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const response = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const object of response.Contents ?? []) {
        if (object.Key) keys.push(object.Key.slice(this.prefix.length));
      }
      token = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}

export interface GcsBucketOptions {
  bucket: string;
  /** Object name prefix inside the bucket, without trailing slash; defaults to none. */
  prefix?: string;
  /** A Cloud KMS key for every object; defaults to the bucket's default key (CMEK). */
  kmsKeyName?: string;
}

/** Digits of the pointer sequence numbers (`<key>.d/000000000001`): sorts as text. */
const SEQUENCE_DIGITS = 12;
const SEQUENCE = /^\d{12}$/;
const MAX_SEQUENCE = 10 ** SEQUENCE_DIGITS - 1;
/** The only keys written in `overwrite` mode: channel pointers. */
const POINTER_KEY = /(^|\/)current\.json$/;

export class GcsBucket implements ArtifactBucket {
  readonly location: string;
  private readonly prefix: string;
  /** The pointer sequence number each pointer key had when this process last read it (0: none yet). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly storage: Storage,
    private readonly options: GcsBucketOptions,
  ) {
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, "")}/` : "";
    this.location = `gs://${options.bucket}/${this.prefix}`;
  }

  private file(key: string) {
    return this.storage.bucket(this.options.bucket).file(this.prefix + key, this.options.kmsKeyName ? { kmsKeyName: this.options.kmsKeyName } : {});
  }

  /** The newest sequence number written for a pointer key (0 when none). */
  private async latest(key: string): Promise<number> {
    const directory = `${key}.d/`;
    let newest = 0;
    for (const name of await this.list(directory)) {
      const suffix = name.slice(directory.length);
      if (SEQUENCE.test(suffix)) newest = Math.max(newest, Number(suffix));
    }
    return newest;
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    let name = key;
    if (POINTER_KEY.test(key)) {
      const latest = await this.latest(key);
      this.seen.set(key, latest);
      if (latest === 0) return undefined;
      name = `${key}.d/${String(latest).padStart(SEQUENCE_DIGITS, "0")}`;
    }
    try {
      const [contents] = await this.file(name).download();
      return contents;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async put(key: string, body: Buffer, options: { contentType: string; mode: WriteMode }): Promise<void> {
    checkKey(key);
    if (options.mode === "create") {
      if (!(await this.create(key, body, options.contentType))) throw objectExists(this.location, key);
      return;
    }
    if (!POINTER_KEY.test(key)) throw new FirmwareUsageError(`${this.location}${key}: on gs:// only channel pointers (current.json) are moved; everything else is create-only`);
    // The retention policy refuses replacements: the pointer is the next number after the one this run read
    // (compare-and-swap). Another publisher taking that number first means this run's checks were made against
    // a pointer that is no longer current: refuse, and let the command run again against the new one.
    const base = this.seen.get(key) ?? (await this.latest(key));
    const next = base + 1;
    if (next > MAX_SEQUENCE) throw new FirmwareCheckError("pointer race", `${this.location}${key}: the pointer sequence is exhausted`);
    if (!(await this.create(`${key}.d/${String(next).padStart(SEQUENCE_DIGITS, "0")}`, body, options.contentType))) {
      throw new FirmwareCheckError("pointer race", `${this.location}${key}: another publish or rollback moved the channel at the same time; run the command again`);
    }
    this.seen.set(key, next);
  }

  /** Writes `name` only if it does not exist yet; false when it does. */
  private async create(name: string, body: Buffer, contentType: string): Promise<boolean> {
    try {
      await this.file(name).save(body, { resumable: false, contentType, preconditionOpts: { ifGenerationMatch: 0 } });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 412) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const [files] = await this.storage.bucket(this.options.bucket).getFiles({ prefix: this.prefix + prefix, autoPaginate: true });
    return files.map((file) => file.name.slice(this.prefix.length)).sort();
  }
}

/** Opens a bucket from its URL (see the file comment). The clients are for tests. */
export function openBucket(url: string, dependencies: { s3Client?: S3Client; gcsStorage?: Storage } = {}): ArtifactBucket {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FirmwareUsageError(`\`--bucket\` must be a file://, s3:// or gs:// URL; given ${JSON.stringify(url)}`);
  }
  switch (parsed.protocol) {
    case "file:":
      return new LocalDirBucket(fileURLToPath(parsed));
    case "s3:": {
      const sse = parsed.searchParams.get("sse") ?? "aws:kms";
      if (sse !== "aws:kms" && sse !== "none") {
        throw new FirmwareUsageError(`\`sse\` in the bucket URL must be aws:kms or none; given ${sse}`);
      }
      const endpoint = parsed.searchParams.get("endpoint") ?? undefined;
      const region = parsed.searchParams.get("region") ?? undefined;
      const client = dependencies.s3Client ?? new S3Client({ ...(region ? { region } : {}), ...(endpoint ? { endpoint, forcePathStyle: false } : {}) });
      const options: S3BucketOptions = { bucket: parsed.hostname, sse };
      const prefix = parsed.pathname.replace(/^\/+/, "");
      if (prefix) options.prefix = prefix;
      const kmsKeyId = parsed.searchParams.get("kmsKeyId");
      if (kmsKeyId) options.kmsKeyId = kmsKeyId;
      return new S3Bucket(client, options);
    }
    case "gs:": {
      if (!parsed.hostname) throw new FirmwareUsageError(`\`--bucket\`: gs:// needs a bucket name (gs://<bucket>[/prefix]); given ${JSON.stringify(url)}`);
      const endpoint = parsed.searchParams.get("endpoint") ?? undefined;
      const storage = dependencies.gcsStorage ?? defaultStorage(endpoint);
      const options: GcsBucketOptions = { bucket: parsed.hostname };
      const prefix = parsed.pathname.replace(/^\/+/, "");
      if (prefix) options.prefix = prefix;
      const kmsKeyName = parsed.searchParams.get("kmsKeyName");
      if (kmsKeyName) options.kmsKeyName = kmsKeyName;
      return new GcsBucket(storage, options);
    }
    default:
      throw new FirmwareUsageError(`\`--bucket\` must be a file://, s3:// or gs:// URL; given protocol ${parsed.protocol}`);
  }
}

/** Cloud Storage with Application Default Credentials, or an emulator at `endpoint` (no credentials sent). */
function defaultStorage(endpoint: string | undefined): Storage {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand: only gs:// URLs need it
  const { Storage: StorageClient } = require("@google-cloud/storage") as typeof import("@google-cloud/storage");
  if (!endpoint) return new StorageClient();
  if (!/^https?:\/\//.test(endpoint)) throw new FirmwareUsageError(`\`endpoint\` in the bucket URL must be an http(s) URL; given ${endpoint}`);
  return new StorageClient({ apiEndpoint: endpoint, projectId: "emulator", useAuthWithCustomEndpoint: false });
}
