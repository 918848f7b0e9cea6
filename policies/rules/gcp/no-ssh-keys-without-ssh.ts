import { resourceRule } from "../../lib/rule";
import { isSet } from "../../lib/values";

/** The metadata keys GCP's guest agent installs SSH keys from (`sshKeys` is the deprecated spelling). */
export const SSH_KEY_METADATA: readonly string[] = ["ssh-keys", "sshKeys"];

const PROJECT_METADATA_ITEM = "gcp:compute/projectMetadataItem:ProjectMetadataItem";

/**
 * GCP instances, templates and project metadata carry no `ssh-keys`/`sshKeys` unless the stack configures SSH access.
 *
 * @severity high
 * @enforcement mandatory
 * @unknown violation
 */
export default resourceRule(
  __filename,
  {
    description: "GCP instances, templates and project metadata carry no `ssh-keys`/`sshKeys` unless the stack configures SSH access.",
    why: "An `ssh-keys` metadata entry is a key pair by another name: the guest agent installs it and whoever holds the private key logs in; ClawStack hosts are managed without SSH unless the stack asks for it.",
    fix: "Remove the `ssh-keys` (and `sshKeys`) metadata entry, or configure `clawstack:sshAccess` (public key and source CIDRs) for the stack.",
    severity: "high",
    enforcementLevel: "mandatory",
    unknownValues: "violation",
    appliesTo: [
      "gcp:compute/instance:Instance",
      "gcp:compute/instanceTemplate:InstanceTemplate",
      "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
      "gcp:compute/projectMetadata:ProjectMetadata",
      PROJECT_METADATA_ITEM,
    ],
  },
  (args, report, config) => {
    if (config.sshAccess === true) return;
    if (args.type === PROJECT_METADATA_ITEM) {
      const key = String(args.props.key ?? "");
      if (SSH_KEY_METADATA.includes(key) && isSet(args.props, "value")) {
        report(`project metadata item \`${key}\` installs SSH keys but the stack configures no SSH access (\`clawstack:sshAccess\`)`);
      }
      return;
    }
    const metadata = args.props.metadata;
    for (const key of SSH_KEY_METADATA) {
      if (isSet(metadata, key)) {
        report(`\`metadata["${key}"]\` installs SSH keys but the stack configures no SSH access (\`clawstack:sshAccess\`)`);
      }
    }
  },
);
