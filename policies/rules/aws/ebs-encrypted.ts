import { resourceRule } from "../../lib/rule";
import { asList, field } from "../../lib/values";

/**
 * Root and data volumes (EC2 block devices, EBS volumes) are encrypted.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "Root and data volumes (EC2 block devices, EBS volumes) are encrypted.",
    why: "The state disk holds the user's OpenClaw memory, files and secrets; unencrypted volumes and their snapshots can be read by anyone who gets a copy.",
    fix: "Set `encrypted: true` on the EBS volume, on `rootBlockDevice` and on every `ebsBlockDevices` entry (optionally with a `kmsKeyId`).",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: ["aws:ec2/instance:Instance", "aws:ebs/volume:Volume"],
  },
  (args, report) => {
    const props = args.props;
    if (args.type === "aws:ebs/volume:Volume") {
      if (props.encrypted !== true) report(`\`encrypted\` must be true; got ${JSON.stringify(props.encrypted ?? null)}`);
      return;
    }
    const root = props.rootBlockDevice;
    if (field(root, "encrypted") !== true) {
      report(`\`rootBlockDevice.encrypted\` must be true; got ${JSON.stringify(field(root, "encrypted") ?? null)}`);
    }
    asList(props.ebsBlockDevices).forEach((device, index) => {
      if (field(device, "encrypted") !== true) report(`\`ebsBlockDevices[${index}].encrypted\` must be true`);
    });
  },
);
