/**
 * The cloud firewall's half of a support grant (issue 17, docs/zero-access.md):
 * SSH (TCP 22) opened in the host's cloud firewall from exactly the grant's
 * sources, for the grant's life, and closed again. The host's own nftables
 * opens the same sources itself; without this, a real cloud drops the
 * operator's packets before they reach the host.
 *
 *   DigitalOcean  `POST` / `DELETE /v2/firewalls/{id}/rules` on the host's
 *                 Cloud Firewall (inbound tcp/22 from the sources)
 *   AWS           `AuthorizeSecurityGroupIngress` / `RevokeSecurityGroupIngress`
 *                 on the host's security group, one call per CIDR, each rule
 *                 described `clawstack support grant <grantId>`
 *   GCP           a firewall of its own per grant and address family,
 *                 `clawstack-support-<hash>` (and `-6` for IPv6), on the host's
 *                 network and target tag; deleted to close
 *
 * Opening first checks the target is ClawStack's (the droplet the firewall
 * guards carries `ManagedBy:claw-cloud`, the security group carries the tag,
 * the GCP instance carries the label and the target tag) and refuses anything
 * else. Every source is parsed as a strict CIDR block and `/0` is refused, so
 * nothing wider than the grant is ever opened. Closing is idempotent: a rule
 * (or firewall) already gone is success. On DigitalOcean and AWS a rule is a
 * (tcp, 22, CIDR) triple shared by whoever opened it, so the caller passes the
 * CIDRs other live grants (and the stack's own `sshAccess`) still need, and
 * those are left open; GCP rules are per grant and need no such care.
 */
import { createHash } from "node:crypto";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { GCP_MANAGED_BY_LABEL, MANAGED_BY } from "../components/host/tags.js";
import { splitCidrsByFamily } from "../components/host/firewall.js";
import { parseCidr } from "../core/validation.js";
import { DigitalOceanToken, digitalOceanErrorMessage, digitalOceanRequest, type DigitalOceanApiOptions } from "./digitalocean-api.js";
import type { GcpRequest } from "./power.js";

export const SUPPORT_SSH_PORT = 22;

export interface SupportRuleResult {
  /** False when the cloud already was as asked (the rule present, or gone). */
  changed: boolean;
  /** What was opened or closed, for the job's log (CIDRs, rule names). */
  detail: string;
}

export class SupportFirewallError extends Error {
  constructor(
    readonly code: "bad-source" | "missing-output" | "not-managed" | "not-found" | "cloud-error" | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "SupportFirewallError";
  }
}

/** The grant's sources as strict CIDR blocks (network address, no host bits), never `/0`. */
export function supportSources(sources: readonly string[]): string[] {
  if (sources.length === 0) throw new SupportFirewallError("bad-source", "`sources` must list at least one CIDR block; got []");
  return [
    ...new Set(
      sources.map((source, i) => {
        let cidr: string;
        try {
          cidr = parseCidr(`sources[${i}]`, source);
        } catch (error) {
          throw new SupportFirewallError("bad-source", error instanceof Error ? error.message : String(error));
        }
        if (cidr.endsWith("/0")) throw new SupportFirewallError("bad-source", `\`sources[${i}]\` must be narrower than /0; got "${cidr}"`);
        return cidr;
      }),
    ),
  ];
}

/** `198.51.100.7` and `198.51.100.7/32` are the same source (clouds may show a single address without its prefix). */
function sameSource(a: string, b: string): boolean {
  const full = (cidr: string) => (cidr.includes("/") ? cidr.toLowerCase() : `${cidr.toLowerCase()}/${cidr.includes(":") ? 128 : 32}`);
  return full(a) === full(b);
}

/** `sources` without those in `keep`. */
export function sourcesToClose(sources: readonly string[], keep: readonly string[]): string[] {
  return supportSources(sources).filter((cidr) => !keep.some((kept) => sameSource(cidr, kept)));
}

/** The AWS rule description of a grant (EC2 allows a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*). */
export function awsSupportRuleDescription(grantId: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(grantId)) throw new SupportFirewallError("bad-source", `\`grantId\` must be a grant id; got ${JSON.stringify(grantId).slice(0, 40)}`);
  return `clawstack support grant ${grantId}`;
}

