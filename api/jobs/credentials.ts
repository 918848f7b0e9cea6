/**
 * How a job gets cloud credentials: only for the job's duration, only as
 * environment for the engine's workspace (never `process.env`), and for AWS
 * only as short-lived STS credentials from assuming the customer's role.
 */
import type { Cloud } from "../db/schema";

export interface JobCredentials {
  /** Environment variables the cloud's Pulumi provider reads (`DIGITALOCEAN_TOKEN`, `AWS_*`, `GOOGLE_*`). */
  env: Record<string, string>;
  /** Every secret value in `env`, for redaction of the job's events. */
  secrets: string[];
}

export interface CredentialProvider {
  /**
   * The credential an instance on `cloud` will use: the one named (it must be
   * the user's, of that cloud, usable by a worker), or the user's newest of
   * that cloud. Throws `MissingCredentialError` or `CredentialChoiceError`.
   */
  choose(userId: string, cloud: Cloud, credentialId?: string): Promise<string>;
  /** Decrypts (or, for AWS, assumes) the credential for one job. */
  forJob(request: { userId: string; cloud: Cloud; region: string; jobId: string; credentialId: string | null }): Promise<JobCredentials>;
}

/** What a cloud's credential is and how to add one, for error messages. */
export const CREDENTIAL_NAMES: Record<Cloud, string> = {
  digitalocean: "a DigitalOcean API token (`POST /v1/credentials` with `kind: digitalocean`)",
  aws: "an AWS role ARN and external ID (`POST /v1/credentials` with `kind: aws`)",
  gcp: "a GCP workload identity federation config (`POST /v1/credentials` with `kind: gcp`)",
};

/** Thrown when the user has no usable credential for the instance's cloud. */
export class MissingCredentialError extends Error {
  constructor(readonly cloud: Cloud) {
    super(
      `\`cloud\`: no ${cloud} credential a worker can use: add ${CREDENTIAL_NAMES[cloud]} first ` +
        "(credentials in passphrase mode cannot be used by workers)",
    );
    this.name = "MissingCredentialError";
  }
}

/** A named credential that cannot serve the instance (not found, other cloud, passphrase mode). */
export class CredentialChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialChoiceError";
  }
}
