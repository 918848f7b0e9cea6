/**
 * A support grant's SSH rule in the host's cloud firewall (docs/zero-access.md):
 * what the worker runs for `support-open` and `support-close`, grant by grant.
 * The firewall is found by the stack's last outputs (`firewallId` on
 * DigitalOcean, `securityGroupId` on AWS, `network` and `networkTag` on GCP,
 * plus `instanceId` for the marker check) and the config (GCP project, zone,
 * name); the cloud call goes through runtime/support-firewall.ts with the job's
 * short-lived credentials, as a power job's does.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { gcpAuthorizedRequest } from "../../runtime/gcp-auth";
import {
  type SupportRuleResult,
  SupportFirewallError,
  closeAwsSupportRule,
  closeDigitalOceanSupportRule,
  closeGcpSupportRule,
  openAwsSupportRule,
  openDigitalOceanSupportRule,
  openGcpSupportRule,
  sourcesToClose,
} from "../../runtime/support-firewall";
import { type PowerOptions, type PowerTarget, standInGcpRequest } from "./power";

export { SupportFirewallError, type SupportRuleResult } from "../../runtime/support-firewall";

export interface SupportGrantRule {
  grantId: string;
  /** The grant's sources (CIDR blocks). */
  sources: string[];
}

/** A missing output, said with what it is and how to get it. */
function missingOutput(name: string, what: string): SupportFirewallError {
  return new SupportFirewallError("missing-output", `the instance has no \`${name}\` output (${what}) yet: run \`up\` so the stack exports it, then grant again`);
}

function stringOutput(outputs: Record<string, unknown>, name: string): string | undefined {
  const value = outputs[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function awsClient(target: PowerTarget, env: Record<string, string>, options: PowerOptions): EC2Client {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) throw new SupportFirewallError("cloud-error", "the job has no AWS session");
  return new EC2Client({
    region: target.region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    ...(options.endpoints?.ec2 ? { endpoint: options.endpoints.ec2 } : {}),
  });
}

function gcpContext(target: PowerTarget, env: Record<string, string>, options: PowerOptions) {
  const json = env.GOOGLE_CREDENTIALS;
  if (!json) throw new SupportFirewallError("cloud-error", "the job has no GCP credential configuration");
  const project = target.config.gcpProject;
  if (typeof project !== "string") throw new SupportFirewallError("missing-output", "the instance's config names no GCP project");
  const request = options.endpoints?.compute ? standInGcpRequest : gcpAuthorizedRequest(JSON.parse(json) as Record<string, unknown>);
  const wait = { ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}), ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}) };
  return { request, project, ...wait, ...(options.endpoints?.compute ? { baseUrl: options.endpoints.compute } : {}) };
}

/** Opens tcp/22 from exactly the grant's sources in the host's cloud firewall. */
export async function openSupportRule(target: PowerTarget, grant: SupportGrantRule, env: Record<string, string>, options: PowerOptions = {}): Promise<SupportRuleResult> {
  switch (target.cloud) {
    case "digitalocean": {
      const firewallId = stringOutput(target.outputs, "firewallId");
      if (!firewallId) throw missingOutput("firewallId", "the host's DigitalOcean Cloud Firewall");
      const dropletId = Number(target.outputs.instanceId);
      if (!Number.isSafeInteger(dropletId) || dropletId <= 0) throw missingOutput("instanceId", "the droplet the firewall guards");
      const token = env.DIGITALOCEAN_TOKEN;
      if (!token) throw new SupportFirewallError("cloud-error", "the job has no DigitalOcean token");
      return openDigitalOceanSupportRule({ token, firewallId, dropletId, sources: grant.sources, ...(options.endpoints?.digitalocean ? { baseUrl: options.endpoints.digitalocean } : {}) });
    }
    case "aws": {
      const securityGroupId = stringOutput(target.outputs, "securityGroupId");
      if (!securityGroupId) throw missingOutput("securityGroupId", "the host's security group");
      const ec2 = awsClient(target, env, options);
      try {
        return await openAwsSupportRule({ ec2, securityGroupId, grantId: grant.grantId, sources: grant.sources });
      } finally {
        ec2.destroy();
      }
    }
    case "gcp": {
      const network = stringOutput(target.outputs, "network");
      if (!network) throw missingOutput("network", "the VPC network of the host's firewall rules");
      const targetTag = stringOutput(target.outputs, "networkTag");
      if (!targetTag) throw missingOutput("networkTag", "the network tag the host's firewall rules target");
      const { zone, name } = target.config;
      if (typeof zone !== "string" || typeof name !== "string") throw new SupportFirewallError("missing-output", "the instance's config names no GCP zone and name");
      return openGcpSupportRule({ ...gcpContext(target, env, options), zone, instance: name, network, targetTag, grantId: grant.grantId, sources: grant.sources });
    }
    default: {
      const unknown: never = target.cloud;
      throw new SupportFirewallError("cloud-error", `unknown cloud ${String(unknown)}`);
    }
  }
}

/**
 * Closes the grant's rule. On DigitalOcean and AWS a rule is shared by every grant with the same source, so
 * `keep` (the sources of the instance's other live grants and of the stack's own `sshAccess`) stays open.
 * Without a firewall output there is no firewall (never deployed, or destroyed), so nothing is open.
 */
export async function closeSupportRule(
  target: PowerTarget,
  grant: SupportGrantRule,
  keep: readonly string[],
  env: Record<string, string>,
  options: PowerOptions = {},
): Promise<SupportRuleResult> {
  switch (target.cloud) {
    case "digitalocean": {
      const firewallId = stringOutput(target.outputs, "firewallId");
      if (!firewallId) return { changed: false, detail: "the instance has no Cloud Firewall (no `firewallId` output): nothing is open" };
      const sources = sourcesToClose(grant.sources, keep);
      if (sources.length === 0) return { changed: false, detail: "every source is still needed by another live grant or by sshAccess: left open" };
      const token = env.DIGITALOCEAN_TOKEN;
      if (!token) throw new SupportFirewallError("cloud-error", "the job has no DigitalOcean token");
      return closeDigitalOceanSupportRule({ token, firewallId, sources, ...(options.endpoints?.digitalocean ? { baseUrl: options.endpoints.digitalocean } : {}) });
    }
    case "aws": {
      const securityGroupId = stringOutput(target.outputs, "securityGroupId");
      if (!securityGroupId) return { changed: false, detail: "the instance has no security group (no `securityGroupId` output): nothing is open" };
      const sources = sourcesToClose(grant.sources, keep);
      if (sources.length === 0) return { changed: false, detail: "every source is still needed by another live grant or by sshAccess: left open" };
      const ec2 = awsClient(target, env, options);
      try {
        return await closeAwsSupportRule({ ec2, securityGroupId, grantId: grant.grantId, sources });
      } finally {
        ec2.destroy();
      }
    }
    case "gcp":
      // The grant's own firewalls, found by name: they outlive a destroyed stack, so they are deleted whatever the outputs say.
      return closeGcpSupportRule({ ...gcpContext(target, env, options), grantId: grant.grantId });
    default: {
      const unknown: never = target.cloud;
      throw new SupportFirewallError("cloud-error", `unknown cloud ${String(unknown)}`);
    }
  }
}
