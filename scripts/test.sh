#!/usr/bin/env bash
# The whole test suite: install what is missing, build (tests, fuzzers, benchmarks), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Unity translation units (see CMakeLists.txt): the whole build in about half the time.
scripts/build.sh -DDEEPSC_UNITY_BUILD=ON
ctest --test-dir build --output-on-failure --timeout 900 "$@"
