#!/bin/sh
# Support access on a host whose support agent is fetched at first boot, not embedded in user-data
# (docs/zero-access.md, "The agent on AWS: fetched at first boot"). User-data pins the agent's URL and SHA-256.
#   support-agent-fetch.sh setup   fetches the agent over HTTPS, checks it against the pinned SHA-256, installs it,
#                                  then runs `support.sh setup`. On any failure nothing is installed and setup does
#                                  not run: no agent, no support user, no host credential (so the API refuses
#                                  grants for this host), port 22 closed.
#   support-agent-fetch.sh start   runs `support.sh start` only when the installed agent still matches the pin.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_SUPPORT_SOURCE:-/etc/clawstack/support/agent-source.conf}"
# Tests point these at a scratch directory; on a host they are the defaults.
lib=${CLAWSTACK_LIB:-/usr/local/lib/clawstack}
bundle=${CLAWSTACK_SUPPORT_BUNDLE:-$lib/clawstack-support.js}

log() { echo "clawstack: support access: $*"; }
closed() {
  log "$*; the host stays closed to support: no agent, no support user, no host credential, port 22 closed"
  exit 1
}

if ! printf '%s' "$SUPPORT_AGENT_SHA256" | grep -Eq '^[0-9a-f]{64}$'; then
  closed "no pinned SHA-256 for the support agent"
fi

# True when the file's SHA-256 is the pinned one.
matches() { echo "$SUPPORT_AGENT_SHA256  $1" | sha256sum --check --strict --status -; }

fetch() {
  if [ -f "$bundle" ] && matches "$bundle"; then
    log "agent already installed (SHA-256 $SUPPORT_AGENT_SHA256)"
    return 0
  fi
  tmp=$(mktemp "$bundle.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  # HTTPS only, redirects too; the system's CA store (and any CA the image trusts) decides who is trusted.
  if ! curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' --tlsv1.2 \
    --connect-timeout 10 --max-time 120 --retry 5 --max-filesize 16777216 -o "$tmp" "$SUPPORT_AGENT_URL"; then
    closed "the support agent could not be fetched from $SUPPORT_AGENT_URL"
  fi
  if ! matches "$tmp"; then
    actual=$(sha256sum "$tmp" | cut -d ' ' -f 1)
    closed "the support agent fetched from $SUPPORT_AGENT_URL has SHA-256 $actual, not the pinned $SUPPORT_AGENT_SHA256 (refused, not installed)"
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bundle"
  trap - EXIT
  log "agent fetched from $SUPPORT_AGENT_URL and installed (SHA-256 $SUPPORT_AGENT_SHA256)"
}

case "${1:-}" in
  setup)
    fetch
    exec "$lib/support.sh" setup
    ;;
  start)
    if [ ! -f "$bundle" ] || ! matches "$bundle"; then
      closed "no support agent matching the pinned SHA-256 at $bundle"
    fi
    exec "$lib/support.sh" start
    ;;
  *)
    echo "usage: $0 setup|start" >&2
    exit 2
    ;;
esac
