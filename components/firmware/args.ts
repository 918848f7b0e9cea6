import { ConfigError } from "../../core/errors.js";
import { describeGiven } from "../../core/validation.js";
import { accountIdProblem, gcpProjectIdProblem, gcpProjectNumberProblem, parseRoleArn, roleArnProblem } from "../access/arns.js";

/**
 * The args of the firmware bucket components and their resolvers: defaults
 * applied, every field checked before any resource exists. Pure (no Pulumi
 * SDK), so the `firmware` stack kind validates a stack without loading a
 * cloud SDK, and tests call these directly. Each check throws `ConfigError`
 * naming the field, what is allowed and what was given.
 */

/** Object Lock / retention default: a year. */
export const DEFAULT_RETENTION_DAYS = 365;
/** The longest retention S3 Object Lock and GCS retention policies take (100 years). */
export const MAX_RETENTION_DAYS = 36_500;

export function checkRetentionDays(value: unknown, max: number = MAX_RETENTION_DAYS): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError("retentionDays", `\`retentionDays\` must be a whole number of days from 1 to ${max}; got ${describeGiven(value)}`);
  }
  return value;
}

/** S3 and Spaces bucket names: 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit, no `..`. */
export function checkBucketName(key: string, value: unknown): string {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) || value.includes("..")) {
    throw new ConfigError(
      key,
      `\`${key}\` must be 3 to 63 characters of lowercase letters, digits, \`.\` and \`-\`, starting and ending with a letter or digit; got ${describeGiven(value)}`,
    );
  }
  return value;
}

// ---- AWS -------------------------------------------------------------------

export interface AwsFirmwareBucketArgs {
  /** The bucket's name (globally unique). Required. */
  bucketName: string;
  /** The only role that may write releases and sign with the signing key. Required. */
  publisherRoleArn: string;
  /** The 12-digit account the bucket lives in; its root administers (but cannot sign with) the keys. Required. */
  accountId: string;
  /**
   * Object Lock default retention, `COMPLIANCE` mode: no one, not even the
   * account root, can delete or overwrite a version before it ends. Defaults to 365 days.
   */
  retentionDays?: number;
  /** Roles that may read releases and fetch the signing key's public key. Defaults to none. */
  readerRoleArns?: readonly string[];
}

export interface ResolvedAwsFirmwareBucketArgs {
  readonly bucketName: string;
  readonly publisherRoleArn: string;
  readonly accountId: string;
  readonly partition: string;
  readonly retentionDays: number;
  readonly readerRoleArns: readonly string[];
}

export function resolveAwsFirmwareBucketArgs(args: AwsFirmwareBucketArgs): ResolvedAwsFirmwareBucketArgs {
  const bucketName = checkBucketName("bucketName", args.bucketName);
  const roleProblem = roleArnProblem(args.publisherRoleArn);
  if (roleProblem) throw new ConfigError("publisherRoleArn", `\`publisherRoleArn\` ${roleProblem}`);
  const accountProblem = accountIdProblem(args.accountId);
  if (accountProblem) throw new ConfigError("accountId", `\`accountId\` ${accountProblem}`);
  const accountId = String(args.accountId);
  const publisher = parseRoleArn(args.publisherRoleArn);
  if (publisher && publisher.accountId !== accountId) {
    throw new ConfigError(
      "publisherRoleArn",
      `\`publisherRoleArn\` must be a role of the bucket's account ${accountId}; got a role of account ${publisher.accountId}`,
    );
  }
  const retentionDays = checkRetentionDays(args.retentionDays ?? DEFAULT_RETENTION_DAYS);
  const readers: unknown = args.readerRoleArns ?? [];
  if (!Array.isArray(readers)) {
    throw new ConfigError("readerRoleArns", `\`readerRoleArns\` must be a list of IAM role ARNs; got ${describeGiven(readers)}`);
  }
  readers.forEach((arn: unknown, index) => {
    const problem = roleArnProblem(arn);
    if (problem) throw new ConfigError(`readerRoleArns[${index}]`, `\`readerRoleArns[${index}]\` ${problem}`);
    if (arn === args.publisherRoleArn) {
      throw new ConfigError(`readerRoleArns[${index}]`, `\`readerRoleArns[${index}]\` is the publisher role, which can already read; remove it`);
    }
  });
  return {
    bucketName,
    publisherRoleArn: args.publisherRoleArn,
    accountId,
    partition: publisher?.partition ?? "aws",
    retentionDays,
    readerRoleArns: readers as string[],
  };
}

// ---- GCP -------------------------------------------------------------------

