#!/usr/bin/env bash
# The path an integrator takes, end to end: install the SDK into a temporary prefix, scaffold a
# plugin of each kind with `simpang plugin new`, then configure, build and run the tests of each
# generated project (and of the tutorial's example) against that prefix alone. The generated tests
# include a HubFixture test, so each plugin also runs in the installed `simpang` hub.
#
# Usage: kit_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SOURCE_DIR=$1
BUILD_DIR=$2
WORK=$(mktemp -d /tmp/simpang-kit-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
unset SIMPANG_HUB  # the tests must find the hub through the installed package
PREFIX="$WORK/prefix"

step() { echo "== $*"; }
# Runs a command quietly; on failure shows its output and fails the test.
quiet() {
  local log="$WORK/last.log"
  if ! "$@" > "$log" 2>&1; then
    echo "FAILED: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

step "install the SDK into a temporary prefix"
quiet cmake --install "$BUILD_DIR" --prefix "$PREFIX"
test -f "$PREFIX/lib/cmake/Simpang/SimpangConfig.cmake"
test -f "$PREFIX/include/simpang/sdk/testing.h"
test -x "$PREFIX/bin/simpang"
test -f "$PREFIX/lib/simpang/plugins/source-jsonl.so"

SCAFFOLD=("$PREFIX/bin/simpang")

LAUNCHER=()
if command -v ccache > /dev/null; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# Configures, builds and tests the project in $1 against the prefix only.
build_and_test() {
  local project=$1 build="$1/build"
  quiet cmake -S "$project" -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}"
  quiet cmake --build "$build"
  quiet ctest --test-dir "$build" --output-on-failure --no-tests=error
  # Must have run something: a project whose tests silently vanished would pass ctest.
  grep -q "tests passed" "$WORK/last.log"
  tail -n 3 "$WORK/last.log"
}

for kind in source sink transform; do
  step "simpang plugin new kit-$kind --kind $kind"
  quiet "${SCAFFOLD[@]}" plugin new "kit-$kind" --kind "$kind" --dir "$WORK/kit-$kind"
  if "${SCAFFOLD[@]}" plugin new "kit-$kind" --kind "$kind" --dir "$WORK/kit-$kind" \
      > "$WORK/again.log" 2>&1; then
    echo "plugin new overwrote an existing directory" >&2
    exit 1
  fi
  grep -q "refusing to overwrite" "$WORK/again.log"
  step "build and test kit-$kind against the installed SDK"
  build_and_test "$WORK/kit-$kind"
  test -f "$WORK/kit-$kind/build/kit-$kind.so"
done

step "build and test the tutorial's example against the installed SDK"
cp -r "$SOURCE_DIR/examples/tutorial-xapi-completion" "$WORK/tutorial"
rm -rf "$WORK/tutorial/build"
build_and_test "$WORK/tutorial"

echo "all generated projects and the tutorial built and passed against the installed SDK"
