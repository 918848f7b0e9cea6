/**
 * Every rule of the ClawStack pack, in one list. `index.ts` builds the
 * CrossGuard pack from it and the engine-free reviewer runs the same objects;
 * a test fails when a file under `rules/` is missing from this list.
 */
import allNoPlaintextSecrets from "./rules/all/no-plaintext-secrets";
import awsEbsEncrypted from "./rules/aws/ebs-encrypted";
import awsEc2Imdsv2Required from "./rules/aws/ec2-imdsv2-required";
import awsEc2NoKeyPairWithoutSsh from "./rules/aws/ec2-no-key-pair-without-ssh";
import awsIamCrossAccountSessionDuration from "./rules/aws/iam-cross-account-session-duration";
import awsIamNoAdminManagedPolicies from "./rules/aws/iam-no-admin-managed-policies";
import awsIamNoUnscopedMutatingActions from "./rules/aws/iam-no-unscoped-mutating-actions";
import awsIamNoWildcardActions from "./rules/aws/iam-no-wildcard-actions";
import awsIamNoWildcardPrincipal from "./rules/aws/iam-no-wildcard-principal";
import awsIamPassroleRequiresPassedToService from "./rules/aws/iam-passrole-requires-passed-to-service";
import awsIamRoleRequiresExternalId from "./rules/aws/iam-role-requires-external-id";
import awsKmsKeyRotation from "./rules/aws/kms-key-rotation";
import awsManagedByTag from "./rules/aws/managed-by-tag";
import awsS3BucketKmsEncryption from "./rules/aws/s3-bucket-kms-encryption";
import awsS3BucketNoPublicAcl from "./rules/aws/s3-bucket-no-public-acl";
import awsS3BucketObjectLock from "./rules/aws/s3-bucket-object-lock";
import awsS3BucketPolicyWritesPublisherOnly from "./rules/aws/s3-bucket-policy-writes-publisher-only";
import awsS3BucketPublicAccessBlocked from "./rules/aws/s3-bucket-public-access-blocked";
import awsS3BucketTlsOnly from "./rules/aws/s3-bucket-tls-only";
import awsS3BucketVersioning from "./rules/aws/s3-bucket-versioning";
import awsSecurityGroupGatewayPortRestricted from "./rules/aws/security-group-gateway-port-restricted";
import awsSecurityGroupNoWorldAdminPorts from "./rules/aws/security-group-no-world-admin-ports";
import awsSsmParameterSecretsEncrypted from "./rules/aws/ssm-parameter-secrets-encrypted";
import digitaloceanDropletBackups from "./rules/digitalocean/droplet-backups";
import digitaloceanDropletBehindFirewall from "./rules/digitalocean/droplet-behind-firewall";
import digitaloceanDropletNoSshKeysWithoutSsh from "./rules/digitalocean/droplet-no-ssh-keys-without-ssh";
import digitaloceanFirewallGatewayPortRestricted from "./rules/digitalocean/firewall-gateway-port-restricted";
import digitaloceanFirewallNoWorldAdminPorts from "./rules/digitalocean/firewall-no-world-admin-ports";
import digitaloceanSpacesBucketPrivate from "./rules/digitalocean/spaces-bucket-private";
import digitaloceanSpacesBucketVersioning from "./rules/digitalocean/spaces-bucket-versioning";
import digitaloceanTagsPresent from "./rules/digitalocean/tags-present";
import gcpBlockProjectSshKeys from "./rules/gcp/block-project-ssh-keys";
import gcpFirewallGatewayPortRestricted from "./rules/gcp/firewall-gateway-port-restricted";
import gcpFirewallNoWorldAdminPorts from "./rules/gcp/firewall-no-world-admin-ports";
import gcpKmsCryptoKeyRotation from "./rules/gcp/kms-crypto-key-rotation";
import gcpNoPrimitiveRoles from "./rules/gcp/no-primitive-roles";
import gcpNoPublicMembers from "./rules/gcp/no-public-members";
import gcpNoServiceAccountKeys from "./rules/gcp/no-service-account-keys";
import gcpNoSshKeysWithoutSsh from "./rules/gcp/no-ssh-keys-without-ssh";
import gcpShieldedVm from "./rules/gcp/shielded-vm";
import gcpStorageBucketCmek from "./rules/gcp/storage-bucket-cmek";
import gcpStorageBucketLockedRetention from "./rules/gcp/storage-bucket-locked-retention";
import gcpStorageBucketPublicAccessPrevented from "./rules/gcp/storage-bucket-public-access-prevented";
import gcpStorageBucketVersioning from "./rules/gcp/storage-bucket-versioning";
import gcpStorageBucketWritesPublisherOnly from "./rules/gcp/storage-bucket-writes-publisher-only";
import gcpWorkloadIdentityProviderAttributeCondition from "./rules/gcp/workload-identity-provider-attribute-condition";
import stackExemptionsValid from "./rules/stack/exemptions-valid";
import stackOwnershipTags from "./rules/stack/ownership-tags";
import stackSnapshotsOptedOut from "./rules/stack/snapshots-opted-out";
import stackStateDiskSnapshotSchedule from "./rules/stack/state-disk-snapshot-schedule";
import type { ClawRule } from "./lib/rule";
import { registerPolicyIds } from "./lib/registry";

