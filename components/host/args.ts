import type * as pulumi from "@pulumi/pulumi";
import type { ClawChatInstall, RegistrationInput } from "../../cloud-init/index.js";
import type { SnapshotSchedule, SshAccess } from "../../program/host-config.js";
import type { SizePreset } from "../../program/presets.js";

/**
 * The cloud-neutral args every host component takes. Values arrive validated
 * (`program/host-config.ts`); the components still resolve their own defaults
 * so they can be used directly.
 */
export interface HostArgs {
  /** Base name of every child resource and the host's hostname. */
  name: string;
  /** The cloud's region (`nyc3`, `eu-west-1`, `europe-west1`). */
  region: string;
  /** Size preset; see `program/presets.ts`. Defaults to `small`. */
  size?: SizePreset;
  /** Sources allowed to reach the TLS gateway endpoint (TCP 3000). Must not be empty. */
  gatewayCidrs: string[];
  /** Sources allowed to reach ClawChat (UDP 49152-65535). Defaults to none: UDP stays closed. */
  clawchatClientCidrs?: string[];
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
  /** Exact OpenClaw and Node.js versions installed on the host. */
  versions: { openclaw: string; node: string };
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
  registration?: RegistrationInput;
}

export const HOST_ARG_DEFAULTS = {
  size: "small" as SizePreset,
  clawchatClientCidrs: [] as string[],
  clawchat: { install: "auto" } as ClawChatInstall,
  sshAccess: null as SshAccess | null,
  stateDiskGiB: 20,
  tags: {} as Record<string, string>,
};

/** The args with every default resolved. */
export type ResolvedHostArgs = Required<Omit<HostArgs, "gatewayToken" | "restoreFromSnapshot" | "snapshots" | "registration">> &
  Pick<HostArgs, "gatewayToken" | "restoreFromSnapshot" | "snapshots" | "registration">;

export function resolveHostArgs(args: HostArgs): ResolvedHostArgs {
  return {
    ...args,
    size: args.size ?? HOST_ARG_DEFAULTS.size,
    clawchatClientCidrs: args.clawchatClientCidrs ?? HOST_ARG_DEFAULTS.clawchatClientCidrs,
    clawchat: args.clawchat ?? HOST_ARG_DEFAULTS.clawchat,
    sshAccess: args.sshAccess ?? HOST_ARG_DEFAULTS.sshAccess,
    stateDiskGiB: args.stateDiskGiB ?? HOST_ARG_DEFAULTS.stateDiskGiB,
    tags: args.tags ?? HOST_ARG_DEFAULTS.tags,
  };
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
