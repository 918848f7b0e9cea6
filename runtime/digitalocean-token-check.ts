import {
  DigitalOceanToken,
  digitalOceanRequest,
  type DigitalOceanApiOptions,
} from "./digitalocean-api.js";

/**
 * Whether a DigitalOcean token can do what ClawStack needs (issue 3 item 4).
 *
 * DigitalOcean has no endpoint that lists a token's scopes (api-v2 issue #133
 * asked for one in 2015; custom scopes shipped in 2024 without it), and
 * `GET /v2/account` needs `account:read`, which ClawStack does not ask for.
 * So each scope is probed with one request that cannot change anything:
 * - read scopes: a list call with `per_page=1`;
 * - create scopes: a create call with an empty body, which the API rejects as
 *   invalid (400/422) when the scope is granted and with 403 when it is not;
 * - update and delete scopes: a call on an ID that cannot exist (`0` or the
 *   all-zero UUID), answered 404 with the scope and 403 without.
 * A 401 means the token itself is wrong, revoked or expired.
 */

const NO_SUCH_ID = "00000000-0000-0000-0000-000000000000";
/** A documentation address (TEST-NET-1) no reserved IP has: probes that name one answer 403 or 404, never act. */
const NO_SUCH_ADDRESS = "192.0.2.1";

export type DigitalOceanFeature = "host" | "state-volume" | "ssh";

export interface ScopeRequirement {
  readonly scope: string;
  readonly why: string;
  /**
   * `host`: every DigitalOcean host; `state-volume`: hosts with a state volume
   * and its snapshot job; `ssh`: only stacks that set `sshAccess` (SSH is off by default).
   */
  readonly feature: DigitalOceanFeature;
  readonly probe: { readonly method: "GET" | "POST" | "PUT" | "DELETE"; readonly path: string; readonly body?: unknown };
}