/**
 * The GCP firewall names of a grant, one per address family: `clawstack-support-<16 hex of SHA-256(grantId)>`
 * and the same with `-6`. Grant ids are base64url (upper case, `_`), which GCP names do not allow; the hash is
 * lower-case hex, so every name matches `[a-z]([-a-z0-9]*[a-z0-9])?` and has 34 or 36 characters (at most 63).
 */
export function gcpSupportRuleNames(grantId: string): { ipv4: string; ipv6: string } {
  const short = createHash("sha256").update(grantId, "utf8").digest("hex").slice(0, 16);
  return { ipv4: `clawstack-support-${short}`, ipv6: `clawstack-support-${short}-6` };
}

interface Wait {
  /** How often to look at a GCP operation. Default 2 s. */
  pollMs?: number;
  /** How long to wait for it. Default 5 minutes. */
  waitMs?: number;
}

// ---------------------------------------------------------------------------
// DigitalOcean (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Firewalls)

export interface DigitalOceanSupportRuleParams extends DigitalOceanApiOptions {
  token: string | DigitalOceanToken;
  firewallId: string;
  /** The droplet the firewall must guard (opening only). */
  dropletId: number;
  sources: readonly string[];
}

interface DigitalOceanFirewall {
  droplet_ids?: unknown;
  inbound_rules?: { protocol?: unknown; ports?: unknown; sources?: { addresses?: unknown } }[];
}

const FIREWALL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function doToken(token: string | DigitalOceanToken): DigitalOceanToken {
  return token instanceof DigitalOceanToken ? token : new DigitalOceanToken(token);
}

async function readDigitalOceanFirewall(token: DigitalOceanToken, params: DigitalOceanSupportRuleParams): Promise<DigitalOceanFirewall | undefined> {
  if (!FIREWALL_ID.test(params.firewallId)) {
    throw new SupportFirewallError("missing-output", `\`firewallId\` must be a DigitalOcean firewall id (a UUID); got ${JSON.stringify(params.firewallId).slice(0, 50)}`);
  }
  const answer = await digitalOceanRequest(token, "GET", `/v2/firewalls/${params.firewallId}`, params);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) {
    throw new SupportFirewallError("cloud-error", `reading firewall ${params.firewallId} failed (${answer.status}): ${digitalOceanErrorMessage(answer.body) ?? "no message"}`);
  }
  return (answer.body as { firewall?: DigitalOceanFirewall }).firewall ?? {};
}

/** The addresses the firewall admits on tcp/22 now. */
function sshAddresses(firewall: DigitalOceanFirewall): string[] {
  return (firewall.inbound_rules ?? [])
    .filter((rule) => rule.protocol === "tcp" && String(rule.ports) === String(SUPPORT_SSH_PORT))
    .flatMap((rule) => (Array.isArray(rule.sources?.addresses) ? rule.sources.addresses.filter((value): value is string => typeof value === "string") : []));
}

function doSshRule(addresses: string[]) {
  return { inbound_rules: [{ protocol: "tcp", ports: String(SUPPORT_SSH_PORT), sources: { addresses } }] };
}

export async function openDigitalOceanSupportRule(params: DigitalOceanSupportRuleParams): Promise<SupportRuleResult> {
  const sources = supportSources(params.sources);
  const token = doToken(params.token);
  const firewall = await readDigitalOceanFirewall(token, params);
  if (!firewall) throw new SupportFirewallError("not-found", `firewall ${params.firewallId} does not exist (run \`up\` to re-create the host's firewall)`);
  if (!Array.isArray(firewall.droplet_ids) || !firewall.droplet_ids.includes(params.dropletId)) {
    throw new SupportFirewallError("not-managed", `firewall ${params.firewallId} does not guard droplet ${params.dropletId}: ClawStack opens only the firewall of the host it created`);
  }
  const droplet = await digitalOceanRequest(token, "GET", `/v2/droplets/${params.dropletId}`, params);
  const tags = (droplet.body as { droplet?: { tags?: unknown } } | undefined)?.droplet?.tags;
  const marker = `${MANAGED_BY.key}:${MANAGED_BY.value}`;
  if (droplet.status !== 200 || !Array.isArray(tags) || !tags.includes(marker)) {
    throw new SupportFirewallError("not-managed", `droplet ${params.dropletId} does not carry the tag ${marker} (or cannot be read): ClawStack opens only what it created`);
  }
  const present = sshAddresses(firewall);
  const missing = sources.filter((cidr) => !present.some((address) => sameSource(cidr, address)));
  if (missing.length === 0) return { changed: false, detail: `tcp/22 from ${sources.join(", ")} already open` };
  const posted = await digitalOceanRequest(token, "POST", `/v2/firewalls/${params.firewallId}/rules`, { ...params, body: doSshRule(missing) });
  if (posted.status !== 204) {
    throw new SupportFirewallError("cloud-error", `adding tcp/22 to firewall ${params.firewallId} was refused (${posted.status}): ${digitalOceanErrorMessage(posted.body) ?? "no message"}`);
  }
  return { changed: true, detail: `tcp/22 from ${missing.join(", ")} opened` };
}

