#!/usr/bin/env bash
# The two commands of the README, and the targets beside them.
#
#   scripts/dev.sh demo    install what is missing, build, run the demo hub (Ctrl-C stops it)
#   scripts/dev.sh test    install what is missing, build, run every test
#   scripts/dev.sh bench   build, run the benchmarks (not part of `test`)
#   scripts/dev.sh bench-http [RUNS] [SECONDS]  durable HTTP ingest under wrk (tests/bench/http);
#                          with NODERED_RUN=<Node-RED peer script> the peer runs in the same command
#   scripts/dev.sh fuzz [SECONDS]  build the libFuzzer targets with clang, fuzz each (default 60 s)
#   scripts/dev.sh build   install what is missing and build only
#
# On Debian 12 as root it installs the build dependencies with apt-get when any is missing.
# Environment: BUILD_DIR (default ./build), JOBS (default: number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
JOBS=${JOBS:-$(nproc)}

# Debian 12 packages the build and the tests need.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler libspdlog-dev libboost-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libcurl4-openssl-dev curl openssl
  python3-zmq python3-protobuf
  libpq-dev postgresql
)

install_missing() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  echo "==> installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  install_missing
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  demo)
    build
    # The demo partner's bearer token, which config/demo.yaml reads with ${file:}: random, made once.
    token_file="$ROOT/state/demo/partner.token"
    if [ ! -s "$token_file" ]; then
      mkdir -p "$(dirname "$token_file")"
      (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$token_file")
      echo "==> wrote the demo partner's token to state/demo/partner.token"
    fi
    exec "$BUILD_DIR/bin/simpang" run "$ROOT/config/demo.yaml" "${@:2}"
    ;;
  test)
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$JOBS" --timeout 600
    ;;
  bench)
    build
    "$ROOT/tests/bench/run.sh" "$BUILD_DIR"
    ;;
  bench-http)
    PACKAGES+=(wrk)
    # Node.js may come from elsewhere than Debian (its nodejs bundles npm, and conflicts with
    # Debian's npm): only install it when the commands are missing.
    if [ -n "${NODERED_RUN:-}" ] && ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi
    build
    "$ROOT/tests/bench/http/ingest.sh" "$BUILD_DIR" "${@:2}"
    ;;
  build)
    build
    ;;
  fuzz)
    PACKAGES+=(clang libclang-rt-14-dev)
    install_missing
    FUZZ_DIR=${FUZZ_DIR:-$ROOT/build-fuzz}
    SECONDS_EACH=${2:-60}
    # Everything instrumented (fuzzer-no-link), so the fuzzer sees coverage in the libraries too.
    cmake -S "$ROOT" -B "$FUZZ_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSIMPANG_FUZZ=ON \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" > /dev/null
    cmake --build "$FUZZ_DIR" -j "$JOBS" --target fuzz_cloudevents fuzz_event_attributes fuzz_config \
      fuzz_webhook_verify
    mkdir -p "$FUZZ_DIR/artifacts"
    failed=()
    for target in cloudevents event_attributes config webhook_verify; do
      # New inputs go to a scratch corpus; the checked-in one (tests/fuzz/corpus) is read only.
      mkdir -p "$FUZZ_DIR/corpus/$target"
      echo "==> fuzz_$target for ${SECONDS_EACH}s"
      "$FUZZ_DIR/bin/fuzz_$target" -max_total_time="$SECONDS_EACH" \
        -artifact_prefix="$FUZZ_DIR/artifacts/$target-" \
        "$FUZZ_DIR/corpus/$target" "$ROOT/tests/fuzz/corpus/$target" || failed+=("$target")
    done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "findings for: ${failed[*]} (inputs in $FUZZ_DIR/artifacts; fix, then add each to" \
           "tests/fuzz/corpus/TARGET)" >&2
      exit 1
    fi
    echo "no findings"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