export const policies: readonly ClawRule[] = [
  allNoPlaintextSecrets,
  awsEbsEncrypted,
  awsEc2Imdsv2Required,
  awsEc2NoKeyPairWithoutSsh,
  awsIamCrossAccountSessionDuration,
  awsIamNoAdminManagedPolicies,
  awsIamNoUnscopedMutatingActions,
  awsIamNoWildcardActions,
  awsIamNoWildcardPrincipal,
  awsIamPassroleRequiresPassedToService,
  awsIamRoleRequiresExternalId,
  awsKmsKeyRotation,
  awsManagedByTag,
  awsS3BucketKmsEncryption,
  awsS3BucketNoPublicAcl,
  awsS3BucketObjectLock,
  awsS3BucketPolicyWritesPublisherOnly,
  awsS3BucketPublicAccessBlocked,
  awsS3BucketTlsOnly,
  awsS3BucketVersioning,
  awsSecurityGroupGatewayPortRestricted,
  awsSecurityGroupNoWorldAdminPorts,
  awsSsmParameterSecretsEncrypted,
  digitaloceanDropletBackups,
  digitaloceanDropletBehindFirewall,
  digitaloceanDropletNoSshKeysWithoutSsh,
  digitaloceanFirewallGatewayPortRestricted,
  digitaloceanFirewallNoWorldAdminPorts,
  digitaloceanSpacesBucketPrivate,
  digitaloceanSpacesBucketVersioning,
  digitaloceanTagsPresent,
  gcpBlockProjectSshKeys,
  gcpFirewallGatewayPortRestricted,
  gcpFirewallNoWorldAdminPorts,
  gcpKmsCryptoKeyRotation,
  gcpNoPrimitiveRoles,
  gcpNoPublicMembers,
  gcpNoServiceAccountKeys,
  gcpNoSshKeysWithoutSsh,
  gcpShieldedVm,
  gcpStorageBucketCmek,
  gcpStorageBucketLockedRetention,
  gcpStorageBucketPublicAccessPrevented,
  gcpStorageBucketVersioning,
  gcpStorageBucketWritesPublisherOnly,
  gcpWorkloadIdentityProviderAttributeCondition,
  stackExemptionsValid,
  stackOwnershipTags,
  stackSnapshotsOptedOut,
  stackStateDiskSnapshotSchedule,
];

registerPolicyIds(policies.map((policy) => policy.name));

export function policyIds(): string[] {
  return policies.map((policy) => policy.name);
}
