import { encodeUserData, renderCloudConfig, type EncodedUserData, type GatewayTokenSource, type HostBootInput } from "../../cloud-init/index.js";
import { CLAWCHAT_PORT_RANGE, type CloudName, MACHINE_SIZES } from "../../program/presets.js";
import type { ResolvedHostArgs } from "./args.js";

/**
 * Stable by-id device paths of the state disk, per cloud. The renderer mounts
 * this path, so the state disk is found by identity, never by probe order.
 */
export const stateDevicePaths = {
  /** DigitalOcean names the volume's SCSI id after the volume name. */
  digitalocean: (volumeName: string) => `/dev/disk/by-id/scsi-0DO_Volume_${volumeName}`,
  /** GCE exposes an attached disk under `google-<deviceName>`. */
  gcp: (deviceName: string) => `/dev/disk/by-id/google-${deviceName}`,
  /**
   * On Nitro instances an EBS volume is an NVMe device whose serial is the
   * volume id without the dash (`vol-0abc` → `vol0abc`).
   */
  aws: (volumeId: string) => `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`,
};

/** What the cloud-init renderer needs from a host's resolved args (pure). */
export function hostBootInput(
  cloud: CloudName,
  args: ResolvedHostArgs,
  devicePath: string,
  gatewayToken: GatewayTokenSource,
): HostBootInput {
  return {
    cloud,
    hostname: args.name,
    memoryMiB: MACHINE_SIZES[cloud][args.size].memoryMiB,
    stateDisk: { devicePath },
    versions: { ...args.versions },
    gatewayCidrs: [...args.gatewayCidrs],
    clawchat: { clientCidrs: [...args.clawchatClientCidrs], portRange: [...CLAWCHAT_PORT_RANGE] },
    ssh: args.sshAccess ? { cidrs: [...args.sshAccess.cidrs] } : null,
    gatewayToken,
  };
}

/** Renders the cloud-config and encodes it the way `cloud`'s API takes it. */
export function renderUserData(input: HostBootInput): EncodedUserData {
  return encodeUserData(input.cloud, renderCloudConfig(input));
}
