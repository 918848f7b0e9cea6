#!/bin/sh
# Puts the gateway token in /var/lib/openclaw/state/.env (600, openclaw), on
# every boot. `generate`: 256 random bits made here, once (kept across
# reboots and rebuilds). `aws-ssm` / `gcp-secret-manager`: read from the
# cloud's secret store with the host's own identity, so a rotated secret
# takes effect at the next boot. The token is never printed or logged.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
# Tests run this script against a scratch root with stand-in commands.
env_file=${CLAWSTACK_ROOT:-}/var/lib/openclaw/state/.env
umask 077

case "$TOKEN_SOURCE" in
  generate)
    if [ -s "$env_file" ] && grep -q '^OPENCLAW_GATEWAY_TOKEN=.' "$env_file"; then
      exit 0
    fi
    token=$(openssl rand -hex 32)
    ;;
  aws-ssm | gcp-secret-manager)
    token=$(/usr/local/bin/node /usr/local/lib/clawstack/fetch-secret.mjs "$TOKEN_SOURCE" "$TOKEN_LOCATION" "$TOKEN_NAME")
    ;;
  *)
    echo "clawstack: unknown token source $TOKEN_SOURCE" >&2
    exit 1
    ;;
esac

printf 'OPENCLAW_GATEWAY_TOKEN=%s\n' "$token" >"$env_file.tmp"
chown openclaw:openclaw "$env_file.tmp"
chmod 0600 "$env_file.tmp"
mv "$env_file.tmp" "$env_file"
