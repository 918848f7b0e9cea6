#!/bin/sh
# Support access (docs/zero-access.md), written only on hosts with `supportAccess`.
#   support.sh setup   before first boot's steps: the support user, the host's API credential
#                      (sent once at registration; root 0600, never printed), the agent's folders.
#   support.sh start   after them: sshd stays stopped until a grant (the agent starts it), the agent starts.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
user=clawsupport
home=/var/lib/clawstack/support-home
token_file=${CLAWSTACK_HOST_TOKEN_FILE:-/etc/clawstack/host-token}

log() { echo "clawstack: support access: $*"; }

setup() {
  install -d -m 0755 -o root -g root /etc/clawstack/support "$home"
  install -d -m 0700 -o root -g root /var/log/clawstack
  if ! id -u "$user" >/dev/null 2>&1; then
    # A shell is needed for sshd to run the forced command; the command is fixed whatever the client asks.
    useradd --system --user-group --home-dir "$home" --no-create-home --shell /bin/sh "$user"
  fi
  # '*' never matches a password, and is not a locked account (sshd refuses those even with a key without PAM).
  usermod -p '*' "$user"
  # The journal is what support reads most (journalctl -u <unit>).
  if getent group systemd-journal >/dev/null 2>&1; then usermod -a -G systemd-journal "$user"; fi
  if [ ! -s "$token_file" ]; then
    umask 077
    token=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
    printf 'cshost_%s\n' "$token" >"$token_file.tmp"
    chmod 0600 "$token_file.tmp"
    mv "$token_file.tmp" "$token_file"
    log "host credential created"
  fi
}

start() {
  # The agent's state is on the state disk (mounted by first boot): spent nonces outlive the instance.
  install -d -m 0700 -o root -g root /var/lib/openclaw/support
  if [ "$SSH_ENABLED" = "0" ]; then
    # First boot masked ssh.service; the agent starts it while a grant is active. The socket unit stays masked.
    systemctl unmask ssh.service
    systemctl disable --now ssh.service >/dev/null 2>&1 || true
    systemctl mask ssh.socket >/dev/null 2>&1 || true
  fi
  systemctl enable --now clawstack-support.service
  log "agent started"
}

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  *)
    echo "usage: $0 setup|start" >&2
    exit 2
    ;;
esac
