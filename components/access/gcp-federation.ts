import { parseRoleArn } from "./arns.js";

/**
 * Pure pieces of the GCP workload identity federation: the attribute mapping
 * and condition that pin the pool to one AWS role, the principal set that may
 * impersonate the service account, and the external-account credential
 * configuration the provisioner loads (no service-account key anywhere).
 */

/**
 * Maps the AWS caller's ARN to `attribute.aws_role`, the assumed-role ARN
 * without the session name: `arn:aws:sts::<acct>:assumed-role/<role>`. This is
 * Google's documented mapping for AWS providers.
 */
export const AWS_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = {
  "google.subject": "assertion.arn",
  "attribute.aws_role":
    "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
};

/** `arn:aws:iam::123:role/path/name` → `arn:aws:sts::123:assumed-role/name` (STS drops the path). */
export function assumedRoleArn(provisionerRoleArn: string): string {
  const role = parseRoleArn(provisionerRoleArn);
  if (!role) throw new Error(`not an IAM role ARN: ${JSON.stringify(provisionerRoleArn)}`);
  return `arn:${role.partition}:sts::${role.accountId}:assumed-role/${role.name}`;
}

/** The provider's condition: only sessions of the provisioner role get a token at all. */
export function renderAttributeCondition(provisionerRoleArn: string): string {
  return `attribute.aws_role == "${assumedRoleArn(provisionerRoleArn)}"`;
}

export function poolResourceName(projectNumber: string, poolId: string): string {
  return `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
}

/** The only member granted `roles/iam.workloadIdentityUser` on the service account. */
export function provisionerPrincipalSet(projectNumber: string, poolId: string, provisionerRoleArn: string): string {
  return `principalSet://iam.googleapis.com/${poolResourceName(projectNumber, poolId)}/attribute.aws_role/${assumedRoleArn(provisionerRoleArn)}`;
}

/** The external-account credential configuration (what `gcloud iam workload-identity-pools create-cred-config --aws` writes). */
export interface ExternalAccountCredentialConfig {
  readonly type: "external_account";
  readonly audience: string;
  readonly subject_token_type: "urn:ietf:params:aws:token-type:aws4_request";
  readonly service_account_impersonation_url: string;
  readonly service_account_impersonation: { readonly token_lifetime_seconds: number };
  readonly token_url: "https://sts.googleapis.com/v1/token";
  readonly credential_source: {
    readonly environment_id: "aws1";
    readonly region_url: string;
    readonly url: string;
    readonly regional_cred_verification_url: string;
    readonly imdsv2_session_token_url: string;
  };
}

export function renderCredentialConfig(input: {
  projectNumber: string;
  poolId: string;
  providerId: string;
  serviceAccountEmail: string;
}): ExternalAccountCredentialConfig {
  return {
    type: "external_account",
    audience: `//iam.googleapis.com/${poolResourceName(input.projectNumber, input.poolId)}/providers/${input.providerId}`,
    subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
    service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${input.serviceAccountEmail}:generateAccessToken`,
    // One hour, like the AWS sessions.
    service_account_impersonation: { token_lifetime_seconds: 3600 },
    token_url: "https://sts.googleapis.com/v1/token",
    credential_source: {
      environment_id: "aws1",
      region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
      url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
      regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
    },
  };
}
