import { resourceRule } from "../../lib/rule";
import { gcpIngress, gatewayPortFindings } from "../../lib/network";

/**
 * Firewall rules open TCP 3000 only to the configured gateway CIDRs.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Firewall rules open TCP 3000 only to the configured gateway CIDRs.",
    why: "Port 3000 is the gateway's TLS endpoint; anyone who reaches it can try the gateway token, so only the configured clients (the Claw Cloud proxy) may.",
    fix: "Use exactly the stack's `clawstack:gatewayCidrs` as the rule's sources, or add the CIDR to that config key.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["gcp:compute/firewall:Firewall"],
  },
  (args, report, config) => {
    for (const finding of gatewayPortFindings(gcpIngress(args.props), config.gatewayCidrs ?? [])) report(finding);
  },
);
