#!/usr/bin/env bash
# cloudkitty-up.sh - run a REAL OpenStack CloudKitty API (Debian bookworm
# packages: CloudKitty 17.0.0 / Zed, InfluxDB 1.6.7, optionally Keystone 22)
# on 127.0.0.1 for integration tests, CI and the demo.  No Docker, no PyPI, no systemd.
# The test harness (test/support/cloudkitty.ts) drives it with free ports and its own state dir.
#
# Usage:
#   eval "$(./cloudkitty-up.sh up)"      # install if needed, start, print env
#   ./cloudkitty-up.sh status [STATE_DIR]
#   ./cloudkitty-up.sh reset  [STATE_DIR] # drop + recreate the InfluxDB database
#   ./cloudkitty-up.sh down   [STATE_DIR] # stop (by recorded PID only), clean up
#
# `up` prints only `export KEY=value` lines on stdout (everything else goes to
# stderr), e.g.  export CLOUDKITTY_URL=http://127.0.0.1:18889
# The same lines are written to $CK_STATE_DIR/env.sh.
#
# Knobs (environment):
#   CK_AUTH=noauth|keystone   default noauth. keystone also installs+starts Keystone.
#   CK_HEAT=1                 with keystone: also a real Heat (heat-api + heat-engine) on the machine's
#                             RabbitMQ (CK_RABBIT_URL, default guest@127.0.0.1:5672), in a vhost of its own
#   CK_API_SERVER=simple|uwsgi default simple (the packaged wsgiref runner,
#                              single-threaded); uwsgi = packaged uWSGI, 2 workers.
#   CK_PORT=18889  CK_INFLUX_PORT=18086  CK_INFLUX_RPC_PORT=18088  CK_KEYSTONE_PORT=15000  CK_HEAT_PORT=18004
#   CK_STATE_DIR=<dir>         default: new mktemp dir under ${TMPDIR:-/tmp}
#   CK_SKIP_INSTALL=1          never call apt-get
#   CK_READY_TIMEOUT=60        seconds to wait for each server
#   CK_KEEP_STATE=1            `down` keeps the state dir (logs) instead of deleting it
#   CK_ADMIN_PASSWORD=...      Keystone admin password (default: ci-admin-pw)
#   CK_TZ=UTC                  time zone of the CloudKitty API process; its responses carry
#                              this zone's offset, so tests can prove the client parses it
#
# Packages are installed with apt-get only when missing, and only when running as root;
# otherwise `up` stops and says what to install.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CK_AUTH=${CK_AUTH:-noauth}
CK_API_SERVER=${CK_API_SERVER:-simple}
CK_PORT=${CK_PORT:-18889}
CK_INFLUX_PORT=${CK_INFLUX_PORT:-18086}
CK_INFLUX_RPC_PORT=${CK_INFLUX_RPC_PORT:-18088}
CK_KEYSTONE_PORT=${CK_KEYSTONE_PORT:-15000}
CK_HEAT=${CK_HEAT:-0}
CK_HEAT_PORT=${CK_HEAT_PORT:-18004}
CK_READY_TIMEOUT=${CK_READY_TIMEOUT:-60}
CK_ADMIN_PASSWORD=${CK_ADMIN_PASSWORD:-ci-admin-pw}
CK_TZ=${CK_TZ:-UTC}
CK_DB_NAME=cloudkitty
LAST_POINTER="${TMPDIR:-/tmp}/cloudkitty-ci.last"
PY=/usr/bin/python3            # Debian's python (a pyenv/venv python3 on PATH won't do)
HOST=127.0.0.1

log() { printf '[cloudkitty-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_http URL EXPECTED_CODE NAME PID
wait_http() {
  local url=$1 want=$2 name=$3 pid=$4 t0 code deadline
  t0=$(now); deadline=$(( $(date +%s) + CK_READY_TIMEOUT ))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null || true)
    [ "$code" = "$want" ] && break
    kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited during startup; see $STATE/log/"
    [ "$(date +%s)" -lt "$deadline" ] || die "$name not ready after ${CK_READY_TIMEOUT}s ($url -> $code)"
    sleep 0.2
  done
  log "$name ready in $(elapsed "$t0")s (pid $pid, $url)"
}

# start_bg NAME LOGFILE CMD...   (records PID + process start time to guard against PID reuse)
start_bg() {
  local name=$1 logf=$2; shift 2
  nohup "$@" >"$logf" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$STATE/pids/$name.pid"
  awk '{print $22}' "/proc/$pid/stat" >"$STATE/pids/$name.start" 2>/dev/null || true
  echo "$pid"
}

json_get() {  # json_get key.path  < json
  "$PY" -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$1"
}

