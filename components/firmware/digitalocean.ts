import { SpacesBucket } from "@pulumi/digitalocean/spacesBucket.js";
import * as pulumi from "@pulumi/pulumi";
import { type DigitalOceanFirmwareBucketArgs, resolveDigitalOceanFirmwareBucketArgs } from "./args.js";

export {
  type DigitalOceanFirmwareBucketArgs,
  type ResolvedDigitalOceanFirmwareBucketArgs,
  resolveDigitalOceanFirmwareBucketArgs,
  SPACES_REGIONS,
} from "./args.js";

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

    const bucket = new SpacesBucket(
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
