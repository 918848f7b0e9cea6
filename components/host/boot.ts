import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
  encodeUserData,
  type EncodedUserData,
  type GatewayTokenSource,
  type HostBootInput,
  loadClawChatBundle,
  loadSupportBundle,
  type HostCloudConfig,
  renderHostCloudConfig,
  type SupportAgentDelivery,
  withPublicIpv4,
  withStateDevicePath,
} from "../../cloud-init/index.js";
import { ConfigError } from "../../core/errors.js";
import { type ClawChatInstall, HOST_DEFAULTS, supportAgentUrl } from "../../core/host-config.js";
import { CLAWCHAT_PORT_RANGE, type CloudName, MACHINE_SIZES } from "../../core/presets.js";
import { type KnownHostArgs, knownSources, type ResolvedHostArgs } from "./args.js";

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
export function effectiveClawChatInstall(args: Pick<KnownHostArgs, "clawchat" | "clawchatClientCidrs">): ClawChatInstall {
  if (args.clawchat.install === "auto" && args.clawchatClientCidrs.length === 0) return { install: "none" };
  return args.clawchat;
}

/** Hooks of `hostUserData`: how the bundle is loaded, where a notice goes. */
export interface BootInputHooks {
  /** Defaults to `loadClawChatBundle` (builds the bundle when it is missing). */
  loadBundle?: () => Buffer;
  /** Receives why `auto` installed no ClawChat server; components pass `pulumi.log.warn`. */
  warn?: (message: string) => void;
  /** Render the host's public address as `STAND_IN_PUBLIC_IPV4`, to be put in by `withDevicePath` once allocated. */
  publicIpv4StandIn?: boolean;
  /** Defaults to `loadSupportBundle` (builds support/dist/clawstack-support.js when missing); used only with `supportAccess`. */
  loadSupportBundle?: () => Buffer;
}

/**
 * What the cloud-init renderer needs from a host's args, before the ClawChat
 * bundle is chosen (`renderHostCloudConfig` chooses it).
 */
/**
 * Rendered in place of the host's stable public address while it is not allocated yet: the longest IPv4
 * text, so the real address never makes user-data longer than what the budget check measured.
 */
export const STAND_IN_PUBLIC_IPV4 = "255.255.255.255";

export function hostBootInput(
  cloud: CloudName,
  args: ResolvedHostArgs,
  devicePath: string,
  gatewayToken: GatewayTokenSource,
  publicIpv4?: string,
): HostBootInput {
  const { gatewayCidrs, clawchatClientCidrs } = knownSources(args);
  return {
    cloud,
    hostname: args.name,
    memoryMiB: MACHINE_SIZES[cloud][args.size].memoryMiB,
    stateDisk: { devicePath },
    versions: { ...args.versions },
    ...(args.mirrors ? { mirrors: { ...args.mirrors } } : {}),
    gatewayCidrs: [...gatewayCidrs],
    clawchat: { clientCidrs: [...clawchatClientCidrs], portRange: [...CLAWCHAT_PORT_RANGE] },
    ssh: args.sshAccess ? { cidrs: [...args.sshAccess.cidrs] } : null,
    gatewayToken,
    // Before the bundle choice, so the user-data budget counts the registration step.
    ...(args.registration ? { registration: { ...args.registration } } : {}),
    ...(args.proxyDevice ? { proxyDevice: { ...args.proxyDevice } } : {}),
    ...(publicIpv4 !== undefined ? { publicIpv4 } : {}),
  };
}

/** A host's user-data: its cloud-config rendered once, and how it reaches the host. */
export interface HostUserData {
  /** The `#cloud-config` text. */
  cloudConfig: string;
  /** Encoded for the cloud's API, within its budget. */
  userData: EncodedUserData;
  /**
   * SHA-256 of everything the host's first boot runs: the cloud-config with the single-use registration
   * token (new at every `up` the API runs) masked. The components replace the instance when it changes
   * (`replacementTrigger`), so a version bump or any other user-data change really runs on a new
   * instance, while a fresh registration token alone does not replace anything.
   */
  fingerprint: string;
}

/** The fingerprint of a rendered cloud-config: its SHA-256 with the registration token (if any) masked. */
export function bootFingerprint(cloudConfig: string, registration: { token: string } | undefined): string {
  const masked = registration ? cloudConfig.split(registration.token).join("<registration token>") : cloudConfig;
  return createHash("sha256").update(masked).digest("hex");
}

/**
 * Renders a host's cloud-config once (checked by the renderer, the ClawChat
 * bundle chosen for the cloud's budget) and encodes it for `cloud`'s API.
 * With `supportAccess`, the agent is embedded when the whole user-data still
 * fits the cloud's limit (`auto`, `embedded`) and fetched at first boot
 * otherwise (`auto`, `fetch`: from `supportAccess.agent.bundleUrl`, by default
 * the API's `GET /v1/support/agent.js`, checked against its SHA-256 pinned in
 * user-data); the embedded try is the only render when it fits.
 * Throws `ConfigError` when it cannot be delivered as configured.
 */
