// The gcp-access stack's args and their validation, apart from the component so the stack kind
// can validate config without loading the cloud SDK (it loads the component only when it runs).
import { ConfigError } from "../../core/errors.js";
import { gcpProjectIdProblem, gcpProjectNumberProblem, parseRoleArn, roleArnProblem } from "./arns.js";

export interface GcpProvisionerFederationArgs {
  /** The customer's GCP project ID, e.g. `my-openclaw`. Required. */
  projectId: string;
  /** The same project's number (digits only; `gcloud projects describe <id> --format='value(projectNumber)'`). Required. */
  projectNumber: string;
  /** The Claw Cloud provisioner's AWS role ARN; its account becomes the pool's AWS provider. Required. */
  provisionerRoleArn: string;
  /** Workload identity pool ID. Defaults to `claw-cloud`. */
  poolId?: string;
  /** Provider ID inside the pool. Defaults to `claw-cloud-aws`. */
  providerId?: string;
  /** The dedicated service account's ID. Defaults to `claw-cloud-provisioner`. */
  serviceAccountId?: string;
}

interface ResolvedGcpProvisionerFederationArgs {
  readonly projectId: string;
  readonly projectNumber: string;
  readonly provisionerRoleArn: string;
  readonly provisionerAccountId: string;
  readonly poolId: string;
  readonly providerId: string;
  readonly serviceAccountId: string;
}

const POOL_ID_PATTERN = /^(?!gcp-)[a-z0-9-]{4,32}$/;
const SERVICE_ACCOUNT_ID_PATTERN = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

export function resolveGcpProvisionerFederationArgs(
  args: GcpProvisionerFederationArgs,
): ResolvedGcpProvisionerFederationArgs {
  const projectIdProblem = gcpProjectIdProblem(args.projectId);
  if (projectIdProblem) throw new ConfigError("projectId", `\`projectId\` ${projectIdProblem}`);
  const numberProblem = gcpProjectNumberProblem(args.projectNumber);
  if (numberProblem) throw new ConfigError("projectNumber", `\`projectNumber\` ${numberProblem}`);
  const roleProblem = roleArnProblem(args.provisionerRoleArn);
  if (roleProblem) {
    throw new ConfigError(
      "provisionerRoleArn",
      `\`provisionerRoleArn\` (the Claw Cloud provisioner principal the pool trusts) ${roleProblem}`,
    );
  }
  const poolId = args.poolId ?? "claw-cloud";
  const providerId = args.providerId ?? "claw-cloud-aws";
  for (const [key, value] of [
    ["poolId", poolId],
    ["providerId", providerId],
  ] as const) {
    if (!POOL_ID_PATTERN.test(value)) {
      throw new ConfigError(
        key,
        `\`${key}\` must be 4 to 32 characters of [a-z0-9-], not starting with \`gcp-\`; got ${JSON.stringify(value)}`,
      );
    }
  }
  const serviceAccountId = args.serviceAccountId ?? "claw-cloud-provisioner";
  if (!SERVICE_ACCOUNT_ID_PATTERN.test(serviceAccountId)) {
    throw new ConfigError(
      "serviceAccountId",
      `\`serviceAccountId\` must be 6 to 30 characters of [a-z0-9-], starting with a letter; got ${JSON.stringify(serviceAccountId)}`,
    );
  }
  const role = parseRoleArn(args.provisionerRoleArn);
  return {
    projectId: args.projectId,
    projectNumber: String(args.projectNumber),
    provisionerRoleArn: args.provisionerRoleArn,
    provisionerAccountId: role?.accountId ?? "",
    poolId,
    providerId,
    serviceAccountId,
  };
}
