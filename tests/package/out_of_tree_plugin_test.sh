#!/usr/bin/env bash
# The SDK on its own, as an integrator gets it: configures sdk/ as a top-level project (its own
# project(), finding its own dependencies, never reading hub/), builds and installs it into a
# temporary prefix, builds examples/event-counter against that prefix with find_package(Simpang),
# and runs the plugin in the hub behind the test source.
#
# Usage: out_of_tree_plugin_test.sh SOURCE_DIR BUILD_DIR
# The SDK is built without debug information, with ccache (when installed) told that paths under
# the temporary directory are relative, so a rerun compiles from the cache in seconds.
set -euo pipefail
SOURCE_DIR=$1
BUILD_DIR=$2
WORK=$(mktemp -d /tmp/simpang-pkg-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Runs a command quietly; on failure shows its output and fails the test.
quiet() {
  local log="$WORK/last.log"
  if ! "$@" > "$log" 2>&1; then
    echo "FAILED: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

LAUNCHER=()
if command -v ccache > /dev/null; then
  export CCACHE_BASEDIR="$WORK"
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

quiet cmake -S "$SOURCE_DIR/sdk" -B "$WORK/sdk-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "${LAUNCHER[@]}"
# Configured alone: no target of the hub's may exist in it.
if grep -q 'simpang_core\|simpang_config' "$WORK/sdk-build/build.ninja"; then
  echo "the SDK's own build contains hub targets" >&2
  exit 1
fi
quiet cmake --build "$WORK/sdk-build"
quiet cmake --install "$WORK/sdk-build" --prefix "$WORK/prefix"
test -f "$WORK/prefix/lib/cmake/Simpang/SimpangConfig.cmake"
test -f "$WORK/prefix/include/simpang/base/status.h"
test -f "$WORK/prefix/include/simpang/sdk/status.h"
test -f "$WORK/prefix/include/simpang/sdk/plugin.h"
test -f "$WORK/prefix/include/simpang/http/auth.h"
test ! -e "$WORK/prefix/bin/simpang"  # the hub is not part of the SDK

quiet cmake -S "$SOURCE_DIR/examples/event-counter" -B "$WORK/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$WORK/prefix" "${LAUNCHER[@]}"
quiet cmake --build "$WORK/build"
PLUGIN="$WORK/build/event-counter.so"
test -f "$PLUGIN"
# Built against the installed SDK, not the build tree's.
readelf -d "$PLUGIN" | grep -q "$WORK/prefix" || {
  echo "event-counter.so does not point at the installed SDK:" >&2
  readelf -d "$PLUGIN" >&2
  exit 1
}
# A plugin that does not link simpang::http carries no OpenSSL, not even through the SDK.
if ldd "$PLUGIN" | grep -E 'lib(ssl|crypto)\.so'; then
  echo "event-counter.so pulls in OpenSSL without linking simpang::http" >&2
  exit 1
fi

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
echo "out-of-tree plugin built against the SDK installed on its own received all 500 events"