export function hostUserData(
  cloud: CloudName,
  args: KnownHostArgs,
  devicePath: string,
  gatewayToken: GatewayTokenSource,
  hooks: BootInputHooks = {},
): HostUserData {
  const base = hostBootInput(cloud, args, devicePath, gatewayToken, hooks.publicIpv4StandIn ? STAND_IN_PUBLIC_IPV4 : undefined);
  const clawchat = effectiveClawChatInstall(args);
  const loadBundle = hooks.loadBundle ?? loadClawChatBundle;
  if (!args.supportAccess) {
    const rendered = renderHostCloudConfig(base, clawchat, loadBundle);
    return finish(args, rendered, encodeUserData(cloud, rendered.cloudConfig), hooks);
  }
  // The support bundle is loaded only for a host with support access (before the ClawChat choice, so the budget counts it).
  const access = args.supportAccess;
  const bundle = (hooks.loadSupportBundle ?? loadSupportBundle)();
  const agent = access.agent ?? HOST_DEFAULTS.supportAgent;
  const withAgent = (delivery: SupportAgentDelivery): HostBootInput => ({
    ...base,
    supportAccess: {
      pinnedKeys: access.pinnedKeys.map(({ signing, sealing }) => ({ signing, sealing })),
      apiUrl: access.apiUrl,
      bundle,
      ...(delivery.kind === "fetch" ? { delivery } : {}),
    },
  });
  const fetched = (): HostUserData => {
    const rendered = renderHostCloudConfig(withAgent({ kind: "fetch", url: agent.bundleUrl ?? supportAgentUrl(access.apiUrl) }), clawchat, loadBundle);
    return finish(args, rendered, encodeUserData(cloud, rendered.cloudConfig), hooks);
  };
  if (agent.install === "fetch") return fetched();
  const embedded = renderHostCloudConfig(withAgent({ kind: "embedded" }), clawchat, loadBundle);
  let userData: EncodedUserData;
  try {
    userData = encodeUserData(cloud, embedded.cloudConfig);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The embedded agent (about 14 KB gzipped) does not fit every cloud (AWS: 16 KiB): `auto` then fetches it at
    // first boot, its SHA-256 pinned in user-data; `embedded`, asked for in so many words, is refused.
    if (agent.install === "embedded") {
      throw new ConfigError(
        "supportAccess.agent.install",
        `\`supportAccess.agent.install\` cannot be embedded on ${cloud}: ${error.message}; use auto or fetch (with \`supportAccess.agent.bundleUrl\`, or the API's ${supportAgentUrl(access.apiUrl)})`,
      );
    }
    return fetched();
  }
  return finish(args, embedded, userData, hooks);
}

/** The rendered host: its ClawChat notice said, its fingerprint taken. */
function finish(args: KnownHostArgs, rendered: HostCloudConfig, userData: EncodedUserData, hooks: BootInputHooks): HostUserData {
  if (rendered.notice !== undefined) hooks.warn?.(rendered.notice);
  return {
    cloudConfig: rendered.cloudConfig,
    userData,
    fingerprint: bootFingerprint(rendered.cloudConfig, args.registration),
  };
}

/**
 * The same user-data with the state disk's real device path, for a disk whose
 * id (and so its path) exists only once it is created: `rendered` was made
 * with `standInPath`, a path of the same form; nothing is rendered again.
 */
export function withDevicePath(cloud: CloudName, rendered: HostUserData, standInPath: string, devicePath: string, publicIpv4?: string): EncodedUserData {
  const withPath = withStateDevicePath(rendered.cloudConfig, standInPath, devicePath);
  return encodeUserData(cloud, publicIpv4 === undefined ? withPath : withPublicIpv4(withPath, STAND_IN_PUBLIC_IPV4, publicIpv4));
}

/** The same user-data with the host's allocated public address in place of `STAND_IN_PUBLIC_IPV4`. */
export function withPublicAddress(cloud: CloudName, rendered: HostUserData, publicIpv4: string): EncodedUserData {
  return encodeUserData(cloud, withPublicIpv4(rendered.cloudConfig, STAND_IN_PUBLIC_IPV4, publicIpv4));
}

/**
 * User-data as a resource input: a Pulumi secret when it carries the registration token, so the token
 * is encrypted in state and redacted in plans; plain otherwise (reviewable by the policy pack).
 */
export function userDataInput<T>(args: { registration?: unknown }, value: pulumi.Input<T>): pulumi.Input<T> {
  return args.registration ? (pulumi.secret(value) as pulumi.Output<T>) : value;
}
