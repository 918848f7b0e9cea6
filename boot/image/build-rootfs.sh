#!/bin/sh
# Builds the Debian 12 (bookworm) root filesystem the boot test starts, the way
# a cloud's stock Debian 12 image is put together: debootstrap, cloud-init,
# the cloud kernel, OpenSSH, and nothing ClawStack-specific. Test-only pieces,
# each standing in for what a cloud image gets from its cloud:
#   - apt goes through a proxy on the host side (a cloud image's regional mirror);
#   - the test CA is trusted (on a real host, the API and mirrors carry publicly
#     trusted certificates);
#   - cloud-init looks only for NoCloud (the seed disk carries the user-data).
#   - a test-only agent on a virtio serial port (guest/): reports and a loopback
#     chat check, for what cannot be seen from outside.
# Usage: build-rootfs.sh <target-dir> <debian-mirror-url> <guest-apt-proxy-url> <test-ca.pem> <guest-dir>
set -eu
target=$1
mirror=$2
apt_proxy=$3
ca=$4
guest=$5

packages="linux-image-cloud-amd64 systemd-sysv udev kmod dbus iproute2 ifupdown isc-dhcp-client netbase
  cloud-init cloud-guest-utils openssh-server ca-certificates curl sudo procps less gnupg locales"

# debootstrap's own resolver does not follow virtual packages (cloud-init's
# python3-cryptography needs python3-cffi-backend-api-*), so apt installs the rest.
debootstrap --variant=minbase bookworm "$target" "$mirror"
mount -t proc proc "$target/proc"
trap 'umount "$target/proc"' EXIT
printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
chmod 0755 "$target/usr/sbin/policy-rc.d"
# The image's sources, as Debian's cloud images have them; the build takes the
# current point release and security updates, as a freshly published image does.
cat >"$target/etc/apt/sources.list" <<'SOURCES'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
chroot "$target" apt-get update -qq
chroot "$target" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq >/dev/null
# shellcheck disable=SC2086 # a word list on purpose
chroot "$target" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
rm -f "$target/usr/sbin/policy-rc.d"
install -d -m 2755 "$target/var/log/journal"
# cloud-init sets LANG=en_US.UTF-8 and Debian's locale-gen only builds what
# /etc/locale.gen lists: generated here, as Debian's cloud images ship it.
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$target/etc/locale.gen"
chroot "$target" locale-gen >/dev/null

cat >"$target/etc/fstab" <<'FSTAB'
/dev/vda / ext4 defaults,errors=remount-ro 0 1
FSTAB
echo debian >"$target/etc/hostname"
printf 'Acquire::http::Proxy "%s";\n' "$apt_proxy" >"$target/etc/apt/apt.conf.d/01clawstack-boot-test-mirror"
cat >"$target/etc/cloud/cloud.cfg.d/90_clawstack_boot_test.cfg" <<'CFG'
# The boot test's seed disk (NoCloud) plays the cloud's metadata service.
datasource_list: [NoCloud, None]
# Keep the image's apt sources (and its proxy) as a cloud image keeps its regional mirror.
apt:
  preserve_sources_list: true
CFG
cat >"$target/etc/network/interfaces" <<'IFACES'
auto lo
iface lo inet loopback
source /etc/network/interfaces.d/*
IFACES
install -m 0644 "$ca" "$target/usr/local/share/ca-certificates/clawstack-boot-test-ca.crt"
chroot "$target" update-ca-certificates >/dev/null
install -d -m 0755 "$target/usr/local/lib/clawstack-boot"
install -m 0755 "$guest/agent.sh" "$guest/report.sh" "$target/usr/local/lib/clawstack-boot/"
install -m 0644 "$guest/chat-check.mjs" "$target/usr/local/lib/clawstack-boot/"
install -m 0644 "$guest/clawstack-boot-agent.service" "$target/etc/systemd/system/"
ln -sf /etc/systemd/system/clawstack-boot-agent.service "$target/etc/systemd/system/multi-user.target.wants/clawstack-boot-agent.service"
# Per-instance identity is made at first boot, as on a cloud image.
rm -f "$target"/etc/ssh/ssh_host_*
: >"$target/etc/machine-id"
rm -f "$target/var/lib/dbus/machine-id"
chroot "$target" apt-get clean
