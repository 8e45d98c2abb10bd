#!/usr/bin/env bash
# The one place that knows which Debian packages `npm test` and `npm run demo` need. `npm test` (as its
# pretest), `npm run setup:test`, `npm run demo` and .ci/run all call it, so none of them can drift.
# Installs only what is missing: as root directly, with --sudo through sudo (CI runners); otherwise it
# names what is missing and the line that installs it, and exits 1 before a test fails for it. In a fresh
# clone it also runs npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash scripts/install-test-deps.sh [--sudo]"
  echo "  installs the missing Debian packages the tests and the demo need (as root, or through sudo with --sudo)"
}

# One line per package: the Debian package, a command it installs (present on PATH = nothing to do, even
# when it came from elsewhere), and who needs it. Adding a package is adding a line.
PACKAGES='
redis-server             redis-server     Redis for the queues, the registry and the demo
cloudkitty-api           cloudkitty-api   a real CloudKitty 17 (scripts/cloudkitty-up.sh)
influxdb                 influxd          CloudKitty storage
keystone                 keystone-manage  CloudKitty behind Keystone
heat-api                 heat-api         a real Heat for the Heat attribution test (scripts/cloudkitty/heat.sh)
heat-engine              heat-engine      a real Heat for the Heat attribution test
rabbitmq-server          rabbitmqctl      RPC of Heat (the test adds a vhost to the running RabbitMQ)
curl                     curl             scripts/cloudkitty-up.sh readiness checks
redis-tools              redis-cli        the Redis Cluster test (redis-cli --cluster create)
openssl                  openssl          certificates of the Redis TLS test
chromium                 chromium         browser test of the queue dashboard, driven by playwright-core
# Kill Bill itself (scripts/killbill.sh): Java 17, Maven for its war, MariaDB for its database.
openjdk-17-jre-headless  java             Kill Bill 0.24
maven                    mvn              Kill Bill 0.24
mariadb-server           mariadbd         Kill Bill 0.24 database
mariadb-client           mariadb          Kill Bill 0.24 schema load
'

use_sudo=
for arg in "$@"; do
  case $arg in
    --sudo) use_sudo=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

installed() {
  local package=$1 command=$2
  if command -v dpkg-query >/dev/null &&
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    return 0
  fi
  # Daemons live in sbin, which a normal user's PATH often lacks.
  PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$command" >/dev/null
}

install_debian_packages() {
  # as_root and hook stay global: the EXIT trap that removes the hook runs after this returns.
  local package command reason missing=() why=()
  while read -r package command reason; do
    case $package in '' | '#'*) continue ;; esac
    installed "$package" "$command" || { missing+=("$package"); why+=("  $package ($command): $reason"); }
  done <<<"$PACKAGES"
  [ ${#missing[@]} -gt 0 ] || return 0

  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif [ -n "$use_sudo" ] && command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    {
      echo "install-test-deps: the tests and the demo need these Debian packages, which are missing:"
      printf '%s\n' "${why[@]}"
      echo "  install them as root, keeping their services from starting:  sudo bash scripts/install-test-deps.sh"
      echo "  or by hand (their services then start with Debian's configs): sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    } >&2
    exit 1
  fi

  echo "install-test-deps: installing ${missing[*]} from Debian's packages (a minute or more)"
  hook=/usr/sbin/policy-rc.d
  remove_hook() { "${as_root[@]}" rm -f "$hook"; }
  if [ ! -e "$hook" ]; then
    # Their postinst scripts would otherwise start influxd, Keystone or MariaDB on all interfaces with /etc
    # configs; the tests and the demo start their own on loopback.
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$hook" >/dev/null
    "${as_root[@]}" chmod 755 "$hook"
    trap remove_hook EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  fi
  "${as_root[@]}" apt-get update -qq -o DPkg::Lock::Timeout=300
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-test-deps: installed ${missing[*]}"
}

install_debian_packages
# The npm side, for a fresh clone; not under sudo, which would leave root's files in the user's checkout.
if [ ! -d node_modules ] && [ -z "${SUDO_USER:-}" ]; then
  echo "install-test-deps: installing the npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
