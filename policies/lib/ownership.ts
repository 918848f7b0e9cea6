/**
 * The ownership tags ClawStack puts on everything it creates, per cloud
 * convention: AWS tag keys are free-form, GCP label keys are lower case,
 * DigitalOcean tags are plain strings (`key:value`). They match
 * `components/host/tags.ts`; the example-stack review test keeps them in step.
 */
import { asList, isRecord } from "./values";

export const MANAGED_BY_KEY = "ManagedBy";
export const MANAGED_BY_VALUE = "claw-cloud";
export const GCP_MANAGED_BY_LABEL = "managed-by";
export const DIGITALOCEAN_MANAGED_BY_TAG = "ManagedBy:claw-cloud";

/** Where each taggable resource type keeps its tags, for the ownership rules. */
export const TAGGABLE: Readonly<Record<string, "aws-tags" | "gcp-labels" | "do-tags">> = {
  "aws:ec2/instance:Instance": "aws-tags",
  "aws:ebs/volume:Volume": "aws-tags",
  "aws:ec2/securityGroup:SecurityGroup": "aws-tags",
  "aws:ec2/launchTemplate:LaunchTemplate": "aws-tags",
  "aws:ec2/keyPair:KeyPair": "aws-tags",
  "aws:iam/role:Role": "aws-tags",
  "aws:iam/policy:Policy": "aws-tags",
  "aws:iam/instanceProfile:InstanceProfile": "aws-tags",
  "aws:s3/bucket:Bucket": "aws-tags",
  "aws:s3/bucketV2:BucketV2": "aws-tags",
  "aws:kms/key:Key": "aws-tags",
  "aws:dlm/lifecyclePolicy:LifecyclePolicy": "aws-tags",
  "aws:ssm/parameter:Parameter": "aws-tags",
  "gcp:compute/instance:Instance": "gcp-labels",
  "gcp:compute/disk:Disk": "gcp-labels",
  "gcp:storage/bucket:Bucket": "gcp-labels",
  "gcp:kms/cryptoKey:CryptoKey": "gcp-labels",
  "gcp:secretmanager/secret:Secret": "gcp-labels",
  "digitalocean:index/droplet:Droplet": "do-tags",
  "digitalocean:index/volume:Volume": "do-tags",
};

/** What is missing from a resource's ownership tags, or undefined when they are present. */
export function missingOwnershipTag(type: string, props: Record<string, unknown>): string | undefined {
  switch (TAGGABLE[type]) {
    case "aws-tags": {
      const value = isRecord(props.tags) ? props.tags[MANAGED_BY_KEY] : undefined;
      return value === MANAGED_BY_VALUE ? undefined : `\`tags.${MANAGED_BY_KEY}\` must be "${MANAGED_BY_VALUE}"`;
    }
    case "gcp-labels": {
      const value = isRecord(props.labels) ? props.labels[GCP_MANAGED_BY_LABEL] : undefined;
      return value === MANAGED_BY_VALUE ? undefined : `\`labels.${GCP_MANAGED_BY_LABEL}\` must be "${MANAGED_BY_VALUE}"`;
    }
    case "do-tags":
      return asList(props.tags).map(String).includes(DIGITALOCEAN_MANAGED_BY_TAG)
        ? undefined
        : `\`tags\` must include "${DIGITALOCEAN_MANAGED_BY_TAG}"`;
    default:
      return undefined;
  }
}