/** The minimal custom scopes, documented in docs/connect-your-cloud.md from this same list. */
export const DIGITALOCEAN_REQUIRED_SCOPES: readonly ScopeRequirement[] = [
  { scope: "droplet:create", feature: "host", why: "create the OpenClaw droplet", probe: { method: "POST", path: "/v2/droplets", body: {} } },
  { scope: "droplet:read", feature: "host", why: "read the droplet's state", probe: { method: "GET", path: "/v2/droplets?per_page=1" } },
  { scope: "droplet:update", feature: "host", why: "power the droplet on or off and set its backup policy", probe: { method: "POST", path: "/v2/droplets/0/actions", body: {} } },
  { scope: "droplet:delete", feature: "host", why: "delete the droplet when the host is removed", probe: { method: "DELETE", path: "/v2/droplets/0" } },
  { scope: "regions:read", feature: "host", why: "check the region", probe: { method: "GET", path: "/v2/regions?per_page=1" } },
  { scope: "sizes:read", feature: "host", why: "check the droplet size", probe: { method: "GET", path: "/v2/sizes?per_page=1" } },
  { scope: "image:read", feature: "host", why: "find the base image", probe: { method: "GET", path: "/v2/images?per_page=1&type=distribution" } },
  { scope: "actions:read", feature: "host", why: "wait for droplet and volume actions to finish", probe: { method: "GET", path: "/v2/actions?per_page=1" } },
  { scope: "tag:create", feature: "host", why: "tag what ClawStack creates `ManagedBy:claw-cloud`", probe: { method: "POST", path: "/v2/tags", body: {} } },
  { scope: "tag:read", feature: "host", why: "find ClawStack's resources by tag", probe: { method: "GET", path: "/v2/tags?per_page=1" } },
  { scope: "firewall:create", feature: "host", why: "create the host's cloud firewall", probe: { method: "POST", path: "/v2/firewalls", body: {} } },
  { scope: "firewall:read", feature: "host", why: "read the firewall", probe: { method: "GET", path: "/v2/firewalls?per_page=1" } },
  { scope: "firewall:update", feature: "host", why: "change the firewall's rules", probe: { method: "PUT", path: `/v2/firewalls/${NO_SUCH_ID}`, body: {} } },
  { scope: "firewall:delete", feature: "host", why: "delete the firewall with the host", probe: { method: "DELETE", path: `/v2/firewalls/${NO_SUCH_ID}` } },
  { scope: "vpc:read", feature: "host", why: "place the droplet in its VPC (`vpcUuid`, or the region's default VPC)", probe: { method: "GET", path: "/v2/vpcs?per_page=1" } },
  { scope: "reserved_ip:create", feature: "host", why: "reserve the host's stable address", probe: { method: "POST", path: "/v2/reserved_ips", body: {} } },
  { scope: "reserved_ip:read", feature: "host", why: "read the reserved IP and its assignment", probe: { method: "GET", path: "/v2/reserved_ips?per_page=1" } },
  { scope: "reserved_ip:update", feature: "host", why: "assign the reserved IP to the droplet (and to a replacement)", probe: { method: "POST", path: `/v2/reserved_ips/${NO_SUCH_ADDRESS}/actions`, body: {} } },
  { scope: "reserved_ip:delete", feature: "host", why: "release the reserved IP with the host", probe: { method: "DELETE", path: `/v2/reserved_ips/${NO_SUCH_ADDRESS}` } },
  { scope: "block_storage:create", feature: "state-volume", why: "create the state volume", probe: { method: "POST", path: "/v2/volumes", body: {} } },
  { scope: "block_storage:read", feature: "state-volume", why: "read the state volume", probe: { method: "GET", path: "/v2/volumes?per_page=1" } },
  { scope: "block_storage:delete", feature: "state-volume", why: "delete the state volume when asked to", probe: { method: "DELETE", path: `/v2/volumes/${NO_SUCH_ID}` } },
  { scope: "block_storage_action:create", feature: "state-volume", why: "attach the state volume to the droplet", probe: { method: "POST", path: `/v2/volumes/${NO_SUCH_ID}/actions`, body: {} } },
  { scope: "block_storage_snapshot:create", feature: "state-volume", why: "take the scheduled state-volume snapshots", probe: { method: "POST", path: `/v2/volumes/${NO_SUCH_ID}/snapshots`, body: {} } },
  { scope: "block_storage_snapshot:read", feature: "state-volume", why: "list the state volume's snapshots", probe: { method: "GET", path: `/v2/volumes/${NO_SUCH_ID}/snapshots?per_page=1` } },
  // The snapshot job deletes old snapshots through /v2/snapshots/{id}, which DigitalOcean files under `snapshot:*`
  // (and the control panel adds `snapshot:read` with any other `snapshot` scope).
  { scope: "snapshot:read", feature: "state-volume", why: "required by DigitalOcean with `snapshot:delete`", probe: { method: "GET", path: "/v2/snapshots?resource_type=volume&per_page=1" } },
  { scope: "snapshot:delete", feature: "state-volume", why: "delete the state volume's snapshots beyond the retention", probe: { method: "DELETE", path: `/v2/snapshots/${NO_SUCH_ID}` } },
  { scope: "ssh_key:create", feature: "ssh", why: "register the SSH public key given in `sshAccess`", probe: { method: "POST", path: "/v2/account/keys", body: {} } },
  { scope: "ssh_key:read", feature: "ssh", why: "read the registered SSH key", probe: { method: "GET", path: "/v2/account/keys?per_page=1" } },
  { scope: "ssh_key:delete", feature: "ssh", why: "remove the SSH key with the host", probe: { method: "DELETE", path: "/v2/account/keys/0" } },
];

/**
 * Which scopes each part of ClawStack uses, the source the list above must
 * cover exactly (`tests/components/access/digitalocean-scopes-coverage.test.ts` compares
 * the keys with what the DigitalOcean host registers under mocks, and the
 * union with `DIGITALOCEAN_REQUIRED_SCOPES`).
 */
export const DIGITALOCEAN_SCOPES_BY_TYPE: Readonly<Record<string, readonly string[]>> = {
  "digitalocean:index/droplet:Droplet": [
    "droplet:create",
    "droplet:read",
    "droplet:update",
    "droplet:delete",
    "regions:read",
    "sizes:read",
    "image:read",
    "actions:read",
    "tag:create",
    "tag:read",
    "vpc:read",
  ],
  "digitalocean:index/reservedIp:ReservedIp": ["reserved_ip:create", "reserved_ip:read", "reserved_ip:delete"],
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": ["reserved_ip:update", "reserved_ip:read", "droplet:read", "actions:read"],
  "digitalocean:index/volume:Volume": ["block_storage:create", "block_storage:read", "block_storage:delete", "tag:create", "actions:read"],
  "digitalocean:index/volumeAttachment:VolumeAttachment": ["block_storage_action:create", "block_storage:read", "droplet:read", "actions:read"],
  "digitalocean:index/firewall:Firewall": ["firewall:create", "firewall:read", "firewall:update", "firewall:delete"],
  "digitalocean:index/sshKey:SshKey": ["ssh_key:create", "ssh_key:read", "ssh_key:delete"],
};

