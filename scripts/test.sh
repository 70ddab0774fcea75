#!/usr/bin/env bash
# The whole test suite: install what is missing, build (tests, fuzzers, benchmarks), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DDEEPSC_UNITY_BUILD=OFF
ctest --test-dir build --output-on-failure --timeout 900 "$@"
