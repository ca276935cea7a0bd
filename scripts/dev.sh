#!/usr/bin/env bash
# The two commands of the README, and the targets beside them.
#
#   scripts/dev.sh demo    install what is missing, build, run the demo hub (Ctrl-C stops it)
#   scripts/dev.sh test    install what is missing, build, run every test, then a bounded fuzz run
#                          of every target (5 s each; FUZZ_SMOKE=0 skips it)
#   scripts/dev.sh bench   build, run the benchmarks (not part of `test`)
#   scripts/dev.sh bench-http [RUNS] [SECONDS]  durable HTTP ingest under wrk (tests/bench/http);
#                          with NODERED_RUN=<Node-RED peer script> the peer runs in the same command
#   scripts/dev.sh fuzz [SECONDS]  build the libFuzzer targets with clang, fuzz each (default 60 s)
#   scripts/dev.sh fuzz-smoke [SECONDS]  the same, bounded: each target for 15 s (FUZZ_SMOKE_SECONDS)
#   scripts/dev.sh build   install what is missing and build only
#
# On Debian 12 as root it installs the build dependencies with apt-get when any is missing.
# Environment: BUILD_DIR (default ./build), JOBS (default: number of cores); for fuzz and
# fuzz-smoke FUZZ_DIR (default ./build-fuzz) and FUZZ_ARGS (more libFuzzer options).
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
  prometheus
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
    mkdir -p "$ROOT/state/demo"
    # The demo partner's bearer token, which config/demo.yaml reads with ${file:}: random, made once.
    token_file="$ROOT/state/demo/partner.token"
    if [ ! -s "$token_file" ]; then
      (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$token_file")
      echo "==> wrote the demo partner's token to state/demo/partner.token"
    fi
    # The HR tenant's SCIM bearer token, the same way: random, made once.
    scim_token="$ROOT/state/demo/scim.token"
    if [ ! -s "$scim_token" ]; then
      (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$scim_token")
    fi
    # The Moodle stand-in's web-service token (its seed file names it), read the same way.
    (umask 077 && printf 'demo-moodle-token' >"$ROOT/state/demo/moodle.token")
    # The password of the xAPI platform's Basic credentials at the LRS: random, made once.
    lrs_password="$ROOT/state/demo/lrs.password"
    if [ ! -s "$lrs_password" ]; then
      (umask 077 && od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$lrs_password")
    fi
    "$BUILD_DIR/bin/moodle-standin" --seed "$ROOT/tests/standins/moodle/seed.json" --port 8089 \
      >"$ROOT/state/demo/moodle-standin.log" 2>&1 &
    standin=$!
    # Once the LRS listens, a stand-in learning platform sends it a cohort's statements.
    (
      for _ in $(seq 1 150); do
        curl -s -o /dev/null http://127.0.0.1:8090/xapi/about && break
        sleep 0.2
      done
      "$BUILD_DIR/bin/xapi-standin-client" --url http://127.0.0.1:8090/xapi --user demo-lrs \
        --password-file "$lrs_password" --learners 40 --seed 42 --batch 10
    ) >"$ROOT/state/demo/xapi-client.log" 2>&1 &
    platform=$!
    trap 'kill "$standin" "$platform" 2>/dev/null || true' EXIT
    status=0
    "$BUILD_DIR/bin/simpang" run "$ROOT/config/demo.yaml" "${@:2}" || status=$?
    exit "$status"
    ;;
  test)
    build
    cd "$BUILD_DIR"
    ctest --output-on-failure -j "$JOBS" --timeout 600
    # A bounded fuzz run of every target (clang, ASan, UBSan, in build-fuzz/): FUZZ_SMOKE=0 skips
    # it, FUZZ_SMOKE_SECONDS sets the time per target.
    if [ "${FUZZ_SMOKE:-1}" != 0 ]; then
      FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-5} "$ROOT/scripts/dev.sh" fuzz-smoke
    fi
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
  fuzz | fuzz-smoke)
    PACKAGES+=(clang libclang-rt-14-dev)
    install_missing
    FUZZ_DIR=${FUZZ_DIR:-$ROOT/build-fuzz}
    if [ "$1" = fuzz ]; then
      SECONDS_EACH=${2:-60}
    else
      SECONDS_EACH=${2:-${FUZZ_SMOKE_SECONDS:-15}}
    fi
    # Everything instrumented (fuzzer-no-link), so the fuzzer sees coverage in the libraries too.
    # -O1 with line tables only, as libFuzzer's documentation suggests: findings still name file
    # and line, and the build takes far less time than -O2 -g.
    cmake -S "$ROOT" -B "$FUZZ_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSIMPANG_FUZZ=ON \
      -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only -DNDEBUG" \
      -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only -DNDEBUG" \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" > /dev/null
    # The targets are the ones tests/fuzz/CMakeLists.txt lists; fuzz_all builds just them.
    cmake --build "$FUZZ_DIR" -j "$JOBS" --target fuzz_all
    mapfile -t targets < "$FUZZ_DIR/fuzz_targets.txt"
    mkdir -p "$FUZZ_DIR/artifacts"
    failed=()
    for target in "${targets[@]}"; do
      # New inputs go to a scratch corpus; the checked-in one (tests/fuzz/corpus) is read only.
      mkdir -p "$FUZZ_DIR/corpus/$target"
      echo "==> fuzz_$target for ${SECONDS_EACH}s"
      # Under ASan, libFuzzer's out-of-memory report walks the whole heap first, which can take
      # many minutes: the kill bounds it (rerun with FUZZ_ARGS=-malloc_limit_mb=64 for the input).
      # shellcheck disable=SC2086  # FUZZ_ARGS is a list of options
      timeout -s KILL $((SECONDS_EACH + 120)) \
        "$FUZZ_DIR/bin/fuzz_$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="$FUZZ_DIR/artifacts/$target-" ${FUZZ_ARGS:-} \
        "$FUZZ_DIR/corpus/$target" "$ROOT/tests/fuzz/corpus/$target" || failed+=("$target")
    done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "findings for: ${failed[*]} (inputs in $FUZZ_DIR/artifacts; fix, then add each to" \
           "tests/fuzz/corpus/TARGET)" >&2
      exit 1
    fi
    echo "no findings in ${#targets[@]} targets"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
