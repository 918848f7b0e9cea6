#!/bin/sh
# First-boot registration with the provisioning API (POST
# /v1/instances/:id/register): sends the gateway token and the TLS
# certificate's SHA-256, authenticated by the single-use registration token
# that cloud-init wrote to a root-only file. HTTPS only; retried with backoff
# on network errors, 5xx and 429; the token file is deleted once the API has
# accepted it (or refused it for good: a used or expired token is useless).
# No token is ever printed, logged or put on a command line (the body goes to
# curl on stdin). Exit status: 0 registered, 1 refused, 2 gave up, 3 not ready.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
# Tests point these at a scratch directory; on a host they are the defaults.
token_file=${CLAWSTACK_REGISTRATION_TOKEN_FILE:-/etc/clawstack/registration-token}
env_file=${CLAWSTACK_GATEWAY_ENV_FILE:-/var/lib/openclaw/state/.env}
fingerprint_file=${CLAWSTACK_FINGERPRINT_FILE:-/var/lib/openclaw/gateway-cert.sha256}
# Hosts with support access (docs/zero-access.md) made their API credential before this step; it is sent once, here.
host_token_file=${CLAWSTACK_HOST_TOKEN_FILE:-/etc/clawstack/host-token}
attempts=${CLAWSTACK_REGISTRATION_ATTEMPTS:-8}
delay=${CLAWSTACK_REGISTRATION_DELAY:-5}

log() { echo "clawstack: registration: $*"; }

if [ ! -s "$token_file" ]; then
  log "no registration token on this host (already registered?), nothing to do"
  exit 0
fi
registration_token=$(cat "$token_file")
gateway_token=$(sed -n 's/^OPENCLAW_GATEWAY_TOKEN=//p' "$env_file" 2>/dev/null || true)
fingerprint=$(tr -d ':\n' 2>/dev/null <"$fingerprint_file" | tr 'A-F' 'a-f' || true)
host_token=$(cat "$host_token_file" 2>/dev/null || true)

# The formats the API accepts; they also make the hand-built JSON safe (no quotes or backslashes).
if ! printf '%s' "$registration_token" | grep -Eq '^csreg_[A-Za-z0-9_-]{43}$'; then
  log "the registration token file does not hold a registration token"
  exit 3
fi
if ! printf '%s' "$gateway_token" | grep -Eq '^[A-Za-z0-9._~+/=-]{32,512}$'; then
  log "no gateway token in $env_file yet"
  exit 3
fi
if ! printf '%s' "$fingerprint" | grep -Eq '^[0-9a-f]{64}$'; then
  log "no TLS certificate fingerprint in $fingerprint_file yet"
  exit 3
fi

host_token_field=
if [ -n "$host_token" ]; then
  if ! printf '%s' "$host_token" | grep -Eq '^cshost_[A-Za-z0-9_-]{43}$'; then
    log "the host credential file does not hold a host credential"
    exit 3
  fi
  host_token_field=$(printf ',"hostToken":"%s"' "$host_token")
fi

attempt=1
while :; do
  status=$(printf '{"registrationToken":"%s","gatewayToken":"%s","tlsCertSha256":"%s"%s}' \
    "$registration_token" "$gateway_token" "$fingerprint" "$host_token_field" |
    curl --fail --silent --proto '=https' --tlsv1.2 --connect-timeout 10 --max-time 30 \
      --output /dev/null --write-out '%{http_code}' \
      -X POST -H 'Content-Type: application/json' --data-binary @- "$REGISTRATION_API_URL") || true
  # curl writes 000 when no HTTP answer came; --fail only sets its exit status.
  [ -n "$status" ] || status=000
  case "$status" in
    2??)
      rm -f "$token_file"
      log "registered instance $REGISTRATION_INSTANCE_ID with the provisioning API"
      exit 0
      ;;
    401 | 409 | 410)
      rm -f "$token_file"
      log "the API refused the registration token (HTTP $status: unknown, used or expired); re-run up to issue a new one"
      exit 1
      ;;
    000 | 429 | 5??) ;;
    *)
      log "the API refused the request (HTTP $status)"
      exit 1
      ;;
  esac
  if [ "$attempt" -ge "$attempts" ]; then
    log "gave up after $attempt attempts (last HTTP status $status); the token file stays for a manual retry of $0"
    exit 2
  fi
  log "attempt $attempt failed (HTTP $status), retrying in ${delay}s"
  sleep "$delay"
  attempt=$((attempt + 1))
  delay=$((delay * 2))
  if [ "$delay" -gt 120 ]; then delay=120; fi
done