/** Removes tcp/22 from `sources`; then reads the firewall back: success only when none of them is left. */
export async function closeDigitalOceanSupportRule(params: Omit<DigitalOceanSupportRuleParams, "dropletId">): Promise<SupportRuleResult> {
  const sources = supportSources(params.sources);
  const token = doToken(params.token);
  const withDroplet = { ...params, dropletId: 0 };
  const deleted = await digitalOceanRequest(token, "DELETE", `/v2/firewalls/${params.firewallId}/rules`, { ...params, body: doSshRule(sources) });
  if (deleted.status === 404) return { changed: false, detail: `firewall ${params.firewallId} is gone` };
  const firewall = await readDigitalOceanFirewall(token, withDroplet);
  if (!firewall) return { changed: deleted.status === 204, detail: `firewall ${params.firewallId} is gone` };
  const left = sources.filter((cidr) => sshAddresses(firewall).some((address) => sameSource(cidr, address)));
  if (left.length > 0) {
    throw new SupportFirewallError(
      "cloud-error",
      `tcp/22 from ${left.join(", ")} is still open in firewall ${params.firewallId} (removal answered ${deleted.status}: ${digitalOceanErrorMessage(deleted.body) ?? "no message"})`,
    );
  }
  return { changed: deleted.status === 204, detail: `tcp/22 from ${sources.join(", ")} closed` };
}

// ---------------------------------------------------------------------------
// AWS: the host's security group (the client carries the customer's assumed-role session)

export interface AwsSupportRuleParams {
  ec2: EC2Client;
  securityGroupId: string;
  grantId: string;
  sources: readonly string[];
}

const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

function awsPermission(cidr: string, description: string): IpPermission {
  const v4 = splitCidrsByFamily([cidr]).ipv4.length === 1;
  return {
    IpProtocol: "tcp",
    FromPort: SUPPORT_SSH_PORT,
    ToPort: SUPPORT_SSH_PORT,
    ...(v4 ? { IpRanges: [{ CidrIp: cidr, Description: description }] } : { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }),
  };
}

function awsErrorName(error: unknown): string {
  return (error as { name?: string }).name ?? "unknown error";
}

function checkSecurityGroupId(id: string): void {
  if (!SECURITY_GROUP_ID.test(id)) {
    throw new SupportFirewallError("missing-output", `\`securityGroupId\` must be a security group id such as sg-0123456789abcdef0; got ${JSON.stringify(id).slice(0, 40)}`);
  }
}

