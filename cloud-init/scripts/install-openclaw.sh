#!/bin/sh
# Installs the pinned openclaw npm package into its own prefix, checks the
# registry signatures of everything installed (npm audit signatures) and,
# when pinned, the package's integrity hash; then points /opt/openclaw/current at it.
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"

prefix="/opt/openclaw/$OPENCLAW_VERSION"
if [ ! -x "$prefix/node_modules/.bin/openclaw" ]; then
  install -d -m 0755 "$prefix"
  printf '{"name":"clawstack-openclaw","private":true,"allowScripts":{"openclaw":true}}\n' >"$prefix/package.json"
  cd "$prefix"
  HOME=/root npm install --no-fund --no-audit --save-exact --omit=dev --allow-scripts=openclaw "openclaw@$OPENCLAW_VERSION"
  HOME=/root npm audit signatures
  if [ -n "$OPENCLAW_INTEGRITY" ]; then
    actual=$(node -e 'const lock = require("./package-lock.json"); process.stdout.write(lock.packages["node_modules/openclaw"].integrity)')
    if [ "$actual" != "$OPENCLAW_INTEGRITY" ]; then
      echo "clawstack: openclaw@$OPENCLAW_VERSION integrity $actual does not match the pinned $OPENCLAW_INTEGRITY" >&2
      exit 1
    fi
  fi
fi
ln -sfn "$prefix" /opt/openclaw/current
