#!/usr/bin/env bash
# Start / stop a local Arize Phoenix server for Perimeter's OpenTelemetry end-to-end test.
#
#   bash .ci/phoenix.sh install   # create .ci/tmp/phoenix-venv (reused when present)
#   bash .ci/phoenix.sh start     # install if needed, start on 127.0.0.1, wait until healthy,
#                                 # print the base URL (the PID is in .ci/tmp/phoenix.pid)
#   bash .ci/phoenix.sh stop      # stop the server started above, by its PID
#
# Phoenix lives in its OWN venv: it is never a dependency of the package.
# Environment: PHOENIX_PORT (default 6006), PHOENIX_GRPC_PORT (default 4317; Phoenix binds
# this one on all interfaces), PHOENIX_PYTHON (interpreter for the venv, default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$here/tmp"
venv="$tmp/phoenix-venv"
pidfile="$tmp/phoenix.pid"
log="$tmp/phoenix.log"
port="${PHOENIX_PORT:-6006}"
grpc_port="${PHOENIX_GRPC_PORT:-4317}"
py="${PHOENIX_PYTHON:-python3}"
mkdir -p "$tmp"

install() {
  if [ -x "$venv/bin/phoenix" ]; then
    echo "phoenix: reusing $venv" >&2
    return 0
  fi
  local t0=$SECONDS
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # (pip's "Location ... is ignored" lines come from this machine's pip config: noise)
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/python" -m pip install -q arize-phoenix 2>&1 | grep -v "^WARNING: Location" >&2 || true
  if [ ! -x "$venv/bin/phoenix" ]; then
    echo "phoenix: installing arize-phoenix failed" >&2
    return 1
  fi
  echo "phoenix: installed into $venv in $((SECONDS - t0))s" >&2
}

start() {
  install
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "phoenix: already running (pid $(cat "$pidfile"))" >&2
  else
    rm -rf "$tmp/phoenix-data"
    mkdir -p "$tmp/phoenix-data"
    PHOENIX_HOST=127.0.0.1 \
    PHOENIX_PORT="$port" \
    PHOENIX_GRPC_PORT="$grpc_port" \
    PHOENIX_WORKING_DIR="$tmp/phoenix-data" \
    PHOENIX_TELEMETRY_ENABLED=false \
      nohup "$venv/bin/phoenix" serve >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  local url="http://127.0.0.1:$port"
  local t0=$SECONDS
  until curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "phoenix: server exited; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    if [ $((SECONDS - t0)) -gt 180 ]; then
      echo "phoenix: not healthy after 180s; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      stop
      return 1
    fi
    sleep 1
  done
  echo "phoenix: healthy at $url after $((SECONDS - t0))s (pid $(cat "$pidfile"))" >&2
  echo "$url"
}

stop() {
  if [ -f "$pidfile" ]; then
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    echo "phoenix: stopped (pid $pid)" >&2
  fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
