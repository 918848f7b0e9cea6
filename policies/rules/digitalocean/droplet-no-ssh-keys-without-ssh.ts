import { resourceRule } from "../../lib/rule";
import { asList } from "../../lib/values";

/**
 * Droplets carry no SSH keys (and no `digitalocean.SshKey` exists) unless the stack configures SSH access.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Droplets carry no SSH keys (and no `digitalocean.SshKey` exists) unless the stack configures SSH access.",
    why: "A key nobody asked for is a standing way into the host that holds the user's memory and secrets.",
    fix: "Remove `sshKeys` and the `digitalocean.SshKey`, or configure `clawstack:sshAccess` (public key and source CIDRs) for the stack.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["digitalocean:index/droplet:Droplet", "digitalocean:index/sshKey:SshKey"],
  },
  (args, report, config) => {
    if (config.sshAccess === true) return;
    if (args.type === "digitalocean:index/sshKey:SshKey") {
      report("a `digitalocean.SshKey` is registered but the stack configures no SSH access (`clawstack:sshAccess`)");
    } else if (asList(args.props.sshKeys).length > 0) {
      report("`sshKeys` is not empty but the stack configures no SSH access (`clawstack:sshAccess`)");
    }
  },
);
