import { ConfigError } from "../../core/errors.js";
import type { CloudName } from "../../core/presets.js";
import type { StackKind } from "../../core/stack-kind.js";
import { describeGiven, parseObject, parseOneOf } from "../../core/validation.js";
import {
  type AwsFirmwareBucketArgs,
  type DigitalOceanFirmwareBucketArgs,
  type GcpFirmwareBucketArgs,
  resolveAwsFirmwareBucketArgs,
  resolveDigitalOceanFirmwareBucketArgs,
  resolveGcpFirmwareBucketArgs,
} from "./args.js";

/** The validated config of a `firmware` stack: one cloud's bucket args, as plain data. */
export type FirmwareStackConfig =
  | ({ cloud: "aws" } & AwsFirmwareBucketArgs)
  | ({ cloud: "gcp" } & GcpFirmwareBucketArgs)
  | ({ cloud: "digitalocean" } & DigitalOceanFirmwareBucketArgs);

/** The cloud union (`core/presets.ts`), in the order firmware stacks list it. */
const FIRMWARE_CLOUDS = ["aws", "gcp", "digitalocean"] as const satisfies readonly CloudName[];

/**
 * Every `clawstack:*` key a firmware stack accepts per cloud (prefix stripped).
 * `policyExemptions` is read by the policy review only (docs/policies.md).
 */
export const FIRMWARE_CONFIG_KEYS = {
  aws: ["bucketName", "publisherRoleArn", "accountId", "retentionDays", "readerRoleArns"],
  gcp: ["projectId", "projectNumber", "bucketName", "location", "publisherMember", "retentionDays", "lockRetention"],
  digitalocean: ["bucketName", "region", "noncurrentVersionExpirationDays"],
} as const;
const COMMON_KEYS = ["kind", "cloud", "policyExemptions"] as const;

/** YAML reads an unquoted account ID or project number as a number. */
function asDigits(value: unknown): unknown {
  return typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
}

/**
 * Validates a firmware stack's config: the cloud, then only that cloud's keys
 * (a key of another cloud is refused by name), then the bucket args with the
 * component's own resolver, so `parse` and the component never disagree.
 */
export function parseFirmwareConfig(raw: Record<string, unknown>): FirmwareStackConfig {
  const cloud = parseOneOf("cloud", raw.cloud, FIRMWARE_CLOUDS);
  parseObject("", raw, [...COMMON_KEYS, ...FIRMWARE_CONFIG_KEYS[cloud]]);
  if (raw.policyExemptions !== undefined && !Array.isArray(raw.policyExemptions)) {
    throw new ConfigError(
      "policyExemptions",
      `\`policyExemptions\` must be a list of {policy, resource, reason, expires}; got ${describeGiven(raw.policyExemptions)}`,
    );
  }
  const { kind: _kind, cloud: _cloud, policyExemptions: _exemptions, ...rest } = raw;
  switch (cloud) {
    case "aws": {
      const args = { ...rest, accountId: asDigits(rest.accountId) } as unknown as AwsFirmwareBucketArgs;
      resolveAwsFirmwareBucketArgs(args);
      return { cloud, ...args };
    }
    case "gcp": {
      const args = { ...rest, projectNumber: asDigits(rest.projectNumber) } as unknown as GcpFirmwareBucketArgs;
      resolveGcpFirmwareBucketArgs(args);
      return { cloud, ...args };
    }
    case "digitalocean": {
      const args = rest as unknown as DigitalOceanFirmwareBucketArgs;
      resolveDigitalOceanFirmwareBucketArgs(args);
      return { cloud, ...args };
    }
    default: {
      const unknown: never = cloud;
      throw new ConfigError("cloud", `unknown cloud ${String(unknown)}`);
    }
  }
}

/**
 * Stands up the firmware bucket of the chosen cloud. The cloud's provider
 * comes from the stack's own provider config (`aws:region`, Spaces keys in
 * `digitalocean:spacesAccessId`/`spacesSecretKey`); GCP resources name their
 * project and location explicitly. Only the chosen cloud's SDK is loaded.
 */
export async function firmwareStack(config: FirmwareStackConfig): Promise<Record<string, unknown>> {
  switch (config.cloud) {
    case "aws": {
      const { cloud: _cloud, ...args } = config;
      const { AwsFirmwareBucket } = await import("./aws.js");
      const bucket = new AwsFirmwareBucket("firmware", args);
      return { cloud: "aws", bucketName: bucket.bucketName, bucketArn: bucket.bucketArn, signingKeyArn: bucket.signingKeyArn, dataKeyArn: bucket.dataKeyArn };
    }
    case "gcp": {
      const { cloud: _cloud, ...args } = config;
      const { GcpFirmwareBucket } = await import("./gcp.js");
      const bucket = new GcpFirmwareBucket("firmware", args);
      return { cloud: "gcp", bucketName: bucket.bucketName, signingKeyId: bucket.signingKeyId, encryptionKeyId: bucket.encryptionKeyId };
    }
    case "digitalocean": {
      const { cloud: _cloud, ...args } = config;
      const { DigitalOceanFirmwareBucket } = await import("./digitalocean.js");
      const bucket = new DigitalOceanFirmwareBucket("firmware", args);
      return { cloud: "digitalocean", bucketName: bucket.bucketName, endpoint: bucket.endpoint, signing: bucket.signing };
    }
    default: {
      const unknown: never = config;
      throw new Error(`unknown cloud in ${JSON.stringify(unknown)}`);
    }
  }
}

/** The `firmware` stack kind: a signed-firmware release bucket and its keys. */
export const firmwareKind: StackKind<FirmwareStackConfig> = {
  kind: "firmware",
  description: "A signed-firmware release bucket with its keys (AWS S3 + KMS, GCS + Cloud KMS, or DigitalOcean Spaces with a local key)",
  parse: parseFirmwareConfig,
  run: firmwareStack,
};
