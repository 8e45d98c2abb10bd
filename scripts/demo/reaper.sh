#!/usr/bin/env bash
# The demo's last resort: stops what it started when its node process dies without doing so itself
# (SIGKILL, a crash inside cleanup). Node writes one line per thing it starts and "done" once it has
# stopped them all; the end of input without "done" means node is gone, so this stops them.
#   pid PID     a process to kill, if PID is still the process it was when announced
#   down DIR    a scripts/cloudkitty-up.sh state folder: stop its processes, remove it
#   dir DIR     a temp folder to remove
set -uo pipefail
# A Ctrl-C or hangup reaches the whole process group; this one has to outlive node to do its job.
trap '' INT TERM HUP
here=$(cd "$(dirname "$0")" && pwd)

# Field 22 of /proc/PID/stat, the start time: tells the announced process from a later one with its PID.
started_at() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

pids=() starts=() downs=() dirs=()
while read -r kind arg; do
  case $kind in
    pid) pids+=("$arg") starts+=("$(started_at "$arg")") ;;
    down) downs+=("$arg") ;;
    dir) dirs+=("$arg") ;;
    done) exit 0 ;;
  esac
done

for i in "${!pids[@]}"; do
  if [ -n "${starts[i]}" ] && [ "$(started_at "${pids[i]}")" = "${starts[i]}" ]; then
    kill -KILL "${pids[i]}" 2>/dev/null
  fi
done
for dir in "${downs[@]}"; do bash "$here/../cloudkitty-up.sh" down "$dir" >/dev/null 2>&1; done
for dir in "${dirs[@]}"; do rm -rf "$dir"; done
