#!/bin/sh
# A per-host TLS key and self-signed certificate for nginx on :3000, made on
# this host once and kept on the state disk (so a pinned fingerprint survives
# a rebuild). The certificate's SHA-256 fingerprint is written where clients
# and the owner can read it.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
dir=/var/lib/openclaw/tls
install -d -m 0700 -o root -g root "$dir"
if [ ! -s "$dir/key.pem" ] || [ ! -s "$dir/cert.pem" ]; then
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -subj "/CN=$HOST_NAME" -addext "subjectAltName=DNS:$HOST_NAME" \
    -keyout "$dir/key.pem.tmp" -out "$dir/cert.pem.tmp" 2>/dev/null
  mv "$dir/key.pem.tmp" "$dir/key.pem"
  mv "$dir/cert.pem.tmp" "$dir/cert.pem"
fi
chmod 0600 "$dir/key.pem"
chmod 0644 "$dir/cert.pem"
fingerprint=$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
printf '%s\n' "$fingerprint" >/var/lib/openclaw/gateway-cert.sha256
chmod 0644 /var/lib/openclaw/gateway-cert.sha256
