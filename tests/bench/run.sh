#!/usr/bin/env bash
# Runs Simpang's benchmarks from a build tree and prints what each reports (see README.md here):
# router_benchmark and journal_benchmark (when built) and simpang-bench. Extra arguments go to
# simpang-bench.
#
#   tests/bench/run.sh build                         # defaults
#   tests/bench/run.sh build --events 500000 --json /tmp/bench.json
#
# Benchmarks, not tests: nothing here passes or fails on a figure. Build Release or
# RelWithDebInfo; a Debug build measures the debug build.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [simpang-bench options...]" >&2
  exit 2
fi
BUILD_DIR=$1
shift

status=0

# The Google Benchmark executables, when libbenchmark-dev was there to build them.
for name in router_benchmark journal_benchmark; do
  if [ -x "$BUILD_DIR/bin/$name" ]; then
    echo "==> $name"
    "$BUILD_DIR/bin/$name" || status=$?
  else
    echo "==> $name: not in $BUILD_DIR/bin (not built, or no Google Benchmark); skipped"
  fi
  echo
done

HUB_BENCH="$BUILD_DIR/bin/simpang-bench"
if [ -x "$HUB_BENCH" ]; then
  echo "==> simpang-bench $*"
  "$HUB_BENCH" "$@" || status=$?
else
  echo "error: $HUB_BENCH not found; build it: ninja -C $BUILD_DIR simpang-bench bench-source bench-sink" >&2
  status=1
fi

DOOR_BENCH="$BUILD_DIR/bin/simpang-door-bench"
if [ -x "$DOOR_BENCH" ]; then
  echo
  echo "==> simpang-door-bench"
  "$DOOR_BENCH" || status=$?
fi

exit $status
