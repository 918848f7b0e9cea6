import { GATEWAY_TLS_PORT } from "../core/presets.js";
import type { ResolvedBootInput } from "./validate.js";

function bySourceFamily(cidrs: string[]): { v4: string[]; v6: string[] } {
  return { v4: cidrs.filter((cidr) => !cidr.includes(":")), v6: cidrs.filter((cidr) => cidr.includes(":")) };
}

function allowFrom(cidrs: string[], match: string): string[] {
  const { v4, v6 } = bySourceFamily(cidrs);
  return [
    ...(v4.length > 0 ? [`ip saddr { ${v4.join(", ")} } ${match} accept`] : []),
    ...(v6.length > 0 ? [`ip6 saddr { ${v6.join(", ")} } ${match} accept`] : []),
  ];
}

/**
 * The host firewall, an nftables ruleset mirroring the cloud firewall: input
 * dropped by default; loopback, established traffic, the ICMP that IPv4/IPv6
 * need, DHCP replies; TCP 3000 from the gateway CIDRs; the ClawChat UDP range
 * from the ClawChat client CIDRs; TCP 22 only when SSH is configured, and
 * with support access from the sources of an active grant (sets the support
 * agent fills, each element with a timeout).
 */
export function renderNftables(input: ResolvedBootInput): string {
  const [low, high] = input.clawchat.portRange;
  const rules = [
    "iif lo accept",
    "ct state established,related accept",
    "ct state invalid drop",
    "ip protocol icmp icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } limit rate 10/second accept",
    "ip6 nexthdr icmpv6 icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
    "udp sport 67 udp dport 68 accept",
    "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept",
    ...allowFrom(input.gatewayCidrs, `tcp dport ${GATEWAY_TLS_PORT}`),
    ...allowFrom(input.clawchat.clientCidrs, `udp dport ${low}-${high}`),
    ...(input.ssh === null ? [] : allowFrom(input.ssh.cidrs, "tcp dport 22")),
    // Support access: the agent adds a grant's sources with a timeout of the grant's remaining time.
    ...(input.supportAccess === undefined ? [] : ["ip saddr @support_v4 tcp dport 22 accept", "ip6 saddr @support_v6 tcp dport 22 accept"]),
  ];
  // Empty until a grant signed by the user arrives (docs/zero-access.md); elements expire in the kernel.
  const sets =
    input.supportAccess === undefined
      ? []
      : [
          "  set support_v4 {",
          "    type ipv4_addr; flags interval, timeout;",
          "  }",
          "  set support_v6 {",
          "    type ipv6_addr; flags interval, timeout;",
          "  }",
        ];
  return [
    "#!/usr/sbin/nft -f",
    "# Rendered by ClawStack: mirrors the cloud firewall. Edit the stack, not this file.",
    "flush ruleset",
    "table inet clawstack {",
    ...sets,
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    ...rules.map((rule) => `    ${rule}`),
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    "  }",
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    "  }",
    "}",
    "",
  ].join("\n");
}
