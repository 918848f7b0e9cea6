import { GATEWAY_TLS_PORT } from "../core/presets.js";
import type { MemoryPlan } from "./memory.js";

/** Where the state disk is mounted, and what lives on it. */
export const STATE_MOUNT = "/var/lib/openclaw";
export const GATEWAY_STATE_DIR = `${STATE_MOUNT}/state`;
export const GATEWAY_ENV_FILE = `${GATEWAY_STATE_DIR}/.env`;
export const TLS_DIR = `${STATE_MOUNT}/tls`;
export const CLAWCHAT_STATE_DIR = `${STATE_MOUNT}/clawchat`;
/** Seed 002 §6.1: the server's security files; a bind mount of CLAWCHAT_STATE_DIR. */
export const CLAWCHAT_HOME_DIR = "/home/openclaw/clawchat";
export const CLAWCHAT_SECURITY_DIR = `${CLAWCHAT_HOME_DIR}/security`;
export const GATEWAY_PORT = 18789;
export const FINGERPRINT_FILE = `${STATE_MOUNT}/gateway-cert.sha256`;

/**
 * Sandboxing shared by the two long-running services. Not set on purpose:
 * `MemoryDenyWriteExecute` (V8's JIT needs writable executable memory).
 * `RestrictSUIDSGID=yes` is added per unit (SUID_RESTRICTION): the gateway
 * cannot have it (see gatewayUnit).
 */
const SANDBOX = [
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "ProtectProc=invisible",
  "RestrictNamespaces=yes",
  "RestrictRealtime=yes",
  "LockPersonality=yes",
  "RemoveIPC=yes",
  "CapabilityBoundingSet=",
  "AmbientCapabilities=",
  "SystemCallArchitectures=native",
  "SystemCallFilter=@system-service",
  "SystemCallErrorNumber=EPERM",
  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
  "UMask=0077",
];

/**
 * systemd enforces this with seccomp, which cannot read openat2()'s mode (it is
 * inside `struct open_how`), so under it every openat2() fails with ENOSYS.
 * OpenClaw's state locks (`@openclaw/fs-safe`) open with openat2(RESOLVE_BENEATH)
 * and do not fall back: the gateway refused every start with exit 78 (found by
 * the QEMU boot, docs/cloud-init.md finding 7). The gateway unit goes without
 * it; NoNewPrivileges, the empty capability set and ProtectSystem=strict
 * already leave a set-user-ID bit it could write without effect.
 */
const SUID_RESTRICTION = "RestrictSUIDSGID=yes";

/** Where the gateway's Node keeps compiled code between starts (systemd's CacheDirectory). */
export const GATEWAY_COMPILE_CACHE = "/var/cache/openclaw/compile-cache";

function unit(sections: Record<string, string[]>): string {
  return `${Object.entries(sections)
    .map(([name, lines]) => `[${name}]\n${lines.join("\n")}`)
    .join("\n\n")}\n`;
}

/** Restarts of the gateway: retried every 5 s, given up after 5 starts within 10 minutes. */
export const GATEWAY_START_LIMIT = { restartSec: 5, burst: 5, intervalSec: 600 } as const;

export function gatewayUnit(memory: MemoryPlan): string {
  return unit({
    Unit: [
      "Description=OpenClaw gateway (loopback only; nginx terminates TLS on :3000)",
      "Wants=network-online.target",
      "After=network-online.target openclaw-token.service",
      "Requires=openclaw-token.service",
      `RequiresMountsFor=${STATE_MOUNT}`,
      // A config the gateway refuses fails every start: give up after 5 starts in 10 minutes. Not
      // RestartPreventExitStatus=78: the gateway also exits 78 when a slow start times out its state lease
      // (found by the QEMU boot, docs/cloud-init.md), and that start succeeds when retried.
      `StartLimitIntervalSec=${GATEWAY_START_LIMIT.intervalSec}`,
      `StartLimitBurst=${GATEWAY_START_LIMIT.burst}`,
    ],
    Service: [
      "Type=simple",
      "User=openclaw",
      "Group=openclaw",
      `WorkingDirectory=${GATEWAY_STATE_DIR}`,
      `Environment=HOME=${GATEWAY_STATE_DIR}`,
      `Environment=OPENCLAW_STATE_DIR=${GATEWAY_STATE_DIR}`,
      `Environment=OPENCLAW_CONFIG_PATH=${GATEWAY_STATE_DIR}/openclaw.json`,
      "Environment=OPENCLAW_SERVICE_REPAIR_POLICY=external",
      "Environment=NODE_ENV=production",
      `Environment=NODE_OPTIONS=--max-old-space-size=${memory.gatewayHeapMiB}`,
      // OpenClaw's own advice for small hosts (`openclaw doctor`): a compile cache that outlives PrivateTmp,
      // and restarts that stay in the process systemd supervises.
      "CacheDirectory=openclaw",
      `Environment=NODE_COMPILE_CACHE=${GATEWAY_COMPILE_CACHE}`,
      "Environment=OPENCLAW_NO_RESPAWN=1",
      `EnvironmentFile=${GATEWAY_ENV_FILE}`,
      `ExecStart=/opt/openclaw/current/node_modules/.bin/openclaw gateway run --port ${GATEWAY_PORT} --bind loopback`,
      "Restart=always",
      `RestartSec=${GATEWAY_START_LIMIT.restartSec}`,
      `MemoryMax=${memory.gatewayMemoryMaxMiB}M`,
      "ProtectHome=yes",
      `ReadWritePaths=${GATEWAY_STATE_DIR}`,
      `InaccessiblePaths=${TLS_DIR} ${CLAWCHAT_STATE_DIR}`,
      ...SANDBOX,
    ],
    Install: ["WantedBy=multi-user.target"],
  });
}

