import { resourceRule } from "../../lib/rule";
import { awsIngress, worldAdminPortFindings } from "../../lib/network";

/**
 * Security groups open no admin port (22, 3389, 18789) to 0.0.0.0/0 or ::/0.
 *
 * @severity critical
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Security groups open no admin port (22, 3389, 18789) to 0.0.0.0/0 or ::/0.",
    why: "SSH, RDP and the gateway's own port reachable from the whole Internet invite brute force and exploitation; the host is meant to expose only the TLS endpoint.",
    fix: "Remove the rule, or restrict its source to the CIDRs that need it (`sshAccess.sourceCidrs`); never expose 18789, which listens on loopback by design.",
    severity: "critical",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:ec2/securityGroup:SecurityGroup", "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"],
  },
  (args, report) => {
    for (const finding of worldAdminPortFindings(awsIngress(args.type, args.props))) report(finding);
  },
);
