#!/bin/sh
# Installs the ClawChat server bundle (embedded in user-data, or fetched and
# checked against the SHA-256 pinned in user-data), creates the bootstrap key
# and the first security file once (as openclaw), and starts the server.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
bundle=/opt/clawchat/clawchat.js
security=/home/openclaw/clawchat/security

if [ "$CLAWCHAT_MODE" = "fetch" ]; then
  install -d -m 0755 /opt/clawchat
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 5 -o "$bundle.tmp" "$CLAWCHAT_URL"
  echo "$CLAWCHAT_SHA256  $bundle.tmp" | sha256sum --check --strict --quiet -
  chmod 0644 "$bundle.tmp"
  mv "$bundle.tmp" "$bundle"
fi
[ -s "$bundle" ] || { echo "clawstack: ClawChat bundle $bundle is missing" >&2; exit 1; }

public_ip() {
  case "$CLOUD" in
    digitalocean)
      curl --fail --silent --max-time 5 http://169.254.169.254/metadata/v1/interfaces/public/0/ipv4/address
      ;;
    aws)
      imds_token=$(curl --fail --silent --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
      curl --fail --silent --max-time 5 -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/public-ipv4
      ;;
    gcp)
      curl --fail --silent --max-time 5 -H 'Metadata-Flavor: Google' \
        http://169.254.169.254/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip
      ;;
  esac
}

if ! ls "$security"/clawchat-*.sec >/dev/null 2>&1; then
  port=$(shuf -i "$CLAWCHAT_PORT_MIN-$CLAWCHAT_PORT_MAX" -n 1)
  # The host's stable address when the component gave one (it outlives this instance), else the metadata's.
  ip=${PUBLIC_IPV4:-$(public_ip || true)}
  if [ -n "$ip" ]; then
    runuser -u openclaw -- /usr/local/bin/node "$bundle" init --dir "$security" --server-ip "$ip" --port "$port" --name "$HOST_NAME"
  else
    echo "clawstack: no public IPv4 from the metadata service: the security file names no server address"
    runuser -u openclaw -- /usr/local/bin/node "$bundle" init --dir "$security" --port "$port" --name "$HOST_NAME"
  fi
fi
chmod 0700 "$security"
find "$security" -type f -exec chmod 0600 {} +
systemctl enable --now clawchat.service
