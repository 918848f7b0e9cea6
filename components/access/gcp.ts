import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import {
  AWS_ATTRIBUTE_MAPPING,
  provisionerPrincipalSet,
  renderAttributeCondition,
  renderCredentialConfig,
} from "./gcp-federation.js";
import { gcpProvisionerPermissions, gcpWorkloadPermissions, renderWorkloadCondition } from "./gcp-permissions.js";
import { type GcpProvisionerFederationArgs, resolveGcpProvisionerFederationArgs } from "./gcp-args.js";

export { type GcpProvisionerFederationArgs, resolveGcpProvisionerFederationArgs };

/**
 * Lets the Claw Cloud provisioner, running as one AWS role, act in a customer's
 * GCP project without any service-account key: a workload identity pool with an
 * AWS provider for Claw Cloud's account, whose attribute condition admits only
 * the provisioner role; a dedicated service account holding a custom role with
 * only the compute permissions the GCP host needs; and
 * `roles/iam.workloadIdentityUser` on that account for that one principal set.
 */
export class GcpProvisionerFederation extends pulumi.ComponentResource {
  readonly serviceAccountEmail: pulumi.Output<string>;
  /** The pool provider's full resource name (the credential configuration's audience). */
  readonly providerName: pulumi.Output<string>;
  /** The external-account credential configuration, as JSON. Holds no secret. */
  readonly credentialConfiguration: pulumi.Output<string>;

  constructor(name: string, args: GcpProvisionerFederationArgs, opts?: pulumi.ComponentResourceOptions) {
    const resolved = resolveGcpProvisionerFederationArgs(args);
    super("clawstack:access:GcpProvisionerFederation", name, {}, opts);

    const pool = new gcp.iam.WorkloadIdentityPool(
      `${name}-pool`,
      {
        project: resolved.projectId,
        workloadIdentityPoolId: resolved.poolId,
        displayName: "Claw Cloud",
        description: "Claw Cloud provisioner (AWS) federation for ClawStack",
      },
      { parent: this },
    );

    const provider = new gcp.iam.WorkloadIdentityPoolProvider(
      `${name}-aws`,
      {
        project: resolved.projectId,
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: resolved.providerId,
        displayName: "Claw Cloud AWS",
        aws: { accountId: resolved.provisionerAccountId },
        attributeMapping: { ...AWS_ATTRIBUTE_MAPPING },
        attributeCondition: renderAttributeCondition(resolved.provisionerRoleArn),
      },
      { parent: this },
    );

    const serviceAccount = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        project: resolved.projectId,
        accountId: resolved.serviceAccountId,
        displayName: "Claw Cloud provisioner",
        description: "Impersonated by the Claw Cloud provisioner through workload identity federation. Has no keys.",
      },
      { parent: this },
    );

    const customRole = new gcp.projects.IAMCustomRole(
      `${name}-role`,
      {
        project: resolved.projectId,
        roleId: "clawCloudProvisioner",
        title: "Claw Cloud provisioner",
        description: "Only what the ClawStack GCP host and snapshot components need: Compute Engine, and creating their service account and secret.",
        permissions: gcpProvisionerPermissions(),
        stage: "GA",
      },
      { parent: this },
    );

    const email = `${resolved.serviceAccountId}@${resolved.projectId}.iam.gserviceaccount.com`;
    new gcp.projects.IAMMember(
      `${name}-role-binding`,
      {
        project: resolved.projectId,
        role: customRoleName(resolved.projectId, customRole),
        member: `serviceAccount:${email}`,
      },
      { parent: this, dependsOn: [serviceAccount] },
    );

    // Acting on one existing service account or secret: only the host's own, by name (see gcp-permissions.ts).
    const workloadRole = new gcp.projects.IAMCustomRole(
      `${name}-workload-role`,
      {
        project: resolved.projectId,
        roleId: "clawCloudProvisionerWorkloads",
        title: "Claw Cloud provisioner (host identities and gateway tokens)",
        description: "Use and manage only the OpenClaw host service accounts and gateway-token secrets; bound with a name condition.",
        permissions: gcpWorkloadPermissions(),
        stage: "GA",
      },
      { parent: this },
    );
    new gcp.projects.IAMMember(
      `${name}-workload-role-binding`,
      {
        project: resolved.projectId,
        role: customRoleName(resolved.projectId, workloadRole),
        member: `serviceAccount:${email}`,
        condition: {
          title: "claw-cloud-host-workloads-only",
          description: "Only <name>-host service accounts and <name>-gateway-token secrets created by ClawStack",
          expression: renderWorkloadCondition(resolved.projectId),
        },
      },
      { parent: this, dependsOn: [serviceAccount] },
    );

    new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity-user`,
      {
        // The account's full name, `projects/<id>/serviceAccounts/<email>` (its `name` output), built from the email.
        serviceAccountId: serviceAccount.email.apply((address) => `projects/${resolved.projectId}/serviceAccounts/${address}`),
        role: "roles/iam.workloadIdentityUser",
        member: provisionerPrincipalSet(resolved.projectNumber, resolved.poolId, resolved.provisionerRoleArn),
      },
      { parent: this },
    );

    this.serviceAccountEmail = pulumi.output(email);
    this.providerName = pulumi.output(
      `projects/${resolved.projectNumber}/locations/global/workloadIdentityPools/${resolved.poolId}/providers/${resolved.providerId}`,
    );
    this.credentialConfiguration = provider.workloadIdentityPoolProviderId.apply(() =>
      JSON.stringify(
        renderCredentialConfig({
          projectNumber: resolved.projectNumber,
          poolId: resolved.poolId,
          providerId: resolved.providerId,
          serviceAccountEmail: email,
        }),
        null,
        2,
      ),
    );
    this.registerOutputs({
      serviceAccountEmail: this.serviceAccountEmail,
      providerName: this.providerName,
      credentialConfiguration: this.credentialConfiguration,
    });
  }
}

/** A project custom role's full name, `projects/<id>/roles/<roleId>` (its `name` output), from the role ID. */
function customRoleName(projectId: string, role: gcp.projects.IAMCustomRole): pulumi.Output<string> {
  return role.roleId.apply((roleId) => `projects/${projectId}/roles/${roleId}`);
}
