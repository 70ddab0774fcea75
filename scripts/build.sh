#!/usr/bin/env bash
# Configures and builds deepsc into build/ (Release, Ninja, ccache). Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEEPSC_BUILD_FUZZ=ON "$@"
cmake --build build -j "$jobs"
