import * as pulumi from "@pulumi/pulumi";
import {
  type ClawChatInstall,
  HOST_DEFAULTS,
  type HostImage,
  type HostRegistration,
  type ProxyDevice,
  type SupportAccess,
  type HostVersions,
  type SnapshotSchedule,
  type SshAccess,
} from "../../core/host-config.js";
import type { HostMirrors } from "../../core/mirrors.js";
import type { SizePreset } from "../../core/presets.js";

/**
 * The cloud-neutral args every host component takes. From a stack they arrive
 * parsed (`program/host-config.ts`); used directly, the components resolve a
 * missing value from the same `HOST_DEFAULTS` (`core/host-config.ts`), and the
 * cloud-init renderer checks every value it writes. The CIDR lists accept
 * outputs of other resources (`pulumi.Input`).
 */
export interface HostArgs {
  /** Base name of every child resource and the host's hostname. */
  name: string;
  /** The cloud's region (`nyc3`, `eu-west-1`, `europe-west1`). */
  region: string;
  /** Size preset; see `core/presets.ts`. Defaults to `small`. */
  size?: SizePreset;
  /** Sources allowed to reach the TLS gateway endpoint (TCP 3000). Must not be empty. */
  gatewayCidrs: pulumi.Input<string[]>;
  /** Sources allowed to reach ClawChat (UDP 49152-65535). Defaults to none: UDP stays closed. */
  clawchatClientCidrs?: pulumi.Input<string[]>;
  /**
   * How the ClawChat server is installed (`cloud-init/bundle.ts`). Defaults to
   * `{ install: "auto" }`: embedded in user-data when it fits the cloud's
   * budget, else fetched from `bundleUrl`; no server at all when
   * `clawchatClientCidrs` is empty.
   */
  clawchat?: ClawChatInstall;
  /** SSH access: port 22 and a key only when given. Defaults to `null`: no port 22, no key. */
  sshAccess?: SshAccess | null;
  /** Size of the separate state disk in GiB. Defaults to 20. */
  stateDiskGiB?: number;
  /** Exact OpenClaw and Node.js versions installed on the host, optionally with their hashes. */
  versions: HostVersions;
  /** The OS image: `debian-12` or `ubuntu-24.04`. Defaults to `debian-12`. */
  image?: HostImage;
  /** Internal HTTPS mirrors for npm and Node.js (each needs its pin in `versions`). Defaults to none: the public registries. */
  mirrors?: HostMirrors;
  /** Extra tags (labels on GCP) on every resource; `ManagedBy=claw-cloud` is always added. */
  tags?: Record<string, string>;
  /**
   * A gateway token given as a Pulumi secret, delivered through the cloud's
   * secret store (AWS SSM SecureString, GCP Secret Manager). Defaults to none:
   * the host generates its own token at first boot.
   */
  gatewayToken?: pulumi.Input<string>;
  /** Create the state disk from this snapshot (restore). Defaults to a fresh empty disk. */
  restoreFromSnapshot?: string;
  /** Snapshot schedule; hosts whose cloud schedules per instance (DigitalOcean backups) apply it themselves. */
  snapshots?: SnapshotSchedule;
  /**
   * First-boot registration with the provisioning API (the API adds it to real `up` jobs). Its token is
   * single use and valid for an hour; when set, the components register user-data as a Pulumi secret so
   * it never appears in plans, state or logs in plaintext. Defaults to none: the host does not register.
   */
  registration?: HostRegistration;
  /**
   * Support access (docs/zero-access.md): the user's device keys pinned on the host and the API its support
   * agent asks for grants; needs `registration`. Defaults to none: no support agent, user or firewall set.
   */
  supportAccess?: SupportAccess;
  /** The chat proxy's device, approved on the gateway at first boot (docs/proxy.md). Defaults to none. */
  proxyDevice?: ProxyDevice;
}

/** The args with every default resolved. */
export type ResolvedHostArgs = Required<Omit<HostArgs, "gatewayToken" | "restoreFromSnapshot" | "snapshots" | "registration" | "mirrors" | "supportAccess" | "proxyDevice">> &
  Pick<HostArgs, "gatewayToken" | "restoreFromSnapshot" | "snapshots" | "registration" | "mirrors" | "supportAccess" | "proxyDevice">;

export function resolveHostArgs(args: HostArgs): ResolvedHostArgs {
  return {
    ...args,
    size: args.size ?? HOST_DEFAULTS.size,
    image: args.image ?? HOST_DEFAULTS.image,
    clawchatClientCidrs: args.clawchatClientCidrs ?? [...HOST_DEFAULTS.clawchatClientCidrs],
    clawchat: args.clawchat ?? { ...HOST_DEFAULTS.clawchat },
    sshAccess: args.sshAccess ?? HOST_DEFAULTS.sshAccess,
    stateDiskGiB: args.stateDiskGiB ?? HOST_DEFAULTS.stateDiskGiB,
    tags: args.tags ?? { ...HOST_DEFAULTS.tags },
  };
}

/** The sources of a host's inbound rules, once known. */
export interface HostSources {
  gatewayCidrs: string[];
  clawchatClientCidrs: string[];
}

/** Resolved args whose CIDR lists are known: what the pure functions (firewall rules, boot input) take. */
export type KnownHostArgs = Omit<ResolvedHostArgs, keyof HostSources> & HostSources;

/**
 * Calls `build` with the args' CIDR lists: now, when they are plain lists (a
 * stack's parsed config; errors then surface before anything is created), or
 * once they resolve, when another resource's outputs feed them.
 */
export function withKnownSources<R>(args: ResolvedHostArgs, build: (known: KnownHostArgs) => R): R | pulumi.Output<pulumi.Unwrap<R>> {
  const { gatewayCidrs, clawchatClientCidrs } = args;
  if (isPlainList(gatewayCidrs) && isPlainList(clawchatClientCidrs)) return build({ ...args, gatewayCidrs, clawchatClientCidrs });
  return pulumi
    .all([pulumi.output(gatewayCidrs), pulumi.output(clawchatClientCidrs)])
    .apply(([gateway, clawchat]) => build({ ...args, gatewayCidrs: gateway, clawchatClientCidrs: clawchat })) as pulumi.Output<pulumi.Unwrap<R>>;
}

/** The CIDR lists of args that must have them now (plain lists); throws otherwise. */
export function knownSources(args: ResolvedHostArgs): HostSources {
  const { gatewayCidrs, clawchatClientCidrs } = args;
  if (isPlainList(gatewayCidrs) && isPlainList(clawchatClientCidrs)) return { gatewayCidrs, clawchatClientCidrs };
  throw new Error("`gatewayCidrs` and `clawchatClientCidrs` must be known here (plain lists); resolve them with `withKnownSources` first");
}

function isPlainList(value: pulumi.Input<string[]>): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}

/** The outputs every host component exposes. */
export interface HostOutputs {
  publicIpv4: pulumi.Output<string>;
  /** `null` where the network has no IPv6 (AWS and GCP default networks). */
  publicIpv6: pulumi.Output<string | null>;
  /** `https://<ipv4>:3000`: TLS with a per-host certificate; pin its fingerprint (docs/host.md). */
  gatewayUrl: pulumi.Output<string>;
  instanceId: pulumi.Output<string>;
  stateDiskId: pulumi.Output<string>;
}
