#!/bin/sh
# Approves Claw Cloud's chat proxy as a paired operator device of this host's
# OpenClaw gateway (docs/proxy.md "Device identity"). Behind nginx every
# connection is remote, and OpenClaw grants a remote operator its scopes only
# with a signed device identity it has paired. The proxy's device key is not
# here: only its public half and id, pinned in user-data
# (/etc/clawstack/proxy-device.conf). OpenClaw pairs a device only through a
# pending request, which exists once the proxy has connected with a valid
# signature; this script (run by clawstack-proxy-device.timer as the openclaw
# user, with the gateway's environment) approves such a request only when its
# device id AND public key are the pinned ones, its role is operator and its
# scopes are within OPERATOR_SCOPES, with the gateway's own CLI
# (`openclaw devices list --json`, `openclaw devices approve <requestId>`).
# Anything else stays pending for the owner. Once the pinned device is
# paired, it writes the stamp file the timer's unit checks, and the timer
# stops running it (a later scope upgrade is the owner's to approve).
# Prints no credential.
# Exit status: 0 done (approved, or nothing to approve), 3 gateway not ready.
set -eu
# Tests point these at a scratch directory; on a host they are the defaults.
conf=${CLAWSTACK_PROXY_DEVICE_CONF:-/etc/clawstack/proxy-device.conf}
openclaw=${CLAWSTACK_OPENCLAW:-/opt/openclaw/current/node_modules/.bin/openclaw}
node=${CLAWSTACK_NODE:-/usr/local/bin/node}
stamp_dir=${CLAWSTACK_PROXY_DEVICE_STAMP_DIR:-/var/lib/openclaw/state}
# shellcheck source=/dev/null
. "$conf"

log() { echo "clawstack: proxy device: $*"; }

if ! printf '%s' "${PROXY_DEVICE_ID:-}" | grep -Eq '^[0-9a-f]{64}$' ||
  ! printf '%s' "${PROXY_DEVICE_PUBLIC_KEY:-}" | grep -Eq '^[A-Za-z0-9_-]{43}$'; then
  log "$conf does not hold a device id (64 hex) and an Ed25519 public key (43 base64url)"
  exit 1
fi

if ! list=$("$openclaw" devices list --json 2>/dev/null); then
  log "the gateway did not answer \`openclaw devices list\` (not ready yet?)"
  exit 3
fi

# `approve <requestId>` per pending request of the pinned device exactly (role operator, operator scopes
# only), and `paired` when the pinned device already is.
actions=$(printf '%s' "$list" | PROXY_DEVICE_ID="$PROXY_DEVICE_ID" PROXY_DEVICE_PUBLIC_KEY="$PROXY_DEVICE_PUBLIC_KEY" "$node" -e '
const allowed = new Set(["operator.read", "operator.write", "operator.approvals", "operator.questions", "operator.talk"]);
let text = "";
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const { pending = [], paired = [] } = JSON.parse(text);
  const pinned = (entry) => entry.deviceId === process.env.PROXY_DEVICE_ID && entry.publicKey === process.env.PROXY_DEVICE_PUBLIC_KEY;
  if (paired.some(pinned)) console.log("paired");
  for (const request of pending) {
    const roles = Array.isArray(request.roles) ? request.roles : [request.role];
    if (!pinned(request)) continue;
    if (request.role !== "operator" || !roles.every((role) => role === "operator")) continue;
    if (!Array.isArray(request.scopes) || !request.scopes.every((scope) => allowed.has(scope))) continue;
    if (typeof request.requestId === "string" && /^[A-Za-z0-9-]{1,64}$/.test(request.requestId)) console.log("approve " + request.requestId);
  }
});
')

approved=0
for request in $(printf '%s\n' "$actions" | sed -n 's/^approve //p'); do
  if "$openclaw" devices approve "$request" --json >/dev/null 2>&1; then
    log "approved the chat proxy's device ${PROXY_DEVICE_ID} (request $request)"
    approved=1
  else
    log "could not approve request $request (superseded or expired?); the next run retries"
  fi
done
if [ "$approved" = 1 ] || printf '%s\n' "$actions" | grep -qx paired; then
  : >"$stamp_dir/.clawstack-proxy-device-$PROXY_DEVICE_ID"
fi
