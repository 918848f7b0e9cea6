import awsTable from "./aws-constraints.json";
import type { AwsConstraintShape, AwsConstraintTable } from "./botocore.js";
import type { Constraint } from "./constraint.js";

/**
 * What preflight checks: for each Pulumi resource type, which input (a path
 * `select` understands) must satisfy which constraint of the cloud's own API,
 * and where that constraint is published. AWS rules name a botocore shape
 * (`aws-constraints.json`, extracted from the models); GCP and DigitalOcean
 * rules carry their constraint and the reference page (or OpenAPI file) it
 * is taken from.
 */
export interface PreflightRule {
  /** Stable id, e.g. `aws.dlm.ScheduleName` or `gcp.labels.key`. */
  id: string;
  resourceType: string;
  /** Input path (see `select` in constraint.ts). */
  field: string;
  constraint: Constraint;
  /** Where the constraint is published: a model file and shape, a reference URL. */
  source: string;
}

const AWS = awsTable as unknown as AwsConstraintTable;

/** A rule from a botocore shape: the constraint and its source come from the extracted table. */
function aws(resourceType: string, field: string, shape: AwsConstraintShape): PreflightRule {
  const { source, shape: name, type, min, max, pattern, enum: values } = AWS.constraints[shape];
  return {
    id: `aws.${shape}`,
    resourceType,
    field,
    constraint: { type, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...(pattern !== undefined ? { pattern } : {}), ...(values ? { enum: values } : {}) },
    source: `botocore ${source} shape ${name} (${AWS.generatedFrom})`,
  };
}

/** EC2, EBS and Elastic IP tags: the Resource Groups Tagging API's TagKey/TagValue (the EC2 model gives none). */
function awsResourceTags(resourceType: string, field = "tags"): PreflightRule[] {
  return [
    aws(resourceType, `${field}{}`, "resourcegroupstaggingapi.TagKey"),
    aws(resourceType, `${field}.*`, "resourcegroupstaggingapi.TagValue"),
  ];
}

function iamTags(resourceType: string): PreflightRule[] {
  return [aws(resourceType, "tags{}", "iam.tagKeyType"), aws(resourceType, "tags.*", "iam.tagValueType"), aws(resourceType, "tags", "iam.tagListType")];
}

/** EC2 security group and rule descriptions (VPC): up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* */
const EC2_SG_DESCRIPTION: Constraint = { type: "string", max: 255, pattern: "[a-zA-Z0-9 ._\\-:/()#,@\\[\\]+=&;{}!$*]*" };

const IAM_ROLE = "aws:iam/role:Role";
const IAM_PROFILE = "aws:iam/instanceProfile:InstanceProfile";
const DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy";
const SSM = "aws:ssm/parameter:Parameter";
const EC2_INSTANCE = "aws:ec2/instance:Instance";

