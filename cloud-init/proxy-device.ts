/**
 * The chat proxy's device on the host (docs/proxy.md "Device identity"): its
 * public half pinned in a settings file, and a timer that runs
 * approve-proxy-device.sh (the gateway's own `openclaw devices` CLI, as the
 * openclaw user with the gateway's environment) every 30 s from a minute
 * after boot until that exact device is paired; the script then writes a
 * stamp named after the device id and the unit's condition stops it.
 * Rendered only when the host config sets `proxyDevice`.
 */
import { createHash } from "node:crypto";
import { GATEWAY_ENV_FILE, GATEWAY_STATE_DIR } from "./units.js";

export const PROXY_DEVICE_CONF = "/etc/clawstack/proxy-device.conf";
export const PROXY_DEVICE_TIMER = "clawstack-proxy-device.timer";
export const PROXY_DEVICE_ADMIN_SERVICE = "clawstack-proxy-device-admin@.service";
const SCRIPT = "/usr/local/lib/clawstack/approve-proxy-device.sh";

/** Public values only (an id and a public key), already checked by `resolveBootInput`. */
export function proxyDeviceConf(device: { id: string; publicKey: string }): string {
  return `# Rendered by ClawStack: the chat proxy's device (public), approved on the gateway by ${SCRIPT}.\nPROXY_DEVICE_ID='${device.id}'\nPROXY_DEVICE_PUBLIC_KEY='${device.publicKey}'\n`;
}

/** The `[Service]` lines both units share: the gateway's user and environment, read-only but its state. */
function serviceSection(execStart: string): string {
  return `[Service]
Type=oneshot
User=openclaw
Group=openclaw
WorkingDirectory=${GATEWAY_STATE_DIR}
Environment=HOME=${GATEWAY_STATE_DIR}
Environment=OPENCLAW_STATE_DIR=${GATEWAY_STATE_DIR}
Environment=OPENCLAW_CONFIG_PATH=${GATEWAY_STATE_DIR}/openclaw.json
Environment=NODE_ENV=production
EnvironmentFile=${GATEWAY_ENV_FILE}
ExecStart=${execStart}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=${GATEWAY_STATE_DIR}
UMask=0077
`;
}

export function proxyDeviceService(device: { id: string }): string {
  return `[Unit]
Description=Approve Claw Cloud's chat proxy as a device of the OpenClaw gateway
After=openclaw-gateway.service
ConditionPathExists=!${GATEWAY_STATE_DIR}/.clawstack-proxy-device-${device.id}

${serviceSection(SCRIPT)}SuccessExitStatus=3
`;
}

/**
 * The user's operator.admin window for the proxy's device, run by the root
 * support agent: `@admin-open` approves its pending admin request, `@admin-close`
 * takes admin back (then the agent restarts the timer). The script refuses any
 * other instance name (exit 2); "gateway not ready" (3) is a failure here.
 */
export function proxyDeviceAdminService(): string {
  return `[Unit]
Description=Chat proxy device: operator.admin window (%i)
After=openclaw-gateway.service

${serviceSection(`${SCRIPT} %i`)}`;
}

export function proxyDeviceTimer(): string {
  return `[Unit]
Description=Approve Claw Cloud's chat proxy device until it is paired

[Timer]
OnBootSec=1min
OnUnitActiveSec=30s
AccuracySec=5s

[Install]
WantedBy=timers.target
`;
}

/** Why `id` is not the device id of `publicKey` (OpenClaw: hex SHA-256 of the raw key), or undefined. */
export function proxyDeviceProblem(device: { id: string; publicKey: string }): string | undefined {
  const expected = createHash("sha256").update(Buffer.from(device.publicKey, "base64url")).digest("hex");
  return device.id === expected ? undefined : `must be the SHA-256 (hex) of the raw public key \`proxyDevice.publicKey\`, ${expected}; got ${device.id}`;
}
