#!/usr/bin/env bash
# The main job on its embedded default: install what is missing, build, and run the sparse-coding
# demo on Fashion-MNIST (from the Debian package), writing report.json and PNGs to runs/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/apps/deepsc/deepsc demo --out runs/demo "$@"