export async function openAwsSupportRule(params: AwsSupportRuleParams): Promise<SupportRuleResult> {
  const sources = supportSources(params.sources);
  checkSecurityGroupId(params.securityGroupId);
  const description = awsSupportRuleDescription(params.grantId);
  let group;
  try {
    group = (await params.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [params.securityGroupId] }))).SecurityGroups?.[0];
  } catch (error) {
    if (awsErrorName(error) === "InvalidGroup.NotFound") throw new SupportFirewallError("not-found", `security group ${params.securityGroupId} does not exist`);
    throw new SupportFirewallError("cloud-error", `DescribeSecurityGroups failed (${awsErrorName(error)})`);
  }
  if (!group) throw new SupportFirewallError("not-found", `security group ${params.securityGroupId} does not exist`);
  if (!(group.Tags ?? []).some((tag) => tag.Key === MANAGED_BY.key && tag.Value === MANAGED_BY.value)) {
    throw new SupportFirewallError("not-managed", `security group ${params.securityGroupId} does not carry the tag ${MANAGED_BY.key}=${MANAGED_BY.value}: ClawStack opens only what it created`);
  }
  const opened: string[] = [];
  for (const cidr of sources) {
    try {
      await params.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: params.securityGroupId, IpPermissions: [awsPermission(cidr, description)] }));
      opened.push(cidr);
    } catch (error) {
      // The same (tcp, 22, CIDR) is already allowed (a retry, or another grant from the same source).
      if (awsErrorName(error) === "InvalidPermission.Duplicate") continue;
      throw new SupportFirewallError("cloud-error", `AuthorizeSecurityGroupIngress of tcp/22 from ${cidr} was refused (${awsErrorName(error)})`);
    }
  }
  return { changed: opened.length > 0, detail: opened.length > 0 ? `tcp/22 from ${opened.join(", ")} opened` : `tcp/22 from ${sources.join(", ")} already open` };
}

export async function closeAwsSupportRule(params: AwsSupportRuleParams): Promise<SupportRuleResult> {
  const sources = supportSources(params.sources);
  checkSecurityGroupId(params.securityGroupId);
  const description = awsSupportRuleDescription(params.grantId);
  const closed: string[] = [];
  for (const cidr of sources) {
    try {
      await params.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: params.securityGroupId, IpPermissions: [awsPermission(cidr, description)] }));
      closed.push(cidr);
    } catch (error) {
      const name = awsErrorName(error);
      if (name === "InvalidPermission.NotFound" || name === "InvalidGroup.NotFound") continue;
      throw new SupportFirewallError("cloud-error", `RevokeSecurityGroupIngress of tcp/22 from ${cidr} was refused (${name})`);
    }
  }
  return { changed: closed.length > 0, detail: `tcp/22 from ${sources.join(", ")} closed` };
}

// ---------------------------------------------------------------------------
// GCP: Compute Engine firewalls (https://cloud.google.com/compute/docs/reference/rest/v1/firewalls)

export interface GcpSupportRuleParams extends Wait {
  request: GcpRequest;
  project: string;
  grantId: string;
  sources: readonly string[];
  /** Default `https://compute.googleapis.com/compute/v1`. */
  baseUrl?: string;
}

export interface GcpOpenSupportRuleParams extends GcpSupportRuleParams {
  zone: string;
  instance: string;
  /** The host's network: a name, `projects/<p>/global/networks/<n>`, or its full URL. */
  network: string;
  targetTag: string;
}

