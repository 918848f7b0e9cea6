#!/bin/sh
# Mounts the state disk at /var/lib/openclaw. Formats it only when it holds
# no signature at all (blkid -p exit status 2); anything else that is not a
# mountable filesystem stops the boot rather than risk wiping state.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
# Tests run this script against a scratch root with stand-in commands.
root=${CLAWSTACK_ROOT:-}
wait_seconds=${CLAWSTACK_DEVICE_WAIT_SECONDS:-300}
mountpoint_dir=/var/lib/openclaw

fail() { echo "clawstack: state disk: $*" >&2; exit 1; }

waited=0
while [ ! -b "$STATE_DEVICE" ]; do
  waited=$((waited + 1))
  [ "$waited" -le "$wait_seconds" ] || fail "$STATE_DEVICE did not appear within $wait_seconds s"
  sleep 1
done
device=$(readlink -f "$STATE_DEVICE")

probe=0
blkid -p "$device" >/dev/null 2>&1 || probe=$?
case "$probe" in
  0)
    fstype=$(blkid -p -o value -s TYPE "$device" || true)
    [ -n "$fstype" ] || fail "$device holds a signature that is not a filesystem (partition table?): refusing to format it"
    ;;
  2)
    echo "clawstack: $device holds no filesystem: formatting it (ext4)"
    mkfs.ext4 -q -L openclaw-state "$device" </dev/null
    fstype=ext4
    ;;
  *)
    fail "blkid could not probe $device (exit $probe)"
    ;;
esac

uuid=$(blkid -p -o value -s UUID "$device")
[ -n "$uuid" ] || fail "$device has no filesystem UUID"
fstab="$root/etc/fstab"
mkdir -p "$root$mountpoint_dir"
if ! grep -q "^UUID=$uuid " "$fstab"; then
  echo "UUID=$uuid $mountpoint_dir $fstype defaults,nofail,noatime,x-systemd.device-timeout=300 0 2" >>"$fstab"
fi
systemctl daemon-reload
mountpoint -q "$root$mountpoint_dir" || mount "$mountpoint_dir"

# Layout: root-owned mount point; the gateway state and the ClawChat state
# owned by openclaw (re-owned on a rebuild: the new user may have a new uid);
# the TLS key root-only.
state="$root$mountpoint_dir"
chown root:root "$state"
chmod 0755 "$state"
install -d -m 0700 -o openclaw -g openclaw "$state/state" "$state/clawchat"
install -d -m 0700 -o root -g root "$state/tls"
chown -R openclaw:openclaw "$state/state" "$state/clawchat"

# ClawChat keeps its security files where seed 002 §6.1 puts them, backed by the state disk.
install -d -m 0700 -o openclaw -g openclaw "$root/home/openclaw/clawchat"
if ! grep -q " /home/openclaw/clawchat " "$fstab"; then
  echo "$mountpoint_dir/clawchat /home/openclaw/clawchat none bind,nofail,x-systemd.requires-mounts-for=$mountpoint_dir 0 0" >>"$fstab"
fi
systemctl daemon-reload
mountpoint -q "$root/home/openclaw/clawchat" || mount /home/openclaw/clawchat