/** Puts the gateway token in place before the gateway starts, on every boot (see gateway-token.sh). */
export function tokenUnit(): string {
  return unit({
    Unit: [
      "Description=OpenClaw gateway token (generated here, or read from the cloud's secret store)",
      "Wants=network-online.target",
      "After=network-online.target",
      `RequiresMountsFor=${STATE_MOUNT}`,
      "Before=openclaw-gateway.service",
    ],
    Service: [
      "Type=oneshot",
      "RemainAfterExit=yes",
      "ExecStart=/usr/local/lib/clawstack/gateway-token.sh",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      `ReadWritePaths=${GATEWAY_STATE_DIR}`,
      "UMask=0077",
    ],
    Install: ["WantedBy=multi-user.target"],
  });
}

/**
 * Where the ClawChat server listens on a host. `serve` defaults to loopback;
 * `::` is an IPv6 socket without IPV6_V6ONLY, so on Ubuntu (sysctl
 * `net.ipv6.bindv6only=0`, the default) it serves IPv4 (as ::ffff:a.b.c.d) and
 * IPv6 alike, both families the firewalls open to `clawchatClientCidrs`. The
 * cloud firewall and nftables, not the bind, restrict who reaches it.
 */
export const CLAWCHAT_BIND = "::";

/**
 * The ClawChat server. Same user as the gateway, its own sandbox: /home is a
 * read-only tmpfs into which only the ClawChat directory is bound (so seed
 * 002's path works under ProtectHome), and the gateway's state and the TLS
 * key are out of reach. The gateway token comes in through the environment.
 */
export function clawchatUnit(memory: MemoryPlan): string {
  return unit({
    Unit: [
      "Description=ClawChat server (encrypted UDP, seed 002)",
      "Wants=network-online.target openclaw-gateway.service",
      "After=network-online.target openclaw-gateway.service",
      `RequiresMountsFor=${STATE_MOUNT} ${CLAWCHAT_HOME_DIR}`,
    ],
    Service: [
      "Type=simple",
      "User=openclaw",
      "Group=openclaw",
      `WorkingDirectory=${CLAWCHAT_HOME_DIR}`,
      `Environment=HOME=${CLAWCHAT_HOME_DIR}`,
      "Environment=NODE_ENV=production",
      `Environment=OPENCLAW_GATEWAY_URL=http://127.0.0.1:${GATEWAY_PORT}`,
      `EnvironmentFile=${GATEWAY_ENV_FILE}`,
      `ExecStart=/usr/local/bin/node --max-old-space-size=${memory.clawchatHeapMiB} /opt/clawchat/clawchat.js serve --bind ${CLAWCHAT_BIND} --dir ${CLAWCHAT_SECURITY_DIR}`,
      "Restart=always",
      "RestartSec=5",
      `MemoryMax=${memory.clawchatMemoryMaxMiB}M`,
      "ProtectHome=tmpfs",
      `BindPaths=${CLAWCHAT_HOME_DIR}`,
      `ReadWritePaths=${CLAWCHAT_HOME_DIR}`,
      `InaccessiblePaths=${GATEWAY_STATE_DIR} ${TLS_DIR}`,
      ...SANDBOX,
      SUID_RESTRICTION,
    ],
    Install: ["WantedBy=multi-user.target"],
  });
}

/** Loads the host firewall early on every boot, before the network is up. */
export function firewallUnit(): string {
  return unit({
    Unit: [
      "Description=ClawStack host firewall (nftables)",
      "DefaultDependencies=no",
      "Before=network-pre.target",
      "Wants=network-pre.target",
    ],
    Service: [
      "Type=oneshot",
      "RemainAfterExit=yes",
      "ExecStart=/usr/sbin/nft -f /etc/clawstack/nftables.conf",
    ],
    Install: ["WantedBy=sysinit.target"],
  });
}

/** nginx must not start before the state disk (it holds the TLS key) is mounted. */
export function nginxDropIn(): string {
  return unit({ Unit: [`RequiresMountsFor=${STATE_MOUNT}`] });
}

/**
 * nginx in front of the loopback gateway. The OpenAI-compatible `/v1/` API is
 * full owner access behind one bearer token (reference: complaint 7), so it is
 * never forwarded: ClawChat and local tools reach it on loopback. Client
 * X-Forwarded-For headers are replaced, not appended, so the gateway (which
 * trusts only 127.0.0.1 as a proxy) never takes a remote client for a local one.
 */
export function nginxSite(): string {
  return `# Rendered by ClawStack: TLS on :${GATEWAY_TLS_PORT} in front of the loopback gateway.
map $http_upgrade $clawstack_connection_upgrade {
    default upgrade;
    ''      close;
}

server {
    listen ${GATEWAY_TLS_PORT} ssl;
    listen [::]:${GATEWAY_TLS_PORT} ssl;
    server_name _;
    server_tokens off;

    ssl_certificate ${TLS_DIR}/cert.pem;
    ssl_certificate_key ${TLS_DIR}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;

    client_max_body_size 25m;

    location = /v1 { return 404; }
    location ^~ /v1/ { return 404; }

    location / {
        proxy_pass http://127.0.0.1:${GATEWAY_PORT};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $clawstack_connection_upgrade;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-Proto https;
        proxy_buffering off;
        proxy_read_timeout 3600s;
    }
}
`;
}