const GCP_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const GCP_NETWORK = /^(?:https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/global\/networks\/([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)$/;

function checkGcpNames(values: [string, string, RegExp][]): void {
  for (const [field, value, pattern] of values) {
    if (!pattern.test(value)) throw new SupportFirewallError("missing-output", `\`${field}\` is not a valid GCP ${field}; got ${JSON.stringify(value).slice(0, 70)}`);
  }
}

/** The network as the firewall API takes it: `projects/<p>/global/networks/<n>`. */
export function gcpNetworkPath(project: string, network: string): string {
  if (GCP_NAME.test(network)) return `projects/${project}/global/networks/${network}`;
  const match = GCP_NETWORK.exec(network);
  if (!match) throw new SupportFirewallError("missing-output", `\`network\` must be a VPC network name or projects/<project>/global/networks/<name>; got ${JSON.stringify(network).slice(0, 90)}`);
  return `projects/${match[1]}/global/networks/${match[2]}`;
}

async function waitForGcpOperation(params: GcpSupportRuleParams, base: string, posted: unknown, what: string): Promise<void> {
  const name = (posted as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || !/^[\w-]{1,100}$/.test(name)) throw new SupportFirewallError("cloud-error", `${what}: the answer names no operation`);
  const url = `${base}/projects/${params.project}/global/operations/${name}`;
  const waitMs = params.waitMs ?? 300_000;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const answer = await params.request("GET", url);
    const body = answer.body as { status?: unknown; error?: unknown } | undefined;
    if (answer.status === 200 && body?.status === "DONE") {
      if (body.error) throw new SupportFirewallError("cloud-error", `${what} failed at the cloud: ${JSON.stringify(body.error).slice(0, 300)}`);
      return;
    }
    if (Date.now() > deadline) throw new SupportFirewallError("timeout", `${what}: operation ${name} not done after ${Math.round(waitMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, params.pollMs ?? 2_000));
  }
}

export async function openGcpSupportRule(params: GcpOpenSupportRuleParams): Promise<SupportRuleResult> {
  const sources = splitCidrsByFamily(supportSources(params.sources));
  checkGcpNames([
    ["project", params.project, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/],
    ["zone", params.zone, /^[a-z]+-[a-z]+\d+-[a-z]$/],
    ["instance", params.instance, GCP_NAME],
    ["network tag", params.targetTag, GCP_NAME],
  ]);
  const network = gcpNetworkPath(params.project, params.network);
  const base = (params.baseUrl ?? "https://compute.googleapis.com/compute/v1").replace(/\/+$/, "");
  const read = await params.request("GET", `${base}/projects/${params.project}/zones/${params.zone}/instances/${params.instance}`);
  if (read.status === 404) throw new SupportFirewallError("not-found", `instance ${params.instance} does not exist in ${params.project}/${params.zone}`);
  if (read.status !== 200) throw new SupportFirewallError("cloud-error", `reading instance ${params.instance} failed (${read.status})`);
  const instance = read.body as { labels?: Record<string, unknown>; tags?: { items?: unknown } };
  if (instance.labels?.[GCP_MANAGED_BY_LABEL.key] !== GCP_MANAGED_BY_LABEL.value) {
    throw new SupportFirewallError("not-managed", `instance ${params.instance} does not carry the label ${GCP_MANAGED_BY_LABEL.key}=${GCP_MANAGED_BY_LABEL.value}: ClawStack opens only what it created`);
  }
  if (!Array.isArray(instance.tags?.items) || !instance.tags.items.includes(params.targetTag)) {
    throw new SupportFirewallError("not-managed", `instance ${params.instance} does not carry the network tag ${params.targetTag}: a rule for it would reach other instances or none`);
  }
  const names = gcpSupportRuleNames(params.grantId);
  const opened: string[] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    if (sources[family].length === 0) continue;
    const name = names[family];
    const posted = await params.request("POST", `${base}/projects/${params.project}/global/firewalls`, {
      name,
      network,
      direction: "INGRESS",
      priority: 1000,
      description: `ClawStack support grant ${params.grantId}: SSH from the grant's sources until it ends or is revoked`,
      allowed: [{ IPProtocol: "tcp", ports: [String(SUPPORT_SSH_PORT)] }],
      sourceRanges: sources[family],
      targetTags: [params.targetTag],
    });
    if (posted.status === 409) continue; // made by an earlier attempt of this job: the name is the grant's own
    if (posted.status !== 200) throw new SupportFirewallError("cloud-error", `firewalls.insert ${name} was refused (${posted.status})`);
    await waitForGcpOperation(params, base, posted.body, `firewalls.insert ${name}`);
    opened.push(`${name} (${sources[family].join(", ")})`);
  }
  return { changed: opened.length > 0, detail: opened.length > 0 ? `firewall ${opened.join(", ")} created` : "the grant's firewalls already exist" };
}

export async function closeGcpSupportRule(params: Omit<GcpSupportRuleParams, "sources">): Promise<SupportRuleResult> {
  checkGcpNames([["project", params.project, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/]]);
  const base = (params.baseUrl ?? "https://compute.googleapis.com/compute/v1").replace(/\/+$/, "");
  const names = gcpSupportRuleNames(params.grantId);
  const deleted: string[] = [];
  for (const name of [names.ipv4, names.ipv6]) {
    const answer = await params.request("DELETE", `${base}/projects/${params.project}/global/firewalls/${name}`);
    if (answer.status === 404) continue;
    if (answer.status !== 200) throw new SupportFirewallError("cloud-error", `firewalls.delete ${name} was refused (${answer.status})`);
    await waitForGcpOperation({ ...params, sources: [] }, base, answer.body, `firewalls.delete ${name}`);
    deleted.push(name);
  }
  return { changed: deleted.length > 0, detail: deleted.length > 0 ? `firewall ${deleted.join(", ")} deleted` : "the grant's firewalls are gone" };
}
