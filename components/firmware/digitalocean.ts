import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../program/errors.js";
import { checkBucketName } from "./validation.js";

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

const SPACES_REGIONS = ["ams3", "atl1", "blr1", "fra1", "lon1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"] as const;

export function resolveDigitalOceanFirmwareBucketArgs(args: DigitalOceanFirmwareBucketArgs): Required<Pick<DigitalOceanFirmwareBucketArgs, "bucketName" | "region">> & {
  noncurrentVersionExpirationDays: number | undefined;
} {
  const bucketName = checkBucketName("bucketName", args.bucketName);
  if (!SPACES_REGIONS.includes(args.region as (typeof SPACES_REGIONS)[number])) {
    throw new ConfigError("region", `\`region\` must be a Spaces region (${SPACES_REGIONS.join(", ")}); got ${JSON.stringify(args.region)}`);
  }
  const days = args.noncurrentVersionExpirationDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) {
    throw new ConfigError(
      "noncurrentVersionExpirationDays",
      `\`noncurrentVersionExpirationDays\` must be a whole number of days, at least 1; got ${JSON.stringify(days)}`,
    );
  }
  return { bucketName, region: args.region, noncurrentVersionExpirationDays: days };
}

/**
 * A private, versioned Spaces bucket for signed firmware releases.
 * DigitalOcean has no managed signing keys: images are signed with a local key
 * (`npm run firmware -- sign`, the default backend) before upload. Spaces needs
 * Spaces access keys (not the API token) in the provider configuration.
 */
export class DigitalOceanFirmwareBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  /** How releases in this bucket are signed: always `local-key` on DigitalOcean. */
  readonly signing: pulumi.Output<string>;

  constructor(name: string, args: DigitalOceanFirmwareBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    const resolved = resolveDigitalOceanFirmwareBucketArgs(args);
    super("clawstack:firmware:DigitalOceanFirmwareBucket", name, {}, opts);

    const bucket = new digitalocean.SpacesBucket(
      `${name}-bucket`,
      {
        name: resolved.bucketName,
        region: resolved.region,
        acl: "private",
        forceDestroy: false,
        versioning: { enabled: true },
        ...(resolved.noncurrentVersionExpirationDays === undefined
          ? {}
          : {
              lifecycleRules: [
                {
                  id: "expire-replaced-versions",
                  enabled: true,
                  noncurrentVersionExpiration: { days: resolved.noncurrentVersionExpirationDays },
                },
              ],
            }),
      },
      { parent: this },
    );

    this.bucketName = bucket.name;
    this.endpoint = pulumi.output(`https://${resolved.region}.digitaloceanspaces.com`);
    this.signing = pulumi.output("local-key");
    this.registerOutputs({ bucketName: this.bucketName, endpoint: this.endpoint, signing: this.signing });
  }
}
