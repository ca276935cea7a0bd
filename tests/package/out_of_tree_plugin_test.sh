#!/usr/bin/env bash
# Installs the SDK into a temporary prefix, builds examples/event-counter against it with
# find_package(Simpang) (never reading hub/), and runs it in the hub behind the test source.
set -euo pipefail
SOURCE_DIR=$1
BUILD_DIR=$2
WORK=$(mktemp -d /tmp/simpang-pkg-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" > "$WORK/install.log"
test -f "$WORK/prefix/lib/cmake/Simpang/SimpangConfig.cmake"

cmake -S "$SOURCE_DIR/examples/event-counter" -B "$WORK/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" > "$WORK/configure.log"
cmake --build "$WORK/build" > "$WORK/build.log"
PLUGIN="$WORK/build/event-counter.so"
test -f "$PLUGIN"

cat > "$WORK/hub.yaml" <<YAML
hub:
  state_dir: $WORK/state
  summary_interval: 0s
plugins:
  - name: source
    plugin: test-source
    config: {count: 500, manifest: $WORK/manifest.jsonl}
  - name: counter
    plugin: $PLUGIN
routes:
  - name: all
    from: [source]
    to: [counter]
YAML
"$BUILD_DIR/bin/simpang" check "$WORK/hub.yaml" || {
  echo "check failed" >&2; exit 1; }
# The test source is not installed: the build tree's hub finds it beside the real plugins.
"$BUILD_DIR/bin/simpang" run "$WORK/hub.yaml" --duration 3s > "$WORK/hub.log" 2>&1 || {
  cat "$WORK/hub.log" >&2; exit 1; }
COUNTS=$(cat "$WORK/state/instances/counter/counts.json")
echo "counts: $COUNTS"
if [ "$COUNTS" != '{"test.event.created":500}' ]; then
  echo "expected 500 test.event.created events, got: $COUNTS" >&2
  cat "$WORK/hub.log" >&2
  exit 1
fi
echo "out-of-tree plugin built against the installed SDK received all 500 events"
