#!/usr/bin/env bash
# killbill.sh - run the REAL Kill Bill server (the published killbill-profiles-killbill war from
# Maven Central, in Jetty 9.4's jetty-runner, also from Maven Central) on 127.0.0.1 for integration
# tests, CI and the demo. No Docker, no systemd. The test harness (test/support/killbill-server.ts)
# drives it with a free port and a state dir of its own.
#
# Usage:
#   eval "$(scripts/killbill.sh up)"     # install what is missing, fetch (cached), start, print env
#   scripts/killbill.sh status [STATE_DIR]
#   scripts/killbill.sh down   [STATE_DIR]  # stop (recorded PID only), drop the database, remove the dir
#
# `up` prints only `export KEY=value` lines on stdout (everything else goes to stderr):
#   KILLBILL_URL KILLBILL_STATE_DIR KILLBILL_PID KILLBILL_LOG KILLBILL_DB KILLBILL_VERSION
#   KILLBILL_USERNAME KILLBILL_PASSWORD   (the same lines are in $KILLBILL_STATE_DIR/env.sh)
# It returns once `POST /1.0/kb/tenants` answers 201 (a throwaway tenant with a random API key):
# /1.0/healthcheck is no proof, it answers 200 even when Kill Bill's services failed to start.
#
# Version: the 0.24.x wars are NOT served by the Maven Central this machine reaches (its
# maven-metadata.xml for killbill-profiles-killbill stops at 0.22.26; 0.24.0 and 0.24.15-0.24.19
# answer 404), so the default is the newest war that resolves, 0.22.26. KILLBILL_VERSION=0.24.x
# takes a 0.24 war where one is served; the rest of this script does not depend on the version.
#
# Knobs (environment):
#   KILLBILL_VERSION=0.22.26          killbill-profiles-killbill war version
#   KILLBILL_JETTY_VERSION=9.4.57.v20241219  org.eclipse.jetty:jetty-runner version
#   KILLBILL_PORT=<free>              HTTP port on 127.0.0.1 (default: a free one)
#   KILLBILL_STATE_DIR=<dir>          default: new mktemp dir under ${TMPDIR:-/tmp}
#   KILLBILL_DB_HOST/PORT/USER/PASSWORD  MariaDB/MySQL server (127.0.0.1/3306/root/empty)
#   KILLBILL_DB_NAME=killbill_<random>   created fresh, must not exist
#   KILLBILL_NOTIFICATION_RETRIES=1s,2s,4s  push-notification retry schedule
#   KILLBILL_XMX=768m                 JVM heap
#   KILLBILL_JAVA_OPTS=               extra JVM flags, appended (later flags win)
#   KILLBILL_READY_TIMEOUT=240        seconds for the server to accept a tenant
#   KILLBILL_STOP_TIMEOUT=30          seconds between TERM and KILL on `down`
#   KILLBILL_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/killbill-openstack-bridge
#   KILLBILL_SKIP_INSTALL=1           never call apt-get
#   KILLBILL_KEEP_STATE=1             `down` keeps the state dir (logs)
#   KILLBILL_WATCH_PID=<pid>          stop the server (as `down` does) once that process is gone
#   JAVA_HOME                         Java 11+ to run it with (default: java on PATH)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"

KILLBILL_VERSION=${KILLBILL_VERSION:-0.22.26}
KILLBILL_JETTY_VERSION=${KILLBILL_JETTY_VERSION:-9.4.57.v20241219}
KILLBILL_DB_HOST=${KILLBILL_DB_HOST:-127.0.0.1}
KILLBILL_DB_PORT=${KILLBILL_DB_PORT:-3306}
KILLBILL_DB_USER=${KILLBILL_DB_USER:-root}
KILLBILL_DB_PASSWORD=${KILLBILL_DB_PASSWORD:-}
KILLBILL_NOTIFICATION_RETRIES=${KILLBILL_NOTIFICATION_RETRIES:-1s,2s,4s}
KILLBILL_XMX=${KILLBILL_XMX:-768m}
KILLBILL_READY_TIMEOUT=${KILLBILL_READY_TIMEOUT:-240}
KILLBILL_STOP_TIMEOUT=${KILLBILL_STOP_TIMEOUT:-30}
CACHE=${KILLBILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/killbill-openstack-bridge}
HOST=127.0.0.1
ADMIN_USER="admin"
ADMIN_PASSWORD=password
MARKER=.killbill-sh-state

