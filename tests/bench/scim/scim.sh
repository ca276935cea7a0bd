#!/usr/bin/env bash
# Durable SCIM creates per second by hr-scim under wrk.
#
#   tests/bench/scim/scim.sh BUILD_DIR [SECONDS]      (default 10)
#
# `simpang run` with hr-scim (one client) routed to sink-jsonl. A 201 means the user is in the
# plugin's store and its events are durable in the hub's journal. wrk posts one new user per
# request (user.lua, keep-alive, -t2 -c16). After the run the hub is stopped and the
# talent.person.registered events at the sink are counted against the 201s: none may be missing.
# Not a test: nothing passes or fails on a figure, except a missing event.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [SECONDS]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
SECS=${2:-10}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/simpang-scim-bench.XXXXXX")
HUB_PID=
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s' "$TOKEN" >"$WORK/token"
cat >"$WORK/hub.yaml" <<YAML
hub:
  state_dir: state
  log_level: warn
  summary_interval: 0s
plugins:
  - name: scim
    plugin: hr-scim
    config:
      threads: 2
      clients:
        - {name: acme, token: "\${file:token}", organisation_id: org-acme}
  - name: out
    plugin: sink-jsonl
    config: {path: events.jsonl}
routes:
  - {name: people, from: [scim], match: {type: talent.**}, to: [out]}
YAML
cd "$WORK"
"$BUILD_DIR/bin/simpang" run hub.yaml >hub.log 2>&1 &
HUB_PID=$!
for _ in $(seq 200); do [ -s state/instances/scim/port ] && break; sleep 0.05; done
PORT=$(cat state/instances/scim/port)
RESULT=$(WRK_AUTH="Bearer $TOKEN" wrk -t2 -c16 -d"${SECS}s" -s "$HERE/user.lua" "http://127.0.0.1:$PORT" | tail -1)
echo "$RESULT"
kill -INT "$HUB_PID"; wait "$HUB_PID" || true; HUB_PID=
CREATED=$(echo "$RESULT" | sed 's/.*created=\([0-9]*\).*/\1/')
EVENTS=$(grep -c '"talent.person.registered"' state/instances/out/events.jsonl || true)
echo "created=$CREATED registered_events=$EVENTS writes_per_s=$((CREATED / SECS))"
[ "$EVENTS" -ge "$CREATED" ] || { echo "MISSING events" >&2; exit 1; }
