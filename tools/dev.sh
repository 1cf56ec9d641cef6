#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/dev.sh run    install what is missing, build (Release), run the main job
#   tools/dev.sh test   install what is missing, build (Release), run the whole test suite (ctest)
# Environment: BUILD_DIR (default build), JOBS (default nproc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$here/build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mode=${1:-}

usage() { echo "usage: tools/dev.sh run|test" >&2; exit 2; }
[[ "$mode" == run || "$mode" == test ]] || usage

# Debian packages only; no downloads besides the package archive.
packages=(g++ cmake ninja-build pkg-config libeigen3-dev libboost-dev libspdlog-dev libmsgpack-cxx-dev
          nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "hetsched: missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "== installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
  echo "== configuring ($build_dir, Release)"
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  echo "== building with $jobs jobs"
  cmake --build "$build_dir" -j "$jobs"
}

main_job() {
  # The adaptive scheduler on the default embedded platform: simulated rockpi_n10 + googlenet,
  # the built-in combined scenario, in virtual time (live status line and final summary).
  "$build_dir/tools/hetsched" run
}

install_missing
build
case "$mode" in
  run) main_job ;;
  test) cd "$build_dir" && ctest --output-on-failure -j "$jobs" ;;
esac
