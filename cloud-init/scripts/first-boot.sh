#!/bin/sh
# ClawStack first boot: runs once per instance (cloud-init runcmd), as root.
# Every step is idempotent and never destroys existing state, so a rebuilt
# instance attached to the old state disk picks that state up unchanged.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
lib=/usr/local/lib/clawstack

log() { echo "clawstack: $*"; }

systemctl daemon-reload

log "host firewall"
# Debian's nftables.service loads /etc/nftables.conf (accept all) and flushes
# the ruleset when stopped: masked, never stopped, so it cannot undo ours.
systemctl mask nftables.service
systemctl enable --now clawstack-firewall.service
sysctl --quiet --system

log "openclaw system user"
if ! id -u openclaw >/dev/null 2>&1; then
  useradd --system --user-group --create-home --home-dir /home/openclaw --shell /usr/sbin/nologin openclaw
fi
chmod 0700 /home/openclaw

log "state disk"
"$lib/mount-state.sh"

log "Node.js $NODE_VERSION"
"$lib/install-node.sh"

log "openclaw $OPENCLAW_VERSION"
"$lib/install-openclaw.sh"

log "gateway configuration and token"
"$lib/gateway-config.sh"
systemctl enable --now openclaw-token.service

log "TLS on :3000"
"$lib/tls.sh"
install -m 0644 "$lib/nginx-clawstack.conf" /etc/nginx/conf.d/clawstack.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t
systemctl enable nginx.service
systemctl restart nginx.service

log "gateway service"
systemctl enable --now openclaw-gateway.service

if [ "$CLAWCHAT_MODE" != "disabled" ]; then
  log "ClawChat server"
  "$lib/clawchat.sh"
fi

if [ "$SSH_ENABLED" = "0" ]; then
  log "SSH closed"
  systemctl disable --now ssh.socket ssh.service >/dev/null 2>&1 || true
  systemctl mask ssh.socket ssh.service
fi

# Last, and never fatal: the gateway already runs whatever the API answers.
if [ -n "$REGISTRATION_API_URL" ]; then
  log "registration with the provisioning API"
  "$lib/register.sh" || log "registration did not complete (exit $?); the gateway runs regardless"
fi

# Zero access: user data changed later (or a GCP metadata startup-script) never runs here (docs/zero-access.md).
log "user data closed for later boots"
touch /etc/cloud/cloud-init.disabled
systemctl mask google-startup-scripts.service google-shutdown-scripts.service >/dev/null 2>&1 || true

# The fingerprint is public (clients pin it); the console log is how an owner
# without SSH reads it. The gateway token is never printed.
log "gateway TLS certificate SHA-256 fingerprint: $(cat /var/lib/openclaw/gateway-cert.sha256)"
log "first boot done"
