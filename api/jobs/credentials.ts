/**
 * How a job gets cloud credentials: only for the job's duration, only as
 * environment for the engine's workspace (never `process.env`), and for AWS
 * only as short-lived STS credentials from assuming the customer's role.
 */
import type { Cloud } from "./tables";

export interface JobCredentials {
  /** Environment variables the cloud's Pulumi provider reads (`DIGITALOCEAN_TOKEN`, `AWS_*`, `GOOGLE_*`). */
  env: Record<string, string>;
  /** Every secret value in `env`, for redaction of the job's events. */
  secrets: string[];
}

export interface CredentialProvider {
  /** Whether the user has stored a credential for `cloud` (checked before an instance is recorded). */
  has(userId: string, cloud: Cloud): Promise<boolean>;
  /** Decrypts (or, for AWS, assumes) the user's credential for one job. */
  forJob(request: { userId: string; cloud: Cloud; region: string; jobId: string }): Promise<JobCredentials>;
}

/** The environment variable a cloud's credential is missing from, for error messages. */
export const CREDENTIAL_NAMES: Record<Cloud, string> = {
  digitalocean: "a DigitalOcean API token (`POST /v1/credentials` with `kind: digitalocean`)",
  aws: "an AWS role ARN and external ID (`POST /v1/credentials` with `kind: aws`)",
  gcp: "a GCP workload identity or service account credential (`POST /v1/credentials` with `kind: gcp`)",
};

/** Thrown when a job's user has no usable credential for the instance's cloud. */
export class MissingCredentialError extends Error {
  constructor(readonly cloud: Cloud) {
    super(`no ${cloud} credential: add ${CREDENTIAL_NAMES[cloud]} first`);
    this.name = "MissingCredentialError";
  }
}
