#!/bin/sh
# Installs the pinned openclaw npm package into its own prefix, checks the
# registry signatures of everything installed (npm audit signatures) and,
# when pinned, the package's integrity hash; then points /opt/openclaw/current at it.
# With a registry mirror (NPM_REGISTRY_URL) npm installs from it, trusting the
# system CA store (where an internal CA is added), and the pinned integrity is
# what proves the package: registry signatures checked through a mirror use
# keys the mirror serves, and their provenance check needs sigstore's TUF CDN,
# which a locked-down network does not reach (docs/cloud-init.md, findings).
set -eu
# shellcheck source=/dev/null
. "${CLAWSTACK_CONF:-/etc/clawstack/host.conf}"
if [ -n "${NPM_REGISTRY_URL:-}" ]; then
  if [ -z "$OPENCLAW_INTEGRITY" ]; then
    echo "clawstack: an npm mirror needs openclaw's integrity pinned (versions.openclawIntegrity)" >&2
    exit 1
  fi
  export npm_config_registry="$NPM_REGISTRY_URL"
  export npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
fi

prefix="/opt/openclaw/$OPENCLAW_VERSION"
if [ ! -x "$prefix/node_modules/.bin/openclaw" ]; then
  install -d -m 0755 "$prefix"
  printf '{"name":"clawstack-openclaw","private":true,"allowScripts":{"openclaw":true}}\n' >"$prefix/package.json"
  cd "$prefix"
  # openclaw's install scripts are allowed by the project's package.json ("allowScripts"): npm >= 11.16
  # refuses --allow-scripts on the command line of a project-scoped install (EALLOWSCRIPTS).
  HOME=/root npm install --no-fund --no-audit --save-exact --omit=dev "openclaw@$OPENCLAW_VERSION"
  if [ -z "${NPM_REGISTRY_URL:-}" ]; then
    HOME=/root npm audit signatures
  fi
  if [ -n "$OPENCLAW_INTEGRITY" ]; then
    actual=$(node -e 'const lock = require("./package-lock.json"); process.stdout.write(lock.packages["node_modules/openclaw"].integrity)')
    if [ "$actual" != "$OPENCLAW_INTEGRITY" ]; then
      echo "clawstack: openclaw@$OPENCLAW_VERSION integrity $actual does not match the pinned $OPENCLAW_INTEGRITY" >&2
      exit 1
    fi
  fi
fi
ln -sfn "$prefix" /opt/openclaw/current