export interface GcpFirmwareBucketArgs {
  /** The project the bucket and keys live in. Required. */
  projectId: string;
  /** The same project's number; names the Cloud Storage service agent that uses the CMEK key. Required. */
  projectNumber: string;
  /** The bucket's name (globally unique). Required. */
  bucketName: string;
  /** Bucket and key ring location, e.g. `europe-west1`. Required. */
  location: string;
  /** The only principal that may write releases and sign, e.g. `serviceAccount:publisher@p.iam.gserviceaccount.com`. Required. */
  publisherMember: string;
  /** Retention policy: objects cannot be deleted or replaced before this many days. Defaults to 365. */
  retentionDays?: number;
  /**
   * Locks the retention policy. Locking is irreversible: the period can then
   * only grow, and the bucket cannot be deleted while it holds objects younger
   * than the period. Defaults to `true` (the policy pack requires a locked
   * retention); `false` must be written out, e.g. while trying the setup out.
   */
  lockRetention?: boolean;
}

export interface ResolvedGcpFirmwareBucketArgs {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly bucketName: string;
  readonly location: string;
  readonly publisherMember: string;
  readonly retentionDays: number;
  readonly lockRetention: boolean;
}

const GCP_MEMBER_PATTERN = /^(serviceAccount|user|group):[^\s@]+@[^\s@]+$/;
const GCS_BUCKET_PATTERN = /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/;
/** A GCP region (`europe-west1`), the only kind of location the key ring and bucket share here. */
const GCP_REGION_PATTERN = /^[a-z]+-[a-z]+[0-9]+$/;

export function resolveGcpFirmwareBucketArgs(args: GcpFirmwareBucketArgs): ResolvedGcpFirmwareBucketArgs {
  const idProblem = gcpProjectIdProblem(args.projectId);
  if (idProblem) throw new ConfigError("projectId", `\`projectId\` ${idProblem}`);
  const numberProblem = gcpProjectNumberProblem(args.projectNumber);
  if (numberProblem) throw new ConfigError("projectNumber", `\`projectNumber\` ${numberProblem}`);
  if (typeof args.bucketName !== "string" || !GCS_BUCKET_PATTERN.test(args.bucketName) || args.bucketName.startsWith("goog")) {
    throw new ConfigError(
      "bucketName",
      `\`bucketName\` must be 3 to 63 characters of lowercase letters, digits, \`-\` and \`_\`, not starting with "goog"; got ${describeGiven(args.bucketName)}`,
    );
  }
  if (typeof args.location !== "string" || !GCP_REGION_PATTERN.test(args.location)) {
    throw new ConfigError("location", `\`location\` must be a GCP region such as \`europe-west1\`; got ${describeGiven(args.location)}`);
  }
  if (typeof args.publisherMember !== "string" || !GCP_MEMBER_PATTERN.test(args.publisherMember)) {
    throw new ConfigError(
      "publisherMember",
      `\`publisherMember\` must be one IAM member such as \`serviceAccount:publisher@my-project.iam.gserviceaccount.com\`; got ${describeGiven(args.publisherMember)}`,
    );
  }
  const lockRetention: unknown = args.lockRetention ?? true;
  if (typeof lockRetention !== "boolean") {
    throw new ConfigError("lockRetention", `\`lockRetention\` must be true or false; got ${describeGiven(lockRetention)}`);
  }
  return {
    projectId: args.projectId,
    projectNumber: String(args.projectNumber),
    bucketName: args.bucketName,
    location: args.location,
    publisherMember: args.publisherMember,
    retentionDays: checkRetentionDays(args.retentionDays ?? DEFAULT_RETENTION_DAYS),
    lockRetention,
  };
}

// ---- DigitalOcean ----------------------------------------------------------

export interface DigitalOceanFirmwareBucketArgs {
  /** The Space's name (unique within its region's namespace). Required. */
  bucketName: string;
  /** Spaces region, e.g. `fra1`. Required. */
  region: string;
  /**
   * Days after which a replaced (noncurrent) version is removed. Defaults to
   * unset: every version is kept, so a rollback can always find its image.
   */
  noncurrentVersionExpirationDays?: number;
}

export interface ResolvedDigitalOceanFirmwareBucketArgs {
  readonly bucketName: string;
  readonly region: string;
  readonly noncurrentVersionExpirationDays: number | undefined;
}

/** Regions with Spaces. */
export const SPACES_REGIONS = ["ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"] as const;

export function resolveDigitalOceanFirmwareBucketArgs(args: DigitalOceanFirmwareBucketArgs): ResolvedDigitalOceanFirmwareBucketArgs {
  const bucketName = checkBucketName("bucketName", args.bucketName);
  if (!SPACES_REGIONS.includes(args.region as (typeof SPACES_REGIONS)[number])) {
    throw new ConfigError("region", `\`region\` must be a Spaces region (${SPACES_REGIONS.join(", ")}); got ${describeGiven(args.region)}`);
  }
  const days: unknown = args.noncurrentVersionExpirationDays;
  if (days !== undefined && (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)) {
    throw new ConfigError(
      "noncurrentVersionExpirationDays",
      `\`noncurrentVersionExpirationDays\` must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}; got ${describeGiven(days)}`,
    );
  }
  return { bucketName, region: args.region, noncurrentVersionExpirationDays: days };
}
