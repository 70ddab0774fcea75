#!/usr/bin/env bash
# Configures and builds deepsc into build/ (Release, Ninja, ccache).
# `--target NAME` (repeatable) builds only those targets (the main job builds just the `deepsc`
# tool); other arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
targets=()
configure=()
while (($#)); do
  if [[ $1 == --target ]]; then
    (($# >= 2)) || { echo "build.sh: --target needs a name" >&2; exit 2; }
    targets+=(--target "$2")
    shift 2
  else
    configure+=("$1")
    shift
  fi
done
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEEPSC_BUILD_FUZZ=ON "${configure[@]}"
cmake --build build -j "$jobs" "${targets[@]}"
