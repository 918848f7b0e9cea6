import { isIPv4 } from "node:net";
import { CLAWCHAT_PORT_RANGE, GATEWAY_TLS_PORT } from "../../core/presets.js";
import type { SshAccess } from "../../core/host-config.js";

/** One inbound rule, cloud-neutral; each host component maps these to its cloud's firewall. */
export interface IngressRule {
  /** Stable short id, used in child resource names. */
  id: "gateway" | "clawchat" | "ssh";
  protocol: "tcp" | "udp";
  fromPort: number;
  toPort: number;
  cidrs: string[];
  description: string;
}

/**
 * The host's inbound rules. Closed by default: TCP 3000 (the TLS endpoint in
 * front of the loopback gateway) from the gateway CIDRs only; UDP for ClawChat
 * only when client CIDRs are given; port 22 only with `sshAccess`. Nothing else.
 */
export function ingressRules(args: {
  gatewayCidrs: string[];
  clawchatClientCidrs: string[];
  sshAccess: SshAccess | null;
}): IngressRule[] {
  if (args.gatewayCidrs.length === 0) {
    // Validation refuses this earlier; a component used directly must not open anything by accident.
    throw new Error("`gatewayCidrs` must list at least one CIDR block; got []");
  }
  const rules: IngressRule[] = [
    {
      id: "gateway",
      protocol: "tcp",
      fromPort: GATEWAY_TLS_PORT,
      toPort: GATEWAY_TLS_PORT,
      cidrs: args.gatewayCidrs,
      description: "OpenClaw gateway over TLS (the gateway itself listens on loopback)",
    },
  ];
  if (args.clawchatClientCidrs.length > 0) {
    rules.push({
      id: "clawchat",
      protocol: "udp",
      fromPort: CLAWCHAT_PORT_RANGE[0],
      toPort: CLAWCHAT_PORT_RANGE[1],
      cidrs: args.clawchatClientCidrs,
      description: "ClawChat encrypted UDP (rotating ports, seed 002 section 7)",
    });
  }
  if (args.sshAccess) {
    rules.push({ id: "ssh", protocol: "tcp", fromPort: 22, toPort: 22, cidrs: args.sshAccess.cidrs, description: "SSH (opened by sshAccess)" });
  }
  return rules;
}

/** Splits CIDR blocks by address family (AWS and GCP keep IPv4 and IPv6 sources apart). */
export function splitCidrsByFamily(cidrs: string[]): { ipv4: string[]; ipv6: string[] } {
  const ipv4 = cidrs.filter((cidr) => isIPv4(cidr.split("/")[0] ?? ""));
  return { ipv4, ipv6: cidrs.filter((cidr) => !ipv4.includes(cidr)) };
}

/** Egress is open (package mirrors, npm, the cloud's APIs, ACME/NTP). */
export const OPEN_EGRESS_CIDRS = ["0.0.0.0/0", "::/0"];
