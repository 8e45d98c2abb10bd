#!/usr/bin/env bash
# npm run demo: installs what the demo (and `npm test`) need when it can, or says exactly what to install,
# then becomes scripts/demo.ts. `exec`, so that node is this very process: a signal sent to it, or
# forwarded by npm, reaches the one process that knows how to stop everything the demo started.
set -euo pipefail
cd "$(dirname "$0")/.."

wants_help=
for arg in "$@"; do case $arg in -h | --help) wants_help=1 ;; esac; done
# --help starts nothing, and installs nothing either.
[ -n "$wants_help" ] || bash scripts/install-test-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
exec node --import tsx scripts/demo.ts "$@"
