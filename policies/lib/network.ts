/** Ingress rules of the three clouds, read into one shape. */
import { asList, field, isRecord } from "./values";

/** Ports no host may expose to the whole Internet: SSH, RDP, the OpenClaw gateway's own port. */
export const ADMIN_PORTS: ReadonlyArray<{ port: number; what: string }> = [
  { port: 22, what: "SSH" },
  { port: 3389, what: "RDP" },
  { port: 18789, what: "the OpenClaw gateway's own port" },
];

/** The TLS endpoint in front of the gateway. */
export const GATEWAY_TLS_PORT = 3000;

export interface Ingress {
  /** Lower-case protocol; `all` for every protocol. */
  protocol: string;
  /** Inclusive port range; [0, 65535] when all ports. */
  from: number;
  to: number;
  /** Source CIDRs; a non-CIDR source (security group, prefix list, tag) is given as `source:<kind>`. */
  sources: string[];
  /** Where in the resource the rule is, for messages. */
  where: string;
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);

export function isWorld(cidr: string): boolean {
  return WORLD.has(cidr.trim());
}

export function coversPort(rule: Ingress, port: number, protocol: "tcp" | "udp" = "tcp"): boolean {
  const protocolMatches = rule.protocol === "all" || rule.protocol === protocol || rule.protocol === (protocol === "tcp" ? "6" : "17");
  return protocolMatches && rule.from <= port && port <= rule.to;
}

function normaliseProtocol(value: unknown): string {
  const text = String(value ?? "all").toLowerCase();
  return text === "-1" || text === "" ? "all" : text;
}

/** AWS `fromPort`/`toPort`; protocol `-1` means every port regardless of the numbers. */
function awsRange(protocol: string, from: unknown, to: unknown): [number, number] {
  if (protocol === "all") return [0, 65535];
  const low = Number(from ?? 0);
  const high = Number(to ?? low);
  return [low, high];
}

/** AWS: inline `ingress` of a SecurityGroup, `ec2.SecurityGroupRule` of type ingress, `vpc.SecurityGroupIngressRule`. */
export function awsIngress(type: string, props: Record<string, unknown>): Ingress[] {
  const rules: Ingress[] = [];
  const push = (rule: Record<string, unknown>, where: string, cidrKeys: string[], protocolKey: string): void => {
    const protocol = normaliseProtocol(rule[protocolKey]);
    const [from, to] = awsRange(protocol, rule.fromPort, rule.toPort);
    const sources = cidrKeys.flatMap((key) => asList(rule[key]).map(String));
    for (const key of ["securityGroups", "sourceSecurityGroupId", "referencedSecurityGroupId", "prefixListIds", "prefixListId", "self"]) {
      if (rule[key] !== undefined && rule[key] !== false && asList(rule[key]).length > 0) sources.push(`source:${key}`);
    }
    rules.push({ protocol, from, to, sources, where });
  };
  if (type === "aws:ec2/securityGroup:SecurityGroup") {
    asList(props.ingress).forEach((rule, index) => {
      if (isRecord(rule)) push(rule, `ingress[${index}]`, ["cidrBlocks", "ipv6CidrBlocks"], "protocol");
    });
  } else if (type === "aws:ec2/securityGroupRule:SecurityGroupRule") {
    if (props.type === "ingress") push(props, "rule", ["cidrBlocks", "ipv6CidrBlocks"], "protocol");
  } else if (type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
    push(props, "rule", ["cidrIpv4", "cidrIpv6"], "ipProtocol");
  }
  return rules;
}

/** DigitalOcean Cloud Firewall `inboundRules` (`portRange` "22", "1-65535" or "all"). */
export function digitalOceanIngress(props: Record<string, unknown>): Ingress[] {
  return asList(props.inboundRules).filter(isRecord).map((rule, index) => {
    const protocol = normaliseProtocol(rule.protocol);
    const range = String(rule.portRange ?? "all").toLowerCase();
    const [from, to] =
      range === "all" || range === "0" || protocol === "icmp" ? [0, 65535] : (range.split("-").map(Number) as [number, number?]);
    const sources = asList(rule.sourceAddresses).map(String);
    for (const key of ["sourceDropletIds", "sourceTags", "sourceLoadBalancerUids", "sourceKubernetesIds"]) {
      if (asList(rule[key]).length > 0) sources.push(`source:${key}`);
    }
    return { protocol, from: Number(from), to: Number(to ?? from), sources, where: `inboundRules[${index}]` };
  });
}

/** GCP firewall `allows` for INGRESS rules; `ports` absent means every port. */
export function gcpIngress(props: Record<string, unknown>): Ingress[] {
  const direction = String(props.direction ?? "INGRESS").toUpperCase();
  if (direction !== "INGRESS" || props.disabled === true) return [];
  const sources = asList(props.sourceRanges).map(String);
  for (const key of ["sourceTags", "sourceServiceAccounts"]) {
    if (asList(props[key]).length > 0) sources.push(`source:${key}`);
  }
  // GCP applies an ingress rule with no source at all to every source.
  if (sources.length === 0) sources.push("0.0.0.0/0");
  const rules: Ingress[] = [];
  asList(props.allows).forEach((allow, index) => {
    const protocol = normaliseProtocol(field(allow, "protocol"));
    const ports = asList(field(allow, "ports")).map(String);
    const ranges = ports.length === 0 ? ["0-65535"] : ports;
    for (const range of ranges) {
      const [from, to] = range.split("-").map(Number) as [number, number?];
      rules.push({ protocol, from: Number(from), to: Number(to ?? from), sources, where: `allows[${index}]` });
    }
  });
  return rules;
}

export function describePort(port: number): string {
  const admin = ADMIN_PORTS.find((entry) => entry.port === port);
  return admin ? `${port} (${admin.what})` : String(port);
}

/** Messages for ingress rules that open an admin port to the whole Internet. */
export function worldAdminPortFindings(rules: Ingress[]): string[] {
  const findings: string[] = [];
  for (const rule of rules) {
    const world = rule.sources.filter(isWorld);
    if (world.length === 0) continue;
    for (const { port } of ADMIN_PORTS) {
      if (coversPort(rule, port)) {
        findings.push(`\`${rule.where}\` opens TCP ${describePort(port)} to ${world.join(", ")}`);
      }
    }
  }
  return findings;
}

/** Messages for ingress rules that open TCP 3000 to a source other than the configured gateway CIDRs. */
export function gatewayPortFindings(rules: Ingress[], gatewayCidrs: readonly string[]): string[] {
  const allowed = new Set(gatewayCidrs.map((cidr) => cidr.trim()));
  const findings: string[] = [];
  for (const rule of rules) {
    if (!coversPort(rule, GATEWAY_TLS_PORT)) continue;
    const other = rule.sources.filter((source) => !allowed.has(source.trim()));
    if (other.length > 0) {
      const configured = allowed.size === 0 ? "none are configured" : `configured: ${[...allowed].join(", ")}`;
      findings.push(
        `\`${rule.where}\` opens TCP ${GATEWAY_TLS_PORT} to ${other.join(", ")}, which are not configured gateway CIDRs (${configured})`,
      );
    }
  }
  return findings;
}
