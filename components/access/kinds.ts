import { ConfigError } from "../../core/errors.js";
import type { StackKind } from "../../core/stack-kind.js";
// Only the args and their validation load eagerly; each kind's component (and with it the whole
// @pulumi/aws or @pulumi/gcp SDK, about a second) loads when that kind runs, as the host kind does.
import { resolveAwsProvisionerRoleArgs, type AwsProvisionerRoleArgs } from "./aws-args.js";
import { resolveGcpProvisionerFederationArgs, type GcpProvisionerFederationArgs } from "./gcp-args.js";

/**
 * Rejects config keys the kind does not know, so a typo (`externalID`) is an
 * error instead of a silently ignored setting.
 */
export function rejectUnknownKeys(raw: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (key === "kind" || allowed.includes(key)) continue;
    throw new ConfigError(key, `\`${key}\` is not a setting of this stack kind; allowed: ${allowed.map((k) => `\`${k}\``).join(", ")}`);
  }
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ConfigError(key, `\`${key}\` must be a string; got ${typeof value}`);
  return value;
}

function digitsOrString(raw: Record<string, unknown>, key: string): string {
  const value = raw[key];
  // YAML reads an unquoted account ID or project number as a number; keep its digits.
  return typeof value === "number" && Number.isSafeInteger(value) ? String(value) : (value as string);
}

const AWS_ACCESS_KEYS = ["provisionerRoleArn", "externalId", "accountId", "roleName", "imageOwners", "accessProfile"] as const;

export const awsAccessKind: StackKind<AwsProvisionerRoleArgs> = {
  kind: "aws-access",
  description: "The IAM role a customer deploys once so the Claw Cloud provisioner can manage OpenClaw hosts (external ID, 1-hour sessions, tag-scoped).",
  parse(raw) {
    rejectUnknownKeys(raw, AWS_ACCESS_KEYS);
    const imageOwners = raw.imageOwners;
    if (imageOwners !== undefined && (!Array.isArray(imageOwners) || !imageOwners.every((o) => typeof o === "string"))) {
      throw new ConfigError("imageOwners", `\`imageOwners\` must be a list of strings; got ${JSON.stringify(imageOwners)}`);
    }
    const args: AwsProvisionerRoleArgs = {
      provisionerRoleArn: raw.provisionerRoleArn as string,
      externalId: raw.externalId as string,
      accountId: digitsOrString(raw, "accountId"),
      ...(raw.roleName === undefined ? {} : { roleName: optionalString(raw, "roleName") as string }),
      ...(imageOwners === undefined ? {} : { imageOwners: imageOwners as string[] }),
      // Checked against the allowed values by resolveAwsProvisionerRoleArgs below.
      ...(raw.accessProfile === undefined ? {} : { accessProfile: optionalString(raw, "accessProfile") as AwsProvisionerRoleArgs["accessProfile"] }),
    };
    resolveAwsProvisionerRoleArgs(args); // validate now, before anything runs
    return args;
  },
  async run(config) {
    const { AwsProvisionerRole } = await import("./aws.js");
    const access = new AwsProvisionerRole("provisioner", config);
    return { roleArn: access.roleArn, externalId: access.externalId };
  },
};

const GCP_ACCESS_KEYS = ["projectId", "projectNumber", "provisionerRoleArn", "poolId", "providerId", "serviceAccountId"] as const;

export const gcpAccessKind: StackKind<GcpProvisionerFederationArgs> = {
  kind: "gcp-access",
  description: "Workload identity federation letting the Claw Cloud provisioner's AWS role act in a customer's GCP project (no keys).",
  parse(raw) {
    rejectUnknownKeys(raw, GCP_ACCESS_KEYS);
    const args: GcpProvisionerFederationArgs = {
      projectId: raw.projectId as string,
      projectNumber: digitsOrString(raw, "projectNumber"),
      provisionerRoleArn: raw.provisionerRoleArn as string,
    };
    for (const key of ["poolId", "providerId", "serviceAccountId"] as const) {
      const value = optionalString(raw, key);
      if (value !== undefined) args[key] = value;
    }
    resolveGcpProvisionerFederationArgs(args);
    return args;
  },
  async run(config) {
    const { GcpProvisionerFederation } = await import("./gcp.js");
    const federation = new GcpProvisionerFederation("provisioner", config);
    return {
      serviceAccountEmail: federation.serviceAccountEmail,
      providerName: federation.providerName,
      credentialConfiguration: federation.credentialConfiguration,
    };
  },
};
