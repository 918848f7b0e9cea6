/**
 * Typed inputs of the host cloud-init renderer. The host components compute
 * the per-cloud parts (state-disk device path, token delivery) and pass them
 * in; the renderer itself has one code path for the three clouds.
 */

import type { CloudName } from "../core/presets.js";

export type Cloud = CloudName;

/** How the gateway token reaches the host. Never the token itself. */
export type GatewayTokenSource =
  /** The host generates 256 random bits at first boot (the default, and the only choice on DigitalOcean). */
  | { source: "generate" }
  /** The host reads an SSM SecureString through its narrowly scoped instance role. */
  | { source: "aws-ssm"; parameterName: string; region: string }
  /** The host reads a Secret Manager secret through its own service account. */
  | { source: "gcp-secret-manager"; secretName: string; project: string };

/** Where the ClawChat server bundle comes from. */
export type ClawChatBundleInput =
  /** The esbuild bundle, embedded in user-data (gzip + base64) when the cloud's budget allows it. */
  | { kind: "embedded"; bundle: Buffer }
  /** Fetched at boot from `url` and checked against the SHA-256 (hex) pinned in user-data. */
  | { kind: "fetch"; url: string; sha256: string }
  /** No ClawChat server on this host. */
  | { kind: "disabled" };

/**
 * Optional first-boot registration with the provisioning API
 * (`POST /v1/instances/:id/register`, docs/jobs.md): once TLS and the gateway
 * token exist, the host sends its gateway token and TLS fingerprint, proving
 * itself with the single-use registration token. The token travels in
 * user-data (a root-only file on the host, deleted after success); it is valid
 * for one hour and burned on use. Formats: `core/registration.ts`.
 */
export interface RegistrationInput {
  /** `https://<api>/v1/instances/<instanceId>/register`, exactly as the API's job runner passes it. */
  apiUrl: string;
  /** The API's instance id, `inst_` + 32 hex. */
  instanceId: string;
  /** The single-use registration token, `csreg_...`. A secret: components render user-data inside a secret Output. */
  token: string;
}

/**
 * Support access (docs/zero-access.md): the host runs the support agent, which asks `apiUrl` for grants
 * signed by one of `pinnedKeys` and installs them. Needs `registration` (the host sends its API
 * credential when it registers, and the pinned keys name its instance).
 */
export interface SupportAccessInput {
  /** The user's device keys, `{signing, sealing}` base64 SPKI DER (core/zero-access/user-keys.ts). */
  pinnedKeys: { signing: string; sealing: string }[];
  /** `https://<api>/v1`. */
  apiUrl: string;
  /**
   * The built agent and wrapper (support/dist/clawstack-support.js): embedded in user-data (gzip + base64),
   * or, with `delivery` fetch, only its SHA-256, which the fetched bytes must match.
   */
  bundle: Buffer;
  /** How the bundle reaches the host. Defaults to `{ kind: "embedded" }`. */
  delivery?: SupportAgentDelivery;
}

/** How the support agent reaches the host. */
export type SupportAgentDelivery =
  /** In user-data, gzip + base64 (fits DigitalOcean's 64 KiB and GCP's 256 KiB). */
  | { kind: "embedded" }
  /**
   * Fetched at first boot from `url` (HTTPS only) and checked against the SHA-256 of `bundle` pinned in
   * user-data before it is installed; a failed fetch or a mismatch leaves the host without support access.
   */
  | { kind: "fetch"; url: string };

export interface HostBootInput {
  cloud: Cloud;
  hostname: string;
  /** Memory of the size preset: sets the Node heap cap, MemoryMax, and swap (< 4 GiB gets swap). */
  memoryMiB: number;
  /** Stable /dev/disk/by-id path of the state disk, computed by the host component. */
  stateDisk: { devicePath: string };
  /**
   * Pinned exact versions (validated upstream). `nodeSha256` pins the SHA-256
   * (hex) of the official `node-v<node>-linux-<arch>.tar.xz` per architecture;
   * without it the host checks the tarball against nodejs.org's SHASUMS256.txt
   * fetched over HTTPS (weaker: see docs/cloud-init.md). `openclawIntegrity`
   * pins npm's `sha512-...` integrity of `openclaw@<openclaw>`; the host always
   * runs `npm audit signatures` as well.
   */
  versions: {
    openclaw: string;
    node: string;
    nodeSha256?: { x64?: string; arm64?: string };
    openclawIntegrity?: string;
  };
  /** Host firewall: TCP 3000 from these only. */
  gatewayCidrs: string[];
  clawchat: { clientCidrs: string[]; portRange: [number, number] };
  /**
   * `null`: port 22 closed on the host firewall and sshd disabled. Otherwise 22
   * is open from `cidrs` only, and `authorizedKeys` (public keys) go to the
   * default user (clouds that install keys themselves may leave it out).
   */
  ssh: { cidrs: string[]; authorizedKeys?: string[] } | null;
  gatewayToken: GatewayTokenSource;
  /** ClawChat server bundle. Defaults to `HOST_DEFAULTS.clawchatBundle` (`{ kind: "disabled" }`). */
  clawchatBundle?: ClawChatBundleInput;
  /** First-boot registration with the provisioning API (see `RegistrationInput`); none when unset. */
  registration?: RegistrationInput;
  /** Support access (see `SupportAccessInput`); no support agent, user or firewall set when unset. */
  supportAccess?: SupportAccessInput;
  /**
   * The chat proxy's device (docs/proxy.md "Device identity"): `{id, publicKey}` of the deployment's Ed25519
   * key; first boot approves exactly it as an operator device of the gateway. None when unset.
   */
  proxyDevice?: { id: string; publicKey: string };
  /**
   * The host's stable public IPv4 address (its Elastic IP, reserved IP or static address), which the
   * ClawChat security file names, so it stays valid across replacements. Absent: first boot asks the
   * metadata service for the instance's current public address.
   */
  publicIpv4?: string;
  /**
   * Internal HTTPS mirrors (`core/mirrors.ts`): npm installs openclaw from
   * `npmRegistry` (then `versions.openclawIntegrity` is required), Node.js
   * comes from `nodeDist` (then `versions.nodeSha256.x64` is required). None when unset.
   */
  mirrors?: { npmRegistry?: string; nodeDist?: string };
}

/** User-data as each cloud's API takes it. */
export type EncodedUserData =
  /** DigitalOcean `userData`, AWS `userData`: the cloud-config as plain text. */
  | { encoding: "plain"; userData: string; bytes: number }
  /** AWS `userDataBase64`: gzip of the cloud-config, base64 (cloud-init detects gzip). */
  | { encoding: "gzip-base64"; userDataBase64: string; bytes: number }
  /**
   * GCP metadata `user-data` (base64 of gzip) plus `user-data-encoding: base64`
   * so cloud-init's GCE data source decodes it.
   */
  | { encoding: "gce-base64"; metadata: { "user-data": string; "user-data-encoding": "base64" }; bytes: number };
