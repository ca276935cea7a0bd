#!/usr/bin/env bash
# Durable HTTP ingest under wrk, and Node-RED's HTTP-in flow as the peer in the same command.
#
#   tests/bench/http/ingest.sh BUILD_DIR [RUNS] [SECONDS]      (defaults 3 and 10)
#
# Simpang's side: `simpang run` with source-http on 127.0.0.1 (one bearer client) routing by type
# to two sink-jsonl instances, on the default SQLite journal. A 202 from source-http means every
# event of the request is durable in the journal. wrk posts one CloudEvents structured-mode event
# per request (event.lua, ~300 bytes, keep-alive, -t2 -c32), then batch mode (BATCH events per
# request, default 100). After the runs the hub is stopped (it drains) and the events at the sinks
# are counted against the events that got a 2xx: none may be missing.
#
# The peer: set NODERED_RUN to the Node-RED benchmark script (run.sh [RUNS] [SECONDS]: installs
# Node-RED from npm, runs an http-in -> function -> http-response flow under the same wrk load) and
# it runs right after, so the ratio compares two figures of the same run. Node-RED journals
# nothing: its 200 means "seen", not "durable".
#
# Needs wrk and curl (Debian: wrk curl; `scripts/dev.sh bench-http` installs them). Not a test:
# nothing passes or fails on a figure, except a missing event.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [RUNS] [SECONDS]" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
RUNS=${2:-3}
SECS=${3:-10}
BATCH=${BATCH:-100}
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install $tool)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/simpang-http-bench.XXXXXX")
HUB_PID=
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

SIMPANG_BENCH_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SIMPANG_BENCH_TOKEN
cat >"$WORK/hub.yaml" <<'EOF'
hub:
  state_dir: state
  log_level: warn
  summary_interval: 0s
plugins:
  - name: ingest
    plugin: source-http
    config:
      port: 0
      clients:
        - name: bench
          token: ${env:SIMPANG_BENCH_TOKEN}
          types: [talent.**]
          source_prefix: "moodle://"
  - name: completions
    plugin: sink-jsonl
    config: {path: out.jsonl}
  - name: enrollments
    plugin: sink-jsonl
    config: {path: out.jsonl}
routes:
  - name: completions
    from: [ingest]
    match: {type: talent.completion.*}
    to: [completions]
  - name: enrollments
    from: [ingest]
    match: {type: talent.enrollment.*}
    to: [enrollments]
EOF

"$BUILD_DIR/bin/simpang" run "$WORK/hub.yaml" >"$WORK/hub.log" 2>&1 &
HUB_PID=$!
PORT_FILE="$WORK/state/instances/ingest/port"
for _ in $(seq 1 100); do [ -s "$PORT_FILE" ] && break; sleep 0.1; done
[ -s "$PORT_FILE" ] || { echo "error: source-http did not start; hub log:" >&2; cat "$WORK/hub.log" >&2; exit 1; }
URL="http://127.0.0.1:$(cat "$PORT_FILE")/events"
export WRK_AUTH="Bearer $SIMPANG_BENCH_TOKEN" WRK_PATH=/events

two_xx_events=0
# One wrk run; prints "REQ/S P50 P99 REQUESTS NON2XX" and adds the 2xx'd events to two_xx_events.
wrk_run() {
  local secs=$1 batch=$2 out
  out=$(WRK_BATCH=$batch wrk -t2 -c32 -d"${secs}"s -s "$HERE/event.lua" --latency "$URL")
  awk '/Requests\/sec/{rps=$2} /^ +50%/{p50=$2} /^ +99%/{p99=$2} / requests in /{n=$1}
       /Non-2xx/{bad=$NF} END{printf "%s %s %s %s %d\n", rps, p50, p99, n, bad}' <<<"$out"
}
add_accepted() {  # REQUESTS NON2XX BATCH
  two_xx_events=$((two_xx_events + ($1 - $2) * $3))
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

echo "simpang $("$BUILD_DIR/bin/simpang" version | head -1), wrk -t2 -c32, ${SECS}s x $RUNS"
read -r _ _ _ n bad < <(wrk_run 5 1)  # warm-up
add_accepted "$n" "$bad" 1
rates=()
for ((r = 1; r <= RUNS; r++)); do
  read -r rps p50 p99 n bad < <(wrk_run "$SECS" 1)
  add_accepted "$n" "$bad" 1
  echo "simpang single run $r: $rps req/s p50 $p50 p99 $p99 ($bad non-2xx of $n)"
  rates+=("$rps")
done
single_median=$(printf '%s\n' "${rates[@]}" | median)
batch_rates=()
for ((r = 1; r <= RUNS; r++)); do
  read -r rps p50 p99 n bad < <(wrk_run "$SECS" "$BATCH")
  add_accepted "$n" "$bad" "$BATCH"
  events=$(awk -v r="$rps" -v b="$BATCH" 'BEGIN{printf "%.0f", r * b}')
  echo "simpang batch($BATCH) run $r: $rps req/s = $events events/s p50 $p50 p99 $p99 ($bad non-2xx of $n)"
  batch_rates+=("$events")
done
batch_median=$(printf '%s\n' "${batch_rates[@]}" | median)
echo "simpang RSS after load: $(ps -o rss= -p "$HUB_PID") KiB"

kill -TERM "$HUB_PID"
wait "$HUB_PID" || echo "note: the hub exited with status $?"
HUB_PID=
arrived=$(cat "$WORK"/state/instances/{completions,enrollments}/out.jsonl 2>/dev/null | wc -l)
echo "events answered 2xx: $two_xx_events; at the sinks after the hub drained: $arrived"
if [ "$arrived" -lt "$two_xx_events" ]; then
  echo "error: $((two_xx_events - arrived)) events answered 2xx are missing at the sinks" >&2
  exit 1
fi
echo "simpang median: $single_median req/s (one event each); batch median: $batch_median events/s"

if [ -n "${NODERED_RUN:-}" ]; then
  # Without our wrk settings: post.lua reads WRK_PATH too, and would post to /events there.
  nr_status=0
  nr_out=$(env -u WRK_PATH -u WRK_AUTH -u WRK_BATCH bash "$NODERED_RUN" "$RUNS" "$SECS") || nr_status=$?
  echo "$nr_out"
  nr_median=$(awk '/node-red median:/{print $3}' <<<"$nr_out")
  if [ -z "$nr_median" ]; then
    echo "error: the Node-RED peer gave no median (exit status $nr_status; its output is above)" >&2
    exit 1
  fi
  [ "$nr_status" -eq 0 ] || echo "note: the Node-RED peer script exited with status $nr_status after its runs"
  awk -v s="$single_median" -v n="$nr_median" \
    'BEGIN{printf "simpang / node-red (req/s, medians of this run): %.1f (goal >= 10)\n", s / n}'
else
  echo "(set NODERED_RUN to the Node-RED peer script to compare in the same run)"
fi