# Kill Bill (built for Java 8/11) reflects into the JDK: cglib (skife config) defines classes through
# ClassLoader.defineClass, Felix (OSGi) wraps the JDK's URL stream handlers, Guava/Ehcache poke into
# java.util. Without these opens Java 17 fails start-up with InaccessibleObjectException.
JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.security=ALL-UNNAMED
  --add-opens=java.base/sun.net.www.protocol.jar=ALL-UNNAMED
  --add-opens=java.base/sun.net.www.protocol.file=ALL-UNNAMED
  --add-opens=java.base/sun.net.www.protocol.http=ALL-UNNAMED
  --add-opens=java.base/sun.net.www.protocol.https=ALL-UNNAMED
)

log() { printf '[killbill.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
is_local_db() { case $KILLBILL_DB_HOST in 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac; }

# mysql CLI against the configured server; the password goes through the environment, not argv.
sql() {
  MYSQL_PWD=$KILLBILL_DB_PASSWORD mysql --protocol=TCP -h "$KILLBILL_DB_HOST" -P "$KILLBILL_DB_PORT" \
    -u "$KILLBILL_DB_USER" --batch --skip-column-names "$@"
}

java_bin() { if [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME/bin/java"; else command -v java || true; fi; }
java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/{print $2}' | cut -d. -f1; }

# ---------------------------------------------------------------- install
apt_install() {
  local made_policy=0
  [ "${KILLBILL_SKIP_INSTALL:-0}" = 1 ] && die "missing: $*; KILLBILL_SKIP_INSTALL=1, so install them yourself: apt-get install -y --no-install-recommends $*"
  [ "$(id -u)" = 0 ] || die "missing: $*; install them as root: sudo apt-get install -y --no-install-recommends $*"
  # Package scripts must not start services on their own (MariaDB is started below, on loopback).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  log "installing $* (apt-get) ..."
  {
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@"
  } >&2 || { [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install $* failed"; }
  if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

ensure_tools() {
  local missing=() j
  j=$(java_bin)
  if [ -z "$j" ] || [ ! -x "$j" ] || [ "$(java_major "$j")" -lt 11 ] 2>/dev/null; then
    [ -n "${JAVA_HOME:-}" ] && die "JAVA_HOME=$JAVA_HOME has no Java 11 or newer"
    missing+=(openjdk-17-jre-headless)
  fi
  command -v mvn >/dev/null || missing+=(maven)
  command -v mysql >/dev/null || missing+=(mariadb-client)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  if is_local_db && ! port_busy "$KILLBILL_DB_HOST" "$KILLBILL_DB_PORT" &&
    [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
    missing+=(mariadb-server)
  fi
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
  JAVA=$(java_bin)
}

ensure_database_server() {
  port_busy "$KILLBILL_DB_HOST" "$KILLBILL_DB_PORT" && return 0
  is_local_db || die "no database server answers at $KILLBILL_DB_HOST:$KILLBILL_DB_PORT"
  [ "$(id -u)" = 0 ] || die "MariaDB is not running on $KILLBILL_DB_HOST:$KILLBILL_DB_PORT; start it as root: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"
  log "starting MariaDB (not running on $KILLBILL_DB_HOST:$KILLBILL_DB_PORT) ..."
  install -d -o mysql -g mysql /run/mysqld 2>/dev/null || install -d /run/mysqld
  if [ -x /usr/sbin/mariadbd ]; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2
  else
    (cd / && nohup mysqld_safe >/dev/null 2>&1 &)
  fi
  for _ in $(seq 1 120); do
    port_busy "$KILLBILL_DB_HOST" "$KILLBILL_DB_PORT" && { log "MariaDB is up"; return 0; }
    sleep 0.5
  done
  die "MariaDB did not open $KILLBILL_DB_HOST:$KILLBILL_DB_PORT within 60 s"
}

# ---------------------------------------------------------------- downloads (cached)
# fetch_artifact GROUP:ARTIFACT:VERSION:TYPE FILE: copies it into $CACHE/dl via the local Maven repo.
fetch_artifact() {
  local coords=$1 file=$2 t0
  [ -s "$CACHE/dl/$file" ] && return 0
  t0=$(now)
  log "fetching $coords from Maven Central ..."
  if ! mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="$coords" -DoutputDirectory="$CACHE/dl.tmp" \
    >"$CACHE/mvn.log" 2>&1; then
    tail -n 20 "$CACHE/mvn.log" >&2
    case $coords in
      *:killbill-profiles-killbill:0.24.*) die "mvn could not fetch $coords (see above): the Maven Central reached here serves no 0.24.x war; KILLBILL_VERSION=0.22.26 is served" ;;
      *) die "mvn could not fetch $coords (see above; full output in $CACHE/mvn.log)" ;;
    esac
  fi
  mv -f "$CACHE/dl.tmp/$file" "$CACHE/dl/$file"
  log "fetched $file in $(elapsed "$t0")s"
}

# Fills $CACHE/killbill-$V/{webapp,ddl.sql} and $CACHE/dl/jetty-runner-*.jar once; later runs reuse them.
prepare_cache() {
  local war="killbill-profiles-killbill-$KILLBILL_VERSION.war" dir="$CACHE/killbill-$KILLBILL_VERSION" tmp lib j entry
  mkdir -p "$CACHE/dl" "$CACHE/dl.tmp"
  exec 8>"$CACHE/.lock"
  flock -w 900 8 || die "could not lock $CACHE/.lock"
  fetch_artifact "org.eclipse.jetty:jetty-runner:$KILLBILL_JETTY_VERSION:jar" "jetty-runner-$KILLBILL_JETTY_VERSION.jar"
  JETTY_JAR="$CACHE/dl/jetty-runner-$KILLBILL_JETTY_VERSION.jar"
  WEBAPP="$dir/webapp"
  DDL="$dir/ddl.sql"
  if [ ! -f "$dir/.complete" ]; then
    fetch_artifact "org.kill-bill.billing:killbill-profiles-killbill:$KILLBILL_VERSION:war" "$war"
    tmp="$dir.tmp.$$"
    rm -rf "$tmp" && mkdir -p "$tmp/webapp"
    unzip -q "$CACHE/dl/$war" -d "$tmp/webapp"
    # The schema: Kill Bill creates no tables. It is every module's org/killbill/billing/<module>/ddl.sql
    # (account, beatrix, catalog, entitlement, invoice, payment, subscription, tenant, usage, util),
    # after the generic queue tables of killbill-queue (util's ddl.sql redefines notifications and
    # bus_events the Kill Bill way, so it must come later), plus the persistent external bus tables,
    # which no ddl.sql in the war defines: they are shaped like bus_events.
    lib="$tmp/webapp/WEB-INF/lib"
    {
      echo "-- Kill Bill $KILLBILL_VERSION schema, from the ddl.sql resources of $war"
      for j in "$lib"/killbill-queue-*.jar; do
        [ -f "$j" ] && unzip -l "$j" | awk '{print $4}' | grep -qx 'org/killbill/queue/ddl.sql' &&
          { unzip -p "$j" org/killbill/queue/ddl.sql; echo; }
      done
      for j in "$lib"/killbill-*.jar; do
        while read -r entry; do
          echo "-- $(basename "$j"): $entry"
          unzip -p "$j" "$entry"
          echo
        done < <(unzip -l "$j" | awk '{print $4}' | grep -E '^org/killbill/billing/[a-z]+/ddl\.sql$' | sort)
      done
      echo "DROP TABLE IF EXISTS bus_ext_events; CREATE TABLE bus_ext_events LIKE bus_events;"
      echo "DROP TABLE IF EXISTS bus_ext_events_history; CREATE TABLE bus_ext_events_history LIKE bus_events_history;"
    } >"$tmp/ddl.sql"
    grep -q 'CREATE TABLE accounts' "$tmp/ddl.sql" || die "no account ddl.sql found in $war"
    rm -rf "$dir" && mv "$tmp" "$dir" && touch "$dir/.complete"
    rm -f "$CACHE/dl/$war" # the exploded copy is what runs; the war itself stays in ~/.m2
    log "cached Kill Bill $KILLBILL_VERSION in $dir"
  fi
  exec 8>&-
}

# ---------------------------------------------------------------- up
UP_OK=0
on_up_exit() {
  local rc=$?
  [ "$UP_OK" = 1 ] && return 0
  log "start-up failed (rc=$rc)"
  if [ -f "${STATE:-}/killbill.log" ]; then
    echo "== last lines of $STATE/killbill.log" >&2
    grep -vE "ConfigurationObjectFactory" "$STATE/killbill.log" | tail -n 40 | cut -c1-400 >&2 || true
  fi
  if [ -n "${STATE:-}" ] && [ -f "$STATE/$MARKER" ]; then
    KILLBILL_KEEP_STATE=1 do_down "$STATE" || true
    log "state kept for inspection: $STATE (remove it with: rm -rf $STATE)"
  fi
}

pick_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 25000))
    port_busy "$HOST" "$p" || { echo "$p"; return 0; }
  done
  die "found no free port"
}

# A tenant with a random API key: 201 means the server is fully up (services, DB, security).
try_create_tenant() {
  local key
  key="kb-ready-$(random_hex 6)"
  curl -s -o /dev/null -w '%{http_code}' --max-time 20 -u "$ADMIN_USER:$ADMIN_PASSWORD" \
    -H 'Content-Type: application/json' -H 'X-Killbill-CreatedBy: killbill.sh' \
    -X POST -d "{\"apiKey\":\"$key\",\"apiSecret\":\"$(random_hex 12)\"}" \
    "http://$HOST:$PORT/1.0/kb/tenants" 2>/dev/null || true
}

do_up() {
  local t_all t0 pid code deadline db_url props
  t_all=$(now)
  ensure_tools
  ensure_database_server
  prepare_cache

  PORT=${KILLBILL_PORT:-$(pick_port)}
  port_busy "$HOST" "$PORT" && die "port $HOST:$PORT already in use"
  DB=${KILLBILL_DB_NAME:-killbill_$(random_hex 5)}
  [[ $DB =~ ^[A-Za-z0-9_]+$ ]] || die "KILLBILL_DB_NAME must be letters, digits and _"

  STATE=${KILLBILL_STATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/killbill.XXXXXX")}
  mkdir -p "$STATE"
  STATE=$(cd "$STATE" && pwd)
  [ -z "$(ls -A "$STATE")" ] || die "state dir $STATE is not empty"
  touch "$STATE/$MARKER"
  mkdir -p "$STATE/pids" "$STATE/tmp" "$STATE/logs"
  trap on_up_exit EXIT
  {
    printf 'DB=%q\nDB_HOST=%q\nDB_PORT=%q\nDB_USER=%q\n' "$DB" "$KILLBILL_DB_HOST" "$KILLBILL_DB_PORT" "$KILLBILL_DB_USER"
    printf 'PORT=%q\nVERSION=%q\n' "$PORT" "$KILLBILL_VERSION"
  } >"$STATE/state.env"

  t0=$(now)
  sql -e "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4" || die "could not create database $DB on $KILLBILL_DB_HOST:$KILLBILL_DB_PORT"
  touch "$STATE/db.created"
  sql "$DB" <"$DDL" || die "loading the schema into $DB failed"
  log "database $DB: $(sql -e "select count(*) from information_schema.tables where table_schema='$DB'") tables in $(elapsed "$t0")s"

  db_url="jdbc:mysql://$KILLBILL_DB_HOST:$KILLBILL_DB_PORT/$DB"
  props="$STATE/killbill.properties"
  sed -e "s|@JDBC_URL@|$db_url|g" -e "s|@DB_USER@|$KILLBILL_DB_USER|g" \
    -e "s|@BASE_URL@|http://$HOST:$PORT|g" -e "s|@STATE_DIR@|$STATE|g" \
    -e "s|@NOTIFICATION_RETRIES@|$KILLBILL_NOTIFICATION_RETRIES|g" \
    -e "/@DB_PASSWORD@/d" "$HERE/killbill/killbill.properties.in" >"$props"
  # The password is appended verbatim (no sed escaping issues), readable by the owner only.
  chmod 600 "$props"
  printf 'org.killbill.dao.password=%s\norg.killbill.billing.osgi.dao.password=%s\n' \
    "$KILLBILL_DB_PASSWORD" "$KILLBILL_DB_PASSWORD" >>"$props"

  # 2 cores: the serial GC and the C1 JIT alone start fastest and keep RSS near 300 MB (KILLBILL_JAVA_OPTS
  # can bring back -XX:TieredStopAtLevel=4 for long runs).
  JVM_FLAGS=(
    "-Xms256m" "-Xmx$KILLBILL_XMX" -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    "${JAVA_OPENS[@]}"
    -Duser.timezone=GMT -Dfile.encoding=UTF-8 -Djava.security.egd=file:/dev/./urandom
    "-Djava.io.tmpdir=$STATE/tmp" "-DLOGS_DIR=$STATE/logs"
    "-Dorg.killbill.server.properties=file://$props"
    # jetty-runner's own SLF4J has no binding: without this a failed web app start is silent (503 forever).
    -Dorg.eclipse.jetty.util.log.class=org.eclipse.jetty.util.log.StdErrLog
  )
  # shellcheck disable=SC2206 # extra flags are meant to be split into words
  [ -n "${KILLBILL_JAVA_OPTS:-}" ] && JVM_FLAGS+=($KILLBILL_JAVA_OPTS)
  printf '%s\n' "${JVM_FLAGS[@]}" >"$STATE/jvm.flags"
  t0=$(now)
  nohup "$JAVA" "${JVM_FLAGS[@]}" -jar "$JETTY_JAR" --host "$HOST" --port "$PORT" --path / "$WEBAPP" \
    >"$STATE/killbill.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/pids/killbill.pid"
  awk '{print $22}' "/proc/$pid/stat" >"$STATE/pids/killbill.start" 2>/dev/null || true
  log "Kill Bill $KILLBILL_VERSION starting (pid $pid, port $PORT, db $DB, log $STATE/killbill.log) ..."

  deadline=$(($(date +%s) + KILLBILL_READY_TIMEOUT))
  while :; do
    kill -0 "$pid" 2>/dev/null || die "the JVM (pid $pid) exited during start-up"
    if grep -qE 'Failed startup of context|Killbill lifecycle failed' "$STATE/killbill.log"; then
      die "Kill Bill failed to start ($(grep -m1 -oE 'Failed startup of context|Killbill lifecycle failed.{0,80}' "$STATE/killbill.log")); a Java 17 InaccessibleObjectException in the log means a missing --add-opens"
    fi
    if port_busy "$HOST" "$PORT"; then
      code=$(try_create_tenant)
      [ "$code" = 201 ] && break
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "Kill Bill did not accept a tenant within ${KILLBILL_READY_TIMEOUT}s (last answer: ${code:-none})"
    sleep 0.5
  done
  log "Kill Bill ready in $(elapsed "$t0")s (rss $(awk '/VmRSS/{print $2" "$3}' "/proc/$pid/status"))"

  if [ -n "${KILLBILL_WATCH_PID:-}" ]; then
    nohup bash "$SELF" _watch "$STATE" "$KILLBILL_WATCH_PID" >>"$STATE/watch.log" 2>&1 </dev/null &
    echo $! >"$STATE/pids/watch.pid"
  fi

  {
    echo "export KILLBILL_URL=http://$HOST:$PORT"
    echo "export KILLBILL_STATE_DIR=$STATE"
    echo "export KILLBILL_PID=$pid"
    echo "export KILLBILL_LOG=$STATE/killbill.log"
    echo "export KILLBILL_DB=$DB"
    echo "export KILLBILL_VERSION=$KILLBILL_VERSION"
    echo "export KILLBILL_USERNAME=$ADMIN_USER"
    echo "export KILLBILL_PASSWORD=$ADMIN_PASSWORD"
  } | tee "$STATE/env.sh"
  UP_OK=1
  log "all up in $(elapsed "$t_all")s; stop with: $SELF down $STATE"
}

# ---------------------------------------------------------------- down / status / watch
resolve_state() {
  local s=${1:-${KILLBILL_STATE_DIR:-}}
  [ -n "$s" ] && [ -f "$s/$MARKER" ] || return 1
  (cd "$s" && pwd)
}

# Prints the PID if the recorded process is still the one we started (guards against PID reuse).
live_pid() {
  local f=$1 pid start
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -f "${f%.pid}.start" ]; then
    start=$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null || true)
    [ "$start" = "$(cat "${f%.pid}.start")" ] || return 1
  fi
  echo "$pid"
}

do_down() {
  local s pid DB='' DB_HOST='' DB_PORT='' DB_USER='' PORT='' VERSION=''
  s=$(resolve_state "${1:-}") || { log "nothing to stop (no killbill.sh state dir given: ${1:-none})"; return 0; }
  if [ "${KILLBILL_WATCHER:-0}" != 1 ] && pid=$(cat "$s/pids/watch.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
  if pid=$(live_pid "$s/pids/killbill.pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((KILLBILL_STOP_TIMEOUT * 5))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "Kill Bill (pid $pid) still running ${KILLBILL_STOP_TIMEOUT}s after SIGTERM, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    log "stopped Kill Bill (pid $pid)"
  fi
  if [ -f "$s/db.created" ]; then
    # shellcheck disable=SC1091
    . "$s/state.env"
    KILLBILL_DB_HOST=$DB_HOST KILLBILL_DB_PORT=$DB_PORT KILLBILL_DB_USER=$DB_USER sql -e "DROP DATABASE IF EXISTS \`$DB\`" &&
      rm -f "$s/db.created" && log "dropped database $DB"
  fi
  if [ "${KILLBILL_KEEP_STATE:-0}" = 1 ]; then log "kept state dir $s"; else rm -rf "$s"; fi
  return 0
}

do_status() {
  local s pid url DB='' DB_HOST='' DB_PORT='' DB_USER='' PORT='' VERSION=''
  s=$(resolve_state "${1:-}") || { echo "no killbill.sh state dir given"; return 1; }
  # shellcheck disable=SC1091
  . "$s/state.env"
  url="http://$HOST:$PORT"
  echo "state: $s"
  echo "version: $VERSION  db: $DB@$DB_HOST:$DB_PORT  url: $url"
  if pid=$(live_pid "$s/pids/killbill.pid"); then
    echo "killbill: running pid=$pid rss=$(awk '/VmRSS/{print $2" "$3}' "/proc/$pid/status")" \
      "healthcheck=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/1.0/healthcheck" || true)"
  else
    echo "killbill: not running"
    return 1
  fi
}

do_watch() {
  local s=$1 watched=$2 pid
  while kill -0 "$watched" 2>/dev/null; do
    pid=$(live_pid "$s/pids/killbill.pid") || exit 0
    sleep 2
  done
  log "process $watched is gone: stopping Kill Bill ${pid:-}"
  KILLBILL_WATCHER=1 do_down "$s"
}

case "${1:-}" in
  up) do_up ;;
  down) do_down "${2:-}" ;;
  status) do_status "${2:-}" ;;
  _watch) do_watch "$2" "$3" ;;
  *)
    echo "usage: $0 up | status STATE_DIR | down STATE_DIR" >&2
    exit 2
    ;;
esac
