#!/bin/sh
# Installs the pinned Node.js from the official tarball, verified against the
# SHA-256 pinned in user-data (or, when none was pinned, against nodejs.org's
# SHASUMS256.txt fetched over HTTPS: see docs/cloud-init.md). With a Node.js
# mirror (NODE_DIST_URL, nodejs.org/dist layout) the pin is required: a mirror's
# own checksum file proves nothing about the tarball.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"

case "$(dpkg --print-architecture)" in
  amd64) arch=x64; expected=$NODE_SHA256_X64 ;;
  arm64) arch=arm64; expected=$NODE_SHA256_ARM64 ;;
  *) echo "clawstack: unsupported architecture $(dpkg --print-architecture)" >&2; exit 1 ;;
esac

name="node-v$NODE_VERSION-linux-$arch"
if [ ! -x "/opt/$name/bin/node" ]; then
  if [ -z "$expected" ] && [ -n "${NODE_DIST_URL:-}" ]; then
    echo "clawstack: a Node.js mirror needs the tarball's SHA-256 pinned (versions.nodeSha256)" >&2
    exit 1
  fi
  work=$(mktemp -d)
  base="${NODE_DIST_URL:-https://nodejs.org/dist}/v$NODE_VERSION"
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 5 \
    -o "$work/$name.tar.xz" "$base/$name.tar.xz"
  if [ -z "$expected" ]; then
    curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 5 \
      -o "$work/SHASUMS256.txt" "$base/SHASUMS256.txt"
    expected=$(awk -v file="$name.tar.xz" '$2 == file { print $1 }' "$work/SHASUMS256.txt")
    [ -n "$expected" ] || { echo "clawstack: $name.tar.xz is not in SHASUMS256.txt" >&2; exit 1; }
  fi
  (cd "$work" && echo "$expected  $name.tar.xz" | sha256sum --check --strict --quiet -)
  tar -xJf "$work/$name.tar.xz" -C /opt --no-same-owner
  rm -rf "$work"
fi
ln -sfn "/opt/$name" /opt/node
for tool in node npm npx; do
  ln -sf "/opt/node/bin/$tool" "/usr/local/bin/$tool"
done
node --version
