import { ConfigError } from "../../program/errors.js";
import type { StackKind } from "../../program/kinds.js";
import { rejectUnknownKeys } from "../access/kinds.js";
import { AwsFirmwareBucket, resolveAwsFirmwareBucketArgs, type AwsFirmwareBucketArgs } from "./aws.js";
import {
  DigitalOceanFirmwareBucket,
  resolveDigitalOceanFirmwareBucketArgs,
  type DigitalOceanFirmwareBucketArgs,
} from "./digitalocean.js";
import { GcpFirmwareBucket, resolveGcpFirmwareBucketArgs, type GcpFirmwareBucketArgs } from "./gcp.js";

export type FirmwareStackConfig =
  | ({ cloud: "aws" } & AwsFirmwareBucketArgs)
  | ({ cloud: "gcp" } & GcpFirmwareBucketArgs)
  | ({ cloud: "digitalocean" } & DigitalOceanFirmwareBucketArgs);

const KEYS = {
  aws: ["bucketName", "publisherRoleArn", "accountId", "retentionDays", "readerRoleArns"],
  gcp: ["projectId", "projectNumber", "bucketName", "location", "publisherMember", "retentionDays", "lockRetention"],
  digitalocean: ["bucketName", "region", "noncurrentVersionExpirationDays"],
} as const;

function asDigits(value: unknown): unknown {
  // YAML reads an unquoted account ID or project number as a number.
  return typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
}

export const firmwareKind: StackKind<FirmwareStackConfig> = {
  kind: "firmware",
  description: "A signed-firmware release bucket with its signing key (AWS S3 + KMS, GCS + Cloud KMS, or DigitalOcean Spaces).",
  parse(raw) {
    const cloud = raw.cloud;
    if (cloud !== "aws" && cloud !== "gcp" && cloud !== "digitalocean") {
      throw new ConfigError("cloud", `\`cloud\` must be one of \`aws\`, \`gcp\`, \`digitalocean\`; got ${JSON.stringify(cloud)}`);
    }
    const { cloud: _cloud, ...rest } = raw;
    rejectUnknownKeys(rest, KEYS[cloud]);
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
    }
  },
  run(config) {
    switch (config.cloud) {
      case "aws": {
        const { cloud: _cloud, ...args } = config;
        const bucket = new AwsFirmwareBucket("firmware", args);
        return { bucketName: bucket.bucketName, signingKeyArn: bucket.signingKeyArn, dataKeyArn: bucket.dataKeyArn };
      }
      case "gcp": {
        const { cloud: _cloud, ...args } = config;
        const bucket = new GcpFirmwareBucket("firmware", args);
        return { bucketName: bucket.bucketName, signingKeyId: bucket.signingKeyId, encryptionKeyId: bucket.encryptionKeyId };
      }
      case "digitalocean": {
        const { cloud: _cloud, ...args } = config;
        const bucket = new DigitalOceanFirmwareBucket("firmware", args);
        return { bucketName: bucket.bucketName, endpoint: bucket.endpoint, signing: bucket.signing };
      }
      default: {
        const unknown: never = config;
        throw new Error(`unknown cloud in ${JSON.stringify(unknown)}`);
      }
    }
  },
};
