#!/usr/bin/env bash
# npm run demo: installs what the demo needs when it can (npm packages; Redis and CloudKitty from Debian
# when running as root), or says exactly what to install, then runs scripts/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v cloudkitty-api >/dev/null || missing+=(cloudkitty-api)
command -v influxd >/dev/null || missing+=(influxdb)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "demo: installing ${missing[*]} from Debian's packages (about a minute)"
    apt-get update -qq
    hook=/usr/sbin/policy-rc.d; added=
    # Keeps the packages' own services from starting on all interfaces during the install.
    if [ ! -e "$hook" ]; then printf '#!/bin/sh\nexit 101\n' > "$hook"; chmod +x "$hook"; added=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$added" ] || rm -f "$hook"
  else
    echo "demo: these Debian packages are missing: ${missing[*]}" >&2
    echo "      install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx tsx scripts/demo.ts "$@"
