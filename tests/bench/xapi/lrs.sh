#!/usr/bin/env bash
# Statements accepted (durable) per second by lms-xapi under wrk.
#
#   tests/bench/xapi/lrs.sh BUILD_DIR [SECONDS]      (default 10)
#
# `simpang run` with lms-xapi on 127.0.0.1 (one Basic client) routed to sink-jsonl, on the default
# SQLite journal. A 200 from lms-xapi means every statement of the request is in the LRS's store
# and durable in the hub's journal. wrk posts one statement per request (statement.lua, keep-alive,
# -t2 -c32), then batches of 100 (-t2 -c8). After the runs the hub is stopped (it drains) and the
# xapi.statement.stored events at the sink are counted against the statements that got a 200:
# none may be missing. Needs wrk and curl. Not a test: nothing passes or fails on a figure, except
# a missing statement.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [SECONDS]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
SECS=${2:-10}
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install $tool)" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/simpang-xapi-bench.XXXXXX")
HUB_PID=
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$PASSWORD" >"$WORK/password"
cat >"$WORK/hub.yaml" <<YAML
hub:
  state_dir: state
  log_level: warn
  summary_interval: 0s
plugins:
  - name: lrs
    plugin: lms-xapi
    config:
      threads: 2
      clients:
        - {name: bench, username: bench, password: "\${file:$WORK/password}"}
  - name: capture
    plugin: sink-jsonl
    config: {path: out.jsonl}
routes:
  - name: statements
    from: [lrs]
    match: {type: xapi.statement.stored}
    to: [capture]
YAML
cd "$WORK"
"$BUILD_DIR/bin/simpang" run hub.yaml >hub.log 2>&1 &
HUB_PID=$!
for _ in $(seq 150); do [ -s state/instances/lrs/port ] && break; sleep 0.2; done
PORT=$(cat state/instances/lrs/port)
export WRK_AUTH="Basic $(printf 'bench:%s' "$PASSWORD" | base64 -w0)"

total=0
for mode in "1 32" "100 8"; do
  set -- $mode
  line=$(WRK_BATCH=$1 wrk -t2 -c"$2" -d"${SECS}s" --timeout 10s -s "$HERE/statement.lua" \
         "http://127.0.0.1:$PORT" | grep '^RESULT')
  statements=$(echo "$line" | sed -n 's/.* statements=\([0-9]*\).*/\1/p')
  total=$((total + statements))
  echo "batch=$1 connections=$2 $line statements_per_s=$((statements / SECS))"
done
kill -TERM "$HUB_PID"; wait "$HUB_PID" || true; HUB_PID=
arrived=$(grep -c '"type":"xapi.statement.stored"' state/instances/capture/out.jsonl || true)
echo "2xx'd statements: $total; arrived at the sink: $arrived"
[ "$arrived" -ge "$total" ] || { echo "MISSING: $((total - arrived)) statements" >&2; exit 1; }
