#!/bin/sh
# Writes openclaw.json once. An existing file (a rebuild, or the owner's own
# edits) is never overwritten. The token is not in this file: the gateway
# reads it from the environment (gateway-token.sh writes it to .env).
# With a ClawChat server (CLAWCHAT_MODE other than disabled), the gateway's
# OpenAI-compatible /v1/chat/completions is enabled: ClawChat relays chat to it
# on loopback, and OpenClaw ships it disabled. It stays loopback-only: the
# gateway binds loopback and nginx refuses /v1/ at the edge.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
# Tests run this script against a scratch root with stand-in commands.
state=${CLAWSTACK_ROOT:-}/var/lib/openclaw/state
config="$state/openclaw.json"
if [ "${CLAWCHAT_MODE:-disabled}" = disabled ]; then chat_completions=false; else chat_completions=true; fi
if [ ! -e "$config" ]; then
  umask 077
  cat >"$config.tmp" <<JSON
{
  "gateway": {
    "mode": "local",
    "bind": "loopback",
    "port": 18789,
    "auth": { "mode": "token", "token": "\${OPENCLAW_GATEWAY_TOKEN}" },
    "trustedProxies": ["127.0.0.1", "::1"],
    "http": { "endpoints": { "chatCompletions": { "enabled": $chat_completions } } }
  }
}
JSON
  chown openclaw:openclaw "$config.tmp"
  chmod 0600 "$config.tmp"
  mv "$config.tmp" "$config"
fi
chmod 0700 "$state"
chmod 0600 "$config"
