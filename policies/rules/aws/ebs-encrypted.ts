import { resourceRule } from "../../lib/rule";
import { asList, field, isRecord } from "../../lib/values";

/** Types that describe an instance's disks the way `aws.ec2.Instance` does (`rootBlockDevice`, `ebsBlockDevices`). */
const INSTANCE_SHAPED = [
  "aws:ec2/instance:Instance",
  "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
  "aws:ec2/launchConfiguration:LaunchConfiguration",
];
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/**
 * Whether an `encrypted` value turns encryption on. Instances take a boolean;
 * launch templates take the provider's string form ("true"/"false"). Only
 * `true` and `"true"` count: `false`, `"false"`, absent (the AMI's or the
 * account's default, often unencrypted) and anything else do not.
 */
export function encryptionOn(value: unknown): boolean {
  return value === true || (typeof value === "string" && value.trim().toLowerCase() === "true");
}

function shown(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/**
 * Root and data volumes (EC2 instances, launch templates, launch configurations, spot requests, EBS volumes) are encrypted.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description:
      "Root and data volumes (EC2 instances, launch templates, launch configurations, spot requests, EBS volumes) are encrypted.",
    why: "The state disk holds the user's OpenClaw memory, files and secrets; unencrypted volumes and their snapshots can be read by anyone who gets a copy. A launch template is the same disk by another name: every instance it starts gets its block devices.",
    fix: "Set `encrypted: true` on the EBS volume, on `rootBlockDevice` and on every `ebsBlockDevices` entry; on a launch template, give every `blockDeviceMappings` entry `ebs: { encrypted: \"true\" }` (optionally with a `kmsKeyId`).",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [...INSTANCE_SHAPED, LAUNCH_TEMPLATE, "aws:ebs/volume:Volume"],
  },
  (args, report) => {
    const props = args.props;
    if (args.type === "aws:ebs/volume:Volume") {
      if (!encryptionOn(props.encrypted)) report(`\`encrypted\` must be true; got ${shown(props.encrypted)}`);
      return;
    }
    if (args.type === LAUNCH_TEMPLATE) {
      const mappings = asList(props.blockDeviceMappings);
      const withEbs = mappings.filter((mapping) => isRecord(field(mapping, "ebs")));
      // No EBS mapping: the root volume comes from the AMI's defaults, which are often unencrypted.
      if (withEbs.length === 0) {
        report("`blockDeviceMappings` sets no `ebs` block, so the root volume keeps the AMI's (often unencrypted) default; add one with `encrypted: \"true\"`");
      }
      mappings.forEach((mapping, index) => {
        const ebs = field(mapping, "ebs");
        if (!isRecord(ebs)) return; // instance store or `noDevice`: no EBS volume
        if (!encryptionOn(ebs.encrypted)) {
          report(`\`blockDeviceMappings[${index}].ebs.encrypted\` must be "true"; got ${shown(ebs.encrypted)}`);
        }
      });
      return;
    }
    const root = props.rootBlockDevice;
    if (!encryptionOn(field(root, "encrypted"))) {
      report(`\`rootBlockDevice.encrypted\` must be true; got ${shown(field(root, "encrypted"))}`);
    }
    asList(props.ebsBlockDevices).forEach((device, index) => {
      if (!encryptionOn(field(device, "encrypted"))) {
        report(`\`ebsBlockDevices[${index}].encrypted\` must be true; got ${shown(field(device, "encrypted"))}`);
      }
    });
  },
);
