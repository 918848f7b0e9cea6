import * as pulumi from "@pulumi/pulumi";
import {
  chooseClawChatBundle,
  type ClawChatInstall,
  encodeUserData,
  type EncodedUserData,
  type GatewayTokenSource,
  type HostBootInput,
  loadClawChatBundle,
  renderCloudConfig,
} from "../../cloud-init/index.js";
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

/**
 * The ClawChat install a host actually gets: `auto` means no server when no
 * ClawChat client may reach the host (UDP closed), otherwise what was asked.
 */
export function effectiveClawChatInstall(args: Pick<ResolvedHostArgs, "clawchat" | "clawchatClientCidrs">): ClawChatInstall {
  if (args.clawchat.install === "auto" && args.clawchatClientCidrs.length === 0) return { install: "none" };
  return args.clawchat;
}

/** Hooks of `hostBootInput`: how the bundle is loaded, where a notice goes. */
export interface BootInputHooks {
  /** Defaults to `loadClawChatBundle` (builds the bundle when it is missing). */
  loadBundle?: () => Buffer;
  /** Receives why `auto` installed no ClawChat server; components pass `pulumi.log.warn`. */
  warn?: (message: string) => void;
}

/**
 * What the cloud-init renderer needs from a host's resolved args, with the
 * ClawChat bundle chosen (`chooseClawChatBundle`; the bundle is loaded only
 * when a server is to be installed). Throws `ConfigError` when the bundle
 * cannot be delivered as configured.
 */
export function hostBootInput(
  cloud: CloudName,
  args: ResolvedHostArgs,
  devicePath: string,
  gatewayToken: GatewayTokenSource,
  hooks: BootInputHooks = {},
): HostBootInput {
  const base: HostBootInput = {
    cloud,
    hostname: args.name,
    memoryMiB: MACHINE_SIZES[cloud][args.size].memoryMiB,
    stateDisk: { devicePath },
    versions: { ...args.versions },
    gatewayCidrs: [...args.gatewayCidrs],
    clawchat: { clientCidrs: [...args.clawchatClientCidrs], portRange: [...CLAWCHAT_PORT_RANGE] },
    ssh: args.sshAccess ? { cidrs: [...args.sshAccess.cidrs] } : null,
    gatewayToken,
    // Before the bundle choice, so the user-data budget counts the registration step.
    ...(args.registration ? { registration: { ...args.registration } } : {}),
  };
  const install = effectiveClawChatInstall(args);
  if (install.install === "none") return { ...base, clawchatBundle: { kind: "disabled" } };
  const choice = chooseClawChatBundle(base, (hooks.loadBundle ?? loadClawChatBundle)(), install);
  if (choice.notice !== undefined) hooks.warn?.(choice.notice);
  return { ...base, clawchatBundle: choice.bundle };
}

/**
 * User-data as a resource input: a Pulumi secret when it carries the registration token, so the token
 * is encrypted in state and redacted in plans; plain otherwise (reviewable by the policy pack).
 */
export function userDataInput<T>(args: Pick<ResolvedHostArgs, "registration">, value: pulumi.Input<T>): pulumi.Input<T> {
  return args.registration ? (pulumi.secret(value) as pulumi.Output<T>) : value;
}

/** Renders the cloud-config and encodes it the way `cloud`'s API takes it. */
export function renderUserData(input: HostBootInput): EncodedUserData {
  return encodeUserData(input.cloud, renderCloudConfig(input));
}
