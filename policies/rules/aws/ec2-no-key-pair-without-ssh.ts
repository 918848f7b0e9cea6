import { resourceRule } from "../../lib/rule";
import { isSet } from "../../lib/values";

/**
 * EC2 instances (and launch templates, launch configurations, spot requests) and key pairs carry no SSH key unless the stack configures SSH access.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "EC2 instances (and launch templates, launch configurations, spot requests) and key pairs carry no SSH key unless the stack configures SSH access.",
    why: "ClawStack hosts are managed without SSH (SSM or nothing); a key pair nobody asked for is a standing way in that outlives whoever held the key.",
    fix: "Remove `keyName` and the `aws.ec2.KeyPair`, or configure `clawstack:sshAccess` (public key and source CIDRs) for the stack.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [
      "aws:ec2/instance:Instance",
      "aws:ec2/launchTemplate:LaunchTemplate",
      "aws:ec2/launchConfiguration:LaunchConfiguration",
      "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
      "aws:ec2/keyPair:KeyPair",
    ],
  },
  (args, report, config) => {
    if (config.sshAccess === true) return;
    if (args.type === "aws:ec2/keyPair:KeyPair") {
      report("an `aws.ec2.KeyPair` is registered but the stack configures no SSH access (`clawstack:sshAccess`)");
    } else if (isSet(args.props, "keyName")) {
      report("`keyName` is set but the stack configures no SSH access (`clawstack:sshAccess`)");
    }
  },
);
