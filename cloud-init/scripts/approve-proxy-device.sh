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
# With an argument (clawstack-proxy-device-admin@<mode>.service, started by
# the root support agent for the user's signed admin window):
#   admin-open   approve such requests with operator.admin allowed too; no stamp.
#   admin-close  reject the device's pending admin requests (a later base
#                connect would reuse one), remove the device if paired with
#                admin (ends its connections; the proxy's next connect asks
#                afresh) and remove the stamp so the timer approves that.
# Prints no credential.
# Exit status: 0 done (approved, or nothing to approve), 1 failed, 2 usage,
# 3 gateway not ready.
set -eu
mode=${1:-}
case $mode in
'' | admin-open | admin-close) ;;
*)
  echo "usage: $0 [admin-open|admin-close]" >&2
  exit 2
  ;;
esac
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
stamp=$stamp_dir/.clawstack-proxy-device-$PROXY_DEVICE_ID

# From `openclaw devices list --json`: `approve <requestId>` per pending request of the pinned device (id and key,
# role operator, scopes allowed), `paired` when it is; admin-close: `reject <requestId>` per pending request of the
# device id holding operator.admin, `remove` when it is paired with it.
actions() {
  if ! list=$("$openclaw" devices list --json 2>/dev/null); then
    log "the gateway did not answer \`openclaw devices list\` (not ready yet?)" >&2
    exit 3
  fi
  printf '%s' "$list" | MODE="$mode" PROXY_DEVICE_ID="$PROXY_DEVICE_ID" PROXY_DEVICE_PUBLIC_KEY="$PROXY_DEVICE_PUBLIC_KEY" "$node" -e '
const { MODE: mode, PROXY_DEVICE_ID: id, PROXY_DEVICE_PUBLIC_KEY: key } = process.env;
const allowed = new Set(["operator.read", "operator.write", "operator.approvals", "operator.questions", "operator.talk"]);
if (mode === "admin-open") allowed.add("operator.admin");
const admin = (entry) => [entry.scopes, entry.approvedScopes, ...(Array.isArray(entry.tokens) ? entry.tokens : []).map((token) => token?.scopes)]
  .some((scopes) => Array.isArray(scopes) && scopes.includes("operator.admin"));
let text = "";
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const { pending = [], paired = [] } = JSON.parse(text);
  const pinned = (entry) => entry.deviceId === id && entry.publicKey === key;
  const valid = (request) => typeof request.requestId === "string" && /^[A-Za-z0-9-]{1,64}$/.test(request.requestId);
  if (mode === "admin-close") {
    for (const request of pending) if (request.deviceId === id && admin(request) && valid(request)) console.log("reject " + request.requestId);
    if (paired.some((device) => device.deviceId === id && admin(device))) console.log("remove");
    return;
  }
  if (paired.some(pinned)) console.log("paired");
  for (const request of pending) {
    const roles = Array.isArray(request.roles) ? request.roles : [request.role];
    if (!pinned(request)) continue;
    if (request.role !== "operator" || !roles.every((role) => role === "operator")) continue;
    if (!Array.isArray(request.scopes) || !request.scopes.every((scope) => allowed.has(scope))) continue;
    if (valid(request)) console.log("approve " + request.requestId);
  }
});
'
}

if [ "$mode" = admin-close ]; then
  # A second pass rejects what the proxy asked for while the first ran; a third finding work is a failure.
  for pass in 1 2 3; do
    todo=$(actions)
    [ -n "$todo" ] || break
    if [ "$pass" = 3 ]; then
      log "admin-close: the gateway still lists operator.admin for ${PROXY_DEVICE_ID}"
      exit 1
    fi
    for request in $(printf '%s\n' "$todo" | sed -n 's/^reject //p'); do
      if "$openclaw" devices reject "$request" --json >/dev/null 2>&1; then log "rejected request $request"; fi
    done
    if printf '%s\n' "$todo" | grep -qx remove && "$openclaw" devices remove "$PROXY_DEVICE_ID" --json >/dev/null 2>&1; then
      log "removed ${PROXY_DEVICE_ID} (paired with operator.admin)"
    fi
  done
  rm -f "$stamp"
  exit 0
fi

todo=$(actions)
approved=0
failed=0
for request in $(printf '%s\n' "$todo" | sed -n 's/^approve //p'); do
  if "$openclaw" devices approve "$request" --json >/dev/null 2>&1; then
    if [ "$mode" = admin-open ]; then
      log "approved request $request"
    else
      log "approved the chat proxy's device ${PROXY_DEVICE_ID} (request $request)"
    fi
    approved=1
  else
    log "could not approve request $request (superseded or expired?); the next run retries"
    failed=1
  fi
done
if [ "$mode" = admin-open ]; then
  exit "$failed"
fi
if [ "$approved" = 1 ] || printf '%s\n' "$todo" | grep -qx paired; then
  : >"$stamp"
fi
