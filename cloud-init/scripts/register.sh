#!/bin/sh
# Extension slot for the provisioning API (engineer JOBS defines the call):
# reports this instance's public facts (instance id, TLS fingerprint), never a secret.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
fingerprint=$(cat /var/lib/openclaw/gateway-cert.sha256)
body=$(printf '{"instanceId":"%s","tlsCertSha256":"%s"}' "$REGISTRATION_INSTANCE_ID" "$fingerprint")
curl --fail --silent --show-error --proto '=https' --tlsv1.2 --retry 5 -X POST \
  -H 'Content-Type: application/json' --data "$body" "$REGISTRATION_API_URL"