# ---------------------------------------------------------------- install
install_packages() {
  local pkgs=(cloudkitty-api influxdb curl) missing=() p t0 made_policy=0
  [ "$CK_AUTH" = keystone ] && pkgs+=(keystone)
  [ "$CK_HEAT" = 1 ] && pkgs+=(heat-api heat-engine)
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "packages already installed: ${pkgs[*]}"; return; fi
  [ "${CK_SKIP_INSTALL:-0}" = 1 ] && die "missing packages ${missing[*]} and CK_SKIP_INSTALL=1"
  [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}; install them as root: apt-get install -y --no-install-recommends ${missing[*]}"
  # Debian postinsts call invoke-rc.d: forbid them to start services (they would
  # bind 0.0.0.0:8086 / :8889 / :5000 with /etc configs).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
    made_policy=1
  fi
  t0=$(now)
  log "installing ${missing[*]} (apt-get, Debian archive only) ..."
  {
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
  } >&2 || { [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get failed"; }
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  log "install took $(elapsed "$t0")s"
}

# shellcheck source=cloudkitty/configs.sh
. "$HERE/cloudkitty/configs.sh"
# shellcheck source=cloudkitty/keystone.sh
. "$HERE/cloudkitty/keystone.sh"
# shellcheck source=cloudkitty/heat.sh
. "$HERE/cloudkitty/heat.sh"

# ---------------------------------------------------------------- up
UP_OK=0
on_up_exit() {
  local rc=$?
  [ "$UP_OK" = 1 ] && return 0
  log "startup failed (rc=$rc); last log lines:"
  for f in "$STATE"/log/*; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }; done
  CK_KEEP_STATE=1 do_down "$STATE" || true
  log "state kept for inspection: $STATE"
}

do_up() {
  local t_all t0 pid p
  t_all=$(now)
  case $CK_AUTH in noauth|keystone) ;; *) die "CK_AUTH must be noauth or keystone";; esac
  case $CK_API_SERVER in simple|uwsgi) ;; *) die "CK_API_SERVER must be simple or uwsgi";; esac
  [ "$CK_HEAT" != 1 ] || [ "$CK_AUTH" = keystone ] || die "CK_HEAT=1 needs CK_AUTH=keystone"
  install_packages
  for p in "$CK_PORT" "$CK_INFLUX_PORT" "$CK_INFLUX_RPC_PORT"; do port_busy "$p" && die "port $HOST:$p already in use"; done
  if [ "$CK_AUTH" = keystone ]; then port_busy "$CK_KEYSTONE_PORT" && die "port $HOST:$CK_KEYSTONE_PORT already in use"; fi
  if [ "$CK_HEAT" = 1 ]; then port_busy "$CK_HEAT_PORT" && die "port $HOST:$CK_HEAT_PORT already in use"; fi

  STATE=${CK_STATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cloudkitty-ci.XXXXXX")}
  mkdir -p "$STATE"; STATE=$(cd "$STATE" && pwd)
  echo "$STATE" >"$LAST_POINTER"
  trap on_up_exit EXIT
  write_configs

  # InfluxDB (storage v2 backend)
  t0=$(now)
  pid=$(start_bg influxd "$STATE/log/influxd.log" influxd run -config "$STATE/influxdb.conf")
  wait_http "http://$HOST:$CK_INFLUX_PORT/ping" 204 influxd "$pid"
  curl -sf -XPOST "http://$HOST:$CK_INFLUX_PORT/query" --data-urlencode "q=CREATE DATABASE $CK_DB_NAME" >/dev/null

  # CloudKitty DB schema (SQLite) + storage init
  t0=$(now)
  cloudkitty-dbsync --config-file "$STATE/cloudkitty.conf" upgrade >"$STATE/log/dbsync.out" 2>&1
  cloudkitty-storage-init --config-file "$STATE/cloudkitty.conf" >"$STATE/log/storage-init.out" 2>&1
  log "cloudkitty-dbsync + storage-init took $(elapsed "$t0")s"

  [ "$CK_AUTH" = keystone ] && start_keystone
  [ "$CK_HEAT" = 1 ] && start_heat

  # CloudKitty API
  t0=$(now)
  if [ "$CK_API_SERVER" = uwsgi ]; then
    cat >"$STATE/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = $HOST:$CK_PORT
master = true
processes = ${CK_UWSGI_PROCESSES:-2}
threads = 1
lazy-apps = true
die-on-term = true
need-app = true
buffer-size = 65535
wsgi-file = /usr/bin/cloudkitty-api
pyargv = --config-file $STATE/cloudkitty.conf
EOF
    pid=$(TZ=$CK_TZ start_bg cloudkitty-api "$STATE/log/cloudkitty-api-stdout.log" uwsgi --ini "$STATE/uwsgi.ini")
  else
    pid=$(TZ=$CK_TZ start_bg cloudkitty-api "$STATE/log/cloudkitty-api-stdout.log" \
          cloudkitty-api --host "$HOST" --port "$CK_PORT" -- --config-file "$STATE/cloudkitty.conf")
  fi
  wait_http "http://$HOST:$CK_PORT/" 200 cloudkitty-api "$pid"

  # end-to-end check: API -> (Keystone) -> InfluxDB
  local auth=() code
  if [ "$CK_AUTH" = keystone ]; then auth=(-H "X-Auth-Token: $(admin_token)"); fi
  code=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://$HOST:$CK_PORT/v2/summary?filters=type:none")
  [ "$code" = 200 ] || die "GET /v2/summary returned $code"

  {
    echo "export CLOUDKITTY_URL=http://$HOST:$CK_PORT"
    echo "export CK_STATE_DIR=$STATE"
    echo "export CK_AUTH=$CK_AUTH"
    echo "export CLOUDKITTY_INFLUX_URL=http://$HOST:$CK_INFLUX_PORT"
    if [ "$CK_AUTH" = keystone ]; then
      echo "export OS_AUTH_URL=http://$HOST:$CK_KEYSTONE_PORT/v3"
      echo "export OS_USERNAME=admin"
      echo "export OS_PASSWORD=$CK_ADMIN_PASSWORD"
      echo "export OS_PROJECT_NAME=admin"
      echo "export OS_USER_DOMAIN_NAME=Default"
      echo "export OS_PROJECT_DOMAIN_NAME=Default"
      echo "export OS_REGION_NAME=RegionOne"
      echo "export OS_IDENTITY_API_VERSION=3"
    fi
    if [ "$CK_HEAT" = 1 ]; then echo "export HEAT_URL=http://$HOST:$CK_HEAT_PORT"; fi
  } | tee "$STATE/env.sh"
  UP_OK=1
  log "all up in $(elapsed "$t_all")s; stop with: $0 down $STATE"
}

# ---------------------------------------------------------------- down/status/reset
resolve_state() {
  local s=${1:-${CK_STATE_DIR:-}}
  [ -z "$s" ] && [ -f "$LAST_POINTER" ] && s=$(cat "$LAST_POINTER")
  [ -n "$s" ] && [ -d "$s/pids" ] || return 1
  echo "$s"
}

# prints the PID if the recorded process is still the one we started
live_pid() {
  local f=$1 pid start
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -f "${f%.pid}.start" ]; then
    start=$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null || true)
    [ "$start" = "$(cat "${f%.pid}.start")" ] || return 1   # PID was reused: not ours
  fi
  echo "$pid"
}

do_down() {
  local s name pid i
  s=$(resolve_state "${1:-}") || { log "nothing to stop (no state dir found)"; return 0; }
  for name in cloudkitty-api heat-api heat-engine keystone influxd; do
    pid=$(live_pid "$s/pids/$name.pid") || continue
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored SIGTERM, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  done
  stop_heat_vhost "$s"
  if [ "${CK_KEEP_STATE:-0}" = 1 ]; then log "kept state dir $s"; else rm -rf "$s"; fi
  [ -f "$LAST_POINTER" ] && [ "$(cat "$LAST_POINTER")" = "$s" ] && rm -f "$LAST_POINTER"
  return 0
}

do_status() {
  local s f name pid
  s=$(resolve_state "${1:-}") || { echo "no state dir"; return 1; }
  echo "state: $s"
  for f in "$s"/pids/*.pid; do
    name=$(basename "$f" .pid)
    if pid=$(live_pid "$f"); then
      echo "$name: running pid=$pid rss=$(awk '/VmRSS/{print $2" "$3}' "/proc/$pid/status")"
    else echo "$name: not running"; fi
  done
}

do_reset() {
  local s
  s=$(resolve_state "${1:-}") || die "no state dir"
  # shellcheck disable=SC1091
  . "$s/env.sh"
  curl -sf -XPOST "$CLOUDKITTY_INFLUX_URL/query" --data-urlencode "q=DROP DATABASE $CK_DB_NAME" >/dev/null
  curl -sf -XPOST "$CLOUDKITTY_INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE $CK_DB_NAME" >/dev/null
  log "InfluxDB database '$CK_DB_NAME' emptied"
}

case ${1:-up} in
  up) do_up ;;
  down|stop) do_down "${2:-}" ;;
  status) do_status "${2:-}" ;;
  reset) do_reset "${2:-}" ;;
  *) echo "usage: $0 up|down|status|reset [STATE_DIR]" >&2; exit 2 ;;
esac