export const AWS_RULES: readonly PreflightRule[] = [
  aws(DLM, "description", "dlm.PolicyDescription"),
  aws(DLM, "state", "dlm.SettablePolicyStateValues"),
  aws(DLM, "executionRoleArn", "dlm.ExecutionRoleArn"),
  aws(DLM, "policyDetails.resourceTypes[]", "dlm.ResourceTypeValues"),
  aws(DLM, "policyDetails.targetTags", "dlm.TargetTagList"),
  aws(DLM, "policyDetails.targetTags{}", "dlm.TagKey"),
  aws(DLM, "policyDetails.targetTags.*", "dlm.TagValue"),
  aws(DLM, "policyDetails.schedules[].name", "dlm.ScheduleName"),
  aws(DLM, "policyDetails.schedules[].createRule.times", "dlm.Time"),
  aws(DLM, "policyDetails.schedules[].createRule.interval", "dlm.Interval"),
  aws(DLM, "policyDetails.schedules[].createRule.intervalUnit", "dlm.IntervalUnitValues"),
  aws(DLM, "policyDetails.schedules[].createRule.cronExpression", "dlm.CronExpression"),
  aws(DLM, "policyDetails.schedules[].retainRule.count", "dlm.StandardTierRetainRuleCount"),
  aws(DLM, "policyDetails.schedules[].tagsToAdd", "dlm.TagsToAddList"),
  aws(DLM, "policyDetails.schedules[].tagsToAdd{}", "dlm.TagKey"),
  aws(DLM, "tags{}", "dlm.TagKey"),
  aws(DLM, "tags.*", "dlm.TagValue"),
  aws(IAM_ROLE, "path", "iam.pathType"),
  aws(IAM_ROLE, "description", "iam.roleDescriptionType"),
  aws(IAM_ROLE, "permissionsBoundary", "iam.arnType"),
  ...iamTags(IAM_ROLE),
  aws(IAM_PROFILE, "path", "iam.pathType"),
  ...iamTags(IAM_PROFILE),
  aws(IAM_ROLE, "name", "iam.roleNameType"),
  aws(IAM_ROLE, "maxSessionDuration", "iam.roleMaxSessionDurationType"),
  aws(IAM_ROLE, "assumeRolePolicy", "iam.policyDocumentType"),
  aws("aws:iam/rolePolicy:RolePolicy", "policy", "iam.policyDocumentType"),
  aws("aws:iam/rolePolicy:RolePolicy", "name", "iam.policyNameType"),
  aws("aws:iam/policy:Policy", "name", "iam.policyNameType"),
  aws("aws:iam/policy:Policy", "path", "iam.policyPathType"),
  aws("aws:iam/policy:Policy", "description", "iam.policyDescriptionType"),
  aws("aws:iam/policy:Policy", "policy", "iam.policyDocumentType"),
  ...iamTags("aws:iam/policy:Policy"),
  aws("aws:kms/key:Key", "description", "kms.DescriptionType"),
  aws("aws:kms/key:Key", "keyUsage", "kms.KeyUsageType"),
  aws("aws:kms/key:Key", "customerMasterKeySpec", "kms.KeySpec"),
  aws("aws:kms/key:Key", "deletionWindowInDays", "kms.PendingWindowInDaysType"),
  aws("aws:kms/key:Key", "tags{}", "kms.TagKeyType"),
  aws("aws:kms/key:Key", "tags.*", "kms.TagValueType"),
  aws("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "rule.defaultRetention.mode", "s3.ObjectLockRetentionMode"),
  aws("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "rule.objectOwnership", "s3.ObjectOwnership"),
  aws("aws:s3/bucketVersioning:BucketVersioning", "versioningConfiguration.status", "s3.BucketVersioningStatus"),
  aws(SSM, "name", "ssm.PSParameterName"),
  aws(SSM, "description", "ssm.ParameterDescription"),
  aws(SSM, "type", "ssm.ParameterType"),
  aws(SSM, "keyId", "ssm.ParameterKeyId"),
  aws(SSM, "tags{}", "ssm.TagKey"),
  aws(SSM, "tags.*", "ssm.TagValue"),
  aws(EC2_INSTANCE, "instanceType", "ec2.InstanceType"),
  aws(EC2_INSTANCE, "rootBlockDevice.volumeType", "ec2.VolumeType"),
  aws(EC2_INSTANCE, "metadataOptions.httpTokens", "ec2.HttpTokensState"),
  aws(EC2_INSTANCE, "metadataOptions.instanceMetadataTags", "ec2.InstanceMetadataTagsState"),
  ...awsResourceTags(EC2_INSTANCE),
  ...awsResourceTags(EC2_INSTANCE, "volumeTags"),
  aws("aws:ebs/volume:Volume", "type", "ec2.VolumeType"),
  ...awsResourceTags("aws:ebs/volume:Volume"),
  aws("aws:ec2/eip:Eip", "domain", "ec2.DomainType"),
  ...awsResourceTags("aws:ec2/eip:Eip"),
  ...awsResourceTags("aws:ec2/securityGroup:SecurityGroup"),
  // Stated in the EC2 model's documentation rather than as shape constraints (the EC2 model has none).
  ...["description", "ingress[].description", "egress[].description"].map(
    (field): PreflightRule => ({
      id: field === "description" ? "aws.ec2.SecurityGroupDescription" : "aws.ec2.SecurityGroupRuleDescription",
      resourceType: "aws:ec2/securityGroup:SecurityGroup",
      field,
      constraint: EC2_SG_DESCRIPTION,
      source:
        field === "description"
          ? 'botocore ec2/2016-11-15/service-2.json CreateSecurityGroupRequest.Description documentation: "Up to 255 characters in length ... Constraints for EC2-VPC: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"'
          : 'botocore ec2/2016-11-15/service-2.json IpRange.Description documentation: "Up to 255 characters in length. Allowed characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"',
    }),
  ),
  ...awsResourceTags("aws:ec2/keyPair:KeyPair"),
];

/** GCP: the Compute Engine, IAM and Secret Manager API references and the labels requirements page. */
const GCP_NAME: Constraint = { type: "string", min: 1, max: 63, pattern: "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?" };
const GCP_NAME_SOURCE = (resource: string) =>
  `Compute Engine API v1 reference, ${resource}.name: "1-63 characters long, and comply with RFC1035 ... [a-z]([-a-z0-9]*[a-z0-9])?" (https://cloud.google.com/compute/docs/reference/rest/v1/${resource.toLowerCase()}s)`;
const GCP_LABELS_SOURCE = "Labels requirements: keys 1-63 and values 0-63 characters of lowercase letters, digits, _ and -; keys start with a lowercase letter; at most 64 labels (https://cloud.google.com/compute/docs/labeling-resources#requirements)";
const GCP_LABEL_KEY: Constraint = { type: "string", min: 1, max: 63, pattern: "[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}" };
const GCP_LABEL_VALUE: Constraint = { type: "string", max: 63, pattern: "[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}" };
const GCP_LABEL_COUNT: Constraint = { type: "map", max: 64 };

function gcpLabels(resourceType: string, field = "labels"): PreflightRule[] {
  return [
    { id: "gcp.labels.key", resourceType, field: `${field}{}`, constraint: GCP_LABEL_KEY, source: GCP_LABELS_SOURCE },
    { id: "gcp.labels.value", resourceType, field: `${field}.*`, constraint: GCP_LABEL_VALUE, source: GCP_LABELS_SOURCE },
    { id: "gcp.labels.count", resourceType, field, constraint: GCP_LABEL_COUNT, source: GCP_LABELS_SOURCE },
  ];
}

function gcpName(resourceType: string, resource: string): PreflightRule {
  return { id: `gcp.${resource}.name`, resourceType, field: "name", constraint: GCP_NAME, source: GCP_NAME_SOURCE(resource) };
}

const GCP_INSTANCE = "gcp:compute/instance:Instance";
const GCP_POLICY = "gcp:compute/resourcePolicy:ResourcePolicy";
const GCP_POLICY_SOURCE = "Compute Engine API v1 reference, ResourcePolicy snapshotSchedulePolicy (https://cloud.google.com/compute/docs/reference/rest/v1/resourcePolicies)";

const GCP_WIF_ID: Constraint = { type: "string", min: 4, max: 32, pattern: "(?!gcp-)[a-z0-9-]+" };
const GCP_WIF_SOURCE = (what: string) =>
  `IAM API v1 reference, projects.locations.workloadIdentityPools${what}.create: "4-32 characters, and may contain the characters [a-z0-9-]. The prefix gcp- is reserved" (https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools${what}/create)`;

export const GCP_RULES: readonly PreflightRule[] = [
  { id: "gcp.WorkloadIdentityPool.id", resourceType: "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", field: "workloadIdentityPoolId", constraint: GCP_WIF_ID, source: GCP_WIF_SOURCE("") },
  {
    id: "gcp.WorkloadIdentityPoolProvider.id",
    resourceType: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
    field: "workloadIdentityPoolProviderId",
    constraint: GCP_WIF_ID,
    source: GCP_WIF_SOURCE(".providers"),
  },
  {
    id: "gcp.storage.bucketName",
    resourceType: "gcp:storage/bucket:Bucket",
    field: "name",
    constraint: { type: "string", min: 3, max: 63, pattern: "[a-z0-9][a-z0-9._-]*[a-z0-9]" },
    source: "Cloud Storage bucket naming: 3-63 characters of lowercase letters, digits, dashes, underscores and dots, starting and ending with a letter or digit (https://cloud.google.com/storage/docs/buckets#naming)",
  },
  ...gcpLabels("gcp:storage/bucket:Bucket"),
  ...gcpLabels("gcp:kms/cryptoKey:CryptoKey"),
  {
    id: "gcp.kms.cryptoKey.purpose",
    resourceType: "gcp:kms/cryptoKey:CryptoKey",
    field: "purpose",
    constraint: { type: "string", enum: ["ENCRYPT_DECRYPT", "ASYMMETRIC_SIGN", "ASYMMETRIC_DECRYPT", "RAW_ENCRYPT_DECRYPT", "MAC"] },
    source: "Cloud KMS API v1 reference, CryptoKey.purpose (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys#CryptoKeyPurpose)",
  },
  gcpName(GCP_INSTANCE, "Instance"),
  gcpName("gcp:compute/disk:Disk", "Disk"),
  gcpName("gcp:compute/firewall:Firewall", "Firewall"),
  gcpName("gcp:compute/address:Address", "Address"),
  gcpName(GCP_POLICY, "ResourcePolicy"),
  ...gcpLabels(GCP_INSTANCE),
  ...gcpLabels(GCP_INSTANCE, "bootDisk.initializeParams.labels"),
  ...gcpLabels("gcp:compute/disk:Disk"),
  ...gcpLabels("gcp:compute/address:Address"),
  ...gcpLabels("gcp:secretmanager/secret:Secret"),
  ...gcpLabels(GCP_POLICY, "snapshotSchedulePolicy.snapshotProperties.labels"),
  {
    id: "gcp.Instance.tags",
    resourceType: GCP_INSTANCE,
    field: "tags[]",
    constraint: GCP_NAME,
    source: 'Compute Engine API v1 reference, Tags.items: "Each tag within the list must comply with RFC1035" (https://cloud.google.com/compute/docs/reference/rest/v1/instances)',
  },
  {
    id: "gcp.Firewall.direction",
    resourceType: "gcp:compute/firewall:Firewall",
    field: "direction",
    constraint: { type: "string", enum: ["INGRESS", "EGRESS"] },
    source: "Compute Engine API v1 reference, Firewall.direction (https://cloud.google.com/compute/docs/reference/rest/v1/firewalls)",
  },
  {
    id: "gcp.Address.addressType",
    resourceType: "gcp:compute/address:Address",
    field: "addressType",
    constraint: { type: "string", enum: ["EXTERNAL", "INTERNAL"] },
    source: "Compute Engine API v1 reference, Address.addressType (https://cloud.google.com/compute/docs/reference/rest/v1/addresses)",
  },
  {
    id: "gcp.AttachedDisk.mode",
    resourceType: "gcp:compute/attachedDisk:AttachedDisk",
    field: "mode",
    constraint: { type: "string", enum: ["READ_WRITE", "READ_ONLY"] },
    source: "Compute Engine API v1 reference, AttachedDisk.mode (https://cloud.google.com/compute/docs/reference/rest/v1/instances/attachDisk)",
  },
  {
    id: "gcp.ResourcePolicy.dailyStartTime",
    resourceType: GCP_POLICY,
    field: "snapshotSchedulePolicy.schedule.dailySchedule.startTime",
    constraint: { type: "string", enum: ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"] },
    source: `${GCP_POLICY_SOURCE}, ResourcePolicyDailyCycle.startTime: "must be in UTC format that resolves to one of 00:00, 04:00, 08:00, 12:00, 16:00, or 20:00"`,
  },
  {
    id: "gcp.ResourcePolicy.weeklyStartTime",
    resourceType: GCP_POLICY,
    field: "snapshotSchedulePolicy.schedule.weeklySchedule.dayOfWeeks[].startTime",
    constraint: { type: "string", enum: ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"] },
    source: `${GCP_POLICY_SOURCE}, ResourcePolicyWeeklyCycleDayOfWeek.startTime (the same hourly windows)`,
  },
  {
    id: "gcp.ResourcePolicy.weeklyDay",
    resourceType: GCP_POLICY,
    field: "snapshotSchedulePolicy.schedule.weeklySchedule.dayOfWeeks[].day",
    constraint: { type: "string", enum: ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"] },
    source: `${GCP_POLICY_SOURCE}, ResourcePolicyWeeklyCycleDayOfWeek.day`,
  },
  {
    id: "gcp.ResourcePolicy.onSourceDiskDelete",
    resourceType: GCP_POLICY,
    field: "snapshotSchedulePolicy.retentionPolicy.onSourceDiskDelete",
    constraint: { type: "string", enum: ["KEEP_AUTO_SNAPSHOTS", "APPLY_RETENTION_POLICY"] },
    source: `${GCP_POLICY_SOURCE}, ResourcePolicySnapshotSchedulePolicyRetentionPolicy.onSourceDiskDelete`,
  },
  {
    id: "gcp.ServiceAccount.accountId",
    resourceType: "gcp:serviceaccount/account:Account",
    field: "accountId",
    constraint: { type: "string", min: 6, max: 30, pattern: "[a-z]([-a-z0-9]*[a-z0-9])" },
    source: 'IAM API v1 reference, projects.serviceAccounts.create accountId: "must be 6-30 characters long, and match the regular expression [a-z]([-a-z0-9]*[a-z0-9])" (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/create)',
  },
  {
    id: "gcp.ServiceAccount.displayName",
    resourceType: "gcp:serviceaccount/account:Account",
    field: "displayName",
    constraint: { type: "string", max: 100, bytes: true },
    source: 'IAM API v1 reference, ServiceAccount.displayName: "The maximum length is 100 UTF-8 bytes" (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts)',
  },
  {
    id: "gcp.ServiceAccount.description",
    resourceType: "gcp:serviceaccount/account:Account",
    field: "description",
    constraint: { type: "string", max: 256, bytes: true },
    source: 'IAM API v1 reference, ServiceAccount.description: "The maximum length is 256 UTF-8 bytes" (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts)',
  },
  {
    id: "gcp.Secret.secretId",
    resourceType: "gcp:secretmanager/secret:Secret",
    field: "secretId",
    constraint: { type: "string", min: 1, max: 255, pattern: "[A-Za-z0-9_-]+" },
    source: 'Secret Manager API v1 reference, projects.secrets.create secretId: "a string with a maximum length of 255 characters and can contain uppercase and lowercase letters, numerals, and the hyphen (-) and underscore (_) characters" (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create)',
  },
];

/** DigitalOcean: its OpenAPI specification (github.com/digitalocean/openapi), file by file. */
const DO_SPEC = "https://github.com/digitalocean/openapi/blob/7c1300c479fed9c353cda9fc21cd968619552304/specification/resources";
const DO_DROPLET = "digitalocean:index/droplet:Droplet";
const DO_TAG: Constraint = { type: "string", min: 1, max: 255, pattern: "^[a-zA-Z0-9_\\-\\:]+$" };
const DO_TAG_SOURCE = `DigitalOcean API, tags name: pattern ^[a-zA-Z0-9_\\-\\:]+$, maxLength 255 (${DO_SPEC}/tags/models/tags.yml)`;
const DO_BACKUP_SOURCE = `DigitalOcean API, droplet backup_policy (${DO_SPEC}/droplets/models/droplet_backup_policy.yml)`;
const DO_PROTOCOL: Constraint = { type: "string", enum: ["tcp", "udp", "icmp"] };
const DO_PROTOCOL_SOURCE = `DigitalOcean API, firewall rule protocol: tcp, udp or icmp (${DO_SPEC}/firewalls/models/firewall_rule.yml)`;

export const DIGITALOCEAN_RULES: readonly PreflightRule[] = [
  {
    id: "digitalocean.droplet.name",
    resourceType: DO_DROPLET,
    field: "name",
    constraint: { type: "string", min: 1, max: 255, pattern: "^[a-zA-Z0-9]?[a-z0-9A-Z.\\-]*[a-z0-9A-Z]$" },
    source: `DigitalOcean API, droplet create name: pattern ^[a-zA-Z0-9]?[a-z0-9A-Z.\\-]*[a-z0-9A-Z]$, maxLength 255 (${DO_SPEC}/droplets/models/droplet_single_create.yml)`,
  },
  {
    id: "digitalocean.droplet.userData",
    resourceType: DO_DROPLET,
    field: "userData",
    constraint: { type: "string", max: 65536, bytes: true },
    source: `DigitalOcean API, droplet create user_data: "must be plain text and may not exceed 64 KiB in size" (${DO_SPEC}/droplets/models/droplet_create.yml)`,
  },
  { id: "digitalocean.tag", resourceType: DO_DROPLET, field: "tags[]", constraint: DO_TAG, source: DO_TAG_SOURCE },
  { id: "digitalocean.tag", resourceType: "digitalocean:index/volume:Volume", field: "tags[]", constraint: DO_TAG, source: DO_TAG_SOURCE },
  { id: "digitalocean.backupPolicy.plan", resourceType: DO_DROPLET, field: "backupPolicy.plan", constraint: { type: "string", enum: ["daily", "weekly"] }, source: DO_BACKUP_SOURCE },
  { id: "digitalocean.backupPolicy.weekday", resourceType: DO_DROPLET, field: "backupPolicy.weekday", constraint: { type: "string", enum: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] }, source: DO_BACKUP_SOURCE },
  { id: "digitalocean.backupPolicy.hour", resourceType: DO_DROPLET, field: "backupPolicy.hour", constraint: { type: "integer", enum: [0, 4, 8, 12, 16, 20] }, source: DO_BACKUP_SOURCE },
  {
    id: "digitalocean.volume.name",
    resourceType: "digitalocean:index/volume:Volume",
    field: "name",
    constraint: { type: "string", min: 1, max: 64, pattern: "[a-z][a-z0-9-]*" },
    source: `DigitalOcean API, volume name: "Must be lowercase and be composed only of numbers, letters and \\"-\\", up to a limit of 64 characters. The name must begin with a letter." (${DO_SPEC}/volumes/models/volume_base.yml)`,
  },
  {
    id: "digitalocean.firewall.name",
    resourceType: "digitalocean:index/firewall:Firewall",
    field: "name",
    constraint: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9\\.-]+$" },
    source: `DigitalOcean API, firewall name: pattern ^[a-zA-Z0-9][a-zA-Z0-9\\.-]+$ (${DO_SPEC}/firewalls/models/firewall.yml)`,
  },
  { id: "digitalocean.firewall.protocol", resourceType: "digitalocean:index/firewall:Firewall", field: "inboundRules[].protocol", constraint: DO_PROTOCOL, source: DO_PROTOCOL_SOURCE },
  { id: "digitalocean.firewall.protocol", resourceType: "digitalocean:index/firewall:Firewall", field: "outboundRules[].protocol", constraint: DO_PROTOCOL, source: DO_PROTOCOL_SOURCE },
];

export const PREFLIGHT_RULES: readonly PreflightRule[] = [...AWS_RULES, ...GCP_RULES, ...DIGITALOCEAN_RULES];