/** Scopes the state-volume snapshot job (`runtime/digitalocean-volume-job.ts`) uses at run time. */
export const DIGITALOCEAN_SNAPSHOT_JOB_SCOPES: readonly string[] = [
  "block_storage:read",
  "block_storage_snapshot:create",
  "block_storage_snapshot:read",
  "snapshot:read",
  "snapshot:delete",
];

export interface MissingScope {
  readonly scope: string;
  readonly why: string;
}

export interface DigitalOceanTokenCheck {
  /** True when every required scope answered as granted. */
  readonly ok: boolean;
  /** False when the API answered 401: the token is wrong, revoked or expired. */
  readonly tokenAccepted: boolean;
  readonly granted: readonly string[];
  readonly missing: readonly MissingScope[];
  /** Scopes whose probe gave no clear answer (5xx, 429, unexpected status). */
  readonly inconclusive: readonly { readonly scope: string; readonly status: number }[];
  /** One sentence for the customer, naming each missing scope. */
  readonly message: string;
}

export interface CheckDigitalOceanTokenOptions extends DigitalOceanApiOptions {
  /** Which parts the token must cover. Defaults to `host` and `state-volume` (add `ssh` for stacks with `sshAccess`). */
  readonly features?: readonly DigitalOceanFeature[];
}

/** The scopes a token needs for the given features, in the documented order. */
export function requiredDigitalOceanScopes(
  features: readonly DigitalOceanFeature[] = ["host", "state-volume"],
): readonly ScopeRequirement[] {
  return DIGITALOCEAN_REQUIRED_SCOPES.filter((requirement) => features.includes(requirement.feature));
}

/**
 * Probes the token, one scope at a time, and says whether it can do what
 * ClawStack needs. The token is used in the `Authorization` header only and
 * appears in no result, message or error.
 */
export async function checkDigitalOceanToken(
  token: string | DigitalOceanToken,
  options: CheckDigitalOceanTokenOptions = {},
): Promise<DigitalOceanTokenCheck> {
  const held = token instanceof DigitalOceanToken ? token : new DigitalOceanToken(token);
  const requirements = requiredDigitalOceanScopes(options.features);
  const granted: string[] = [];
  const missing: MissingScope[] = [];
  const inconclusive: { scope: string; status: number }[] = [];

  for (const requirement of requirements) {
    const { method, path, body } = requirement.probe;
    const response = await digitalOceanRequest(held, method, path, { ...options, ...(body === undefined ? {} : { body }) });
    if (response.status === 401) {
      return {
        ok: false,
        tokenAccepted: false,
        granted: [],
        missing: [],
        inconclusive: [],
        message:
          "DigitalOcean did not accept the token (401): it is mistyped, revoked or expired. Create a new custom-scoped token and connect again.",
      };
    }
    switch (classifyProbe(method, response.status)) {
      case "granted":
        granted.push(requirement.scope);
        break;
      case "missing":
        missing.push({ scope: requirement.scope, why: requirement.why });
        break;
      case "inconclusive":
        inconclusive.push({ scope: requirement.scope, status: response.status });
        break;
    }
  }

  return {
    ok: missing.length === 0 && inconclusive.length === 0,
    tokenAccepted: true,
    granted,
    missing,
    inconclusive,
    message: describeCheck(missing, inconclusive),
  };
}

/** How one probe's status reads: the scope is there, it is not, or the API gave no clear answer. */
export function classifyProbe(method: string, status: number): "granted" | "missing" | "inconclusive" {
  if (status === 403) return "missing";
  if (status >= 200 && status < 300) return method === "GET" ? "granted" : "inconclusive";
  // Refused for what the request said (empty body, no such ID): authorization already passed.
  if (status === 400 || status === 404 || status === 422) return "granted";
  return "inconclusive";
}

function describeCheck(
  missing: readonly MissingScope[],
  inconclusive: readonly { scope: string; status: number }[],
): string {
  const parts: string[] = [];
  if (missing.length > 0) {
    const list = missing.map((entry) => `\`${entry.scope}\` (to ${entry.why})`).join(", ");
    parts.push(
      `The DigitalOcean token is missing ${missing.length === 1 ? "the scope" : `${missing.length} scopes`}: ${list}. ` +
        "Edit the token's custom scopes in the DigitalOcean control panel (API → Tokens) and add them.",
    );
  }
  if (inconclusive.length > 0) {
    const list = inconclusive.map((entry) => `\`${entry.scope}\` (HTTP ${entry.status})`).join(", ");
    parts.push(`DigitalOcean gave no clear answer for ${list}; try the check again later.`);
  }
  return parts.length === 0 ? "The DigitalOcean token has every scope ClawStack needs." : parts.join(" ");
}
